"""The samples' module code really works: their callables run in plain Python, in task order, on temp dirs.

Airflow is not needed for this: each callable gets what Airflow would pass (rendered templates are
strings, XComs are the upstream return values), so a learner can trust the code they copy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import jinja2
import pendulum
import pytest

from studio.core.serialization import read_project
from tests.conftest import SAMPLES


def module(project: str, dag_id: str) -> dict[str, Any]:
    """Execute the module code of a sample DAG (at call time, so environment variables apply)."""
    dag = read_project(SAMPLES / project).dag(dag_id)
    assert dag is not None
    namespace: dict[str, Any] = {"__name__": f"sample_{dag_id}"}
    exec(compile(dag.module_code, f"{dag_id}.py", "exec"), namespace)
    return namespace


def test_ml_daily_pipeline_trains_evaluates_branches_and_deploys(tmp_path, monkeypatch):
    monkeypatch.setenv("ML_PIPELINE_DATA_DIR", str(tmp_path))
    ml = module("ml_pipeline", "ml_daily_training")
    ds = "2024-03-01"
    raw = Path(ml["prepare_data"](ds, rows=500))
    assert raw == tmp_path / ds / "raw.csv"
    assert len(raw.read_text().splitlines()) == 501
    again = module("ml_pipeline", "ml_daily_training")
    again["prepare_data"](ds, rows=500)
    assert raw.read_text() == (tmp_path / ds / "raw.csv").read_text()  # same date, same data
    assert ml["engineer_features"](ds) == 500
    scaling = json.loads((tmp_path / ds / "scaling.json").read_text())
    assert set(scaling) == {"rooms", "age"} and scaling["rooms"]["std"] > 0
    model = json.loads(Path(ml["train_model"](ds)).read_text())
    assert model["trained_rows"] == 400 and len(model["weights"]) == 4
    rmse = ml["evaluate_model"](ds)
    # the data has Gaussian noise with sigma 5 around a linear price: a good fit gets close to 5
    assert 3.5 < rmse < 6.5
    assert ml["choose_deployment"](str(rmse), "6.0") == "deploy_model"
    assert ml["choose_deployment"](str(rmse), "1.0") == "notify_team"
    deployed = Path(ml["deploy_model"](ds))
    assert json.loads(deployed.read_text()) == model
    assert json.loads((tmp_path / "production" / "metrics.json").read_text())["rmse"] == rmse
    assert not list((tmp_path / "production").glob(".*.tmp"))


def test_ml_weekly_branch_promotes_only_a_better_candidate(tmp_path, monkeypatch):
    monkeypatch.setenv("ML_PIPELINE_DATA_DIR", str(tmp_path))
    weekly = module("ml_pipeline", "ml_retrain_weekly")
    assert weekly["choose_promotion"]('{"rmse": 9.0}') == "promote_model"  # nothing in production yet
    (tmp_path / "production").mkdir()
    (tmp_path / "production" / "metrics.json").write_text('{"rmse": 5.0}')
    assert weekly["choose_promotion"]('{"rmse": 4.8}') == "promote_model"
    assert weekly["choose_promotion"]('{"rmse": 4.95}') == "keep_current_model"  # less than 2 % better
    assert weekly["choose_promotion"]('{"rmse": 4.95}', min_gain=0.0) == "promote_model"


def test_etl_callbacks_and_cleanup_short_circuit(tmp_path, monkeypatch):
    monkeypatch.setenv("ETL_ALERT_LOG", str(tmp_path / "alerts.jsonl"))
    monkeypatch.setenv("ETL_CLEANUP_REPORT", str(tmp_path / "report.jsonl"))
    hourly = module("etl_hourly", "etl_hourly_orders")
    assert hourly["reference_data_is_complete"]([{"Key": "a", "Size": 10}, {"Key": "b", "Size": 1}])
    assert not hourly["reference_data_is_complete"]([{"Key": "a", "Size": 10}, {"Key": "b", "Size": 0}])
    assert not hourly["reference_data_is_complete"]([])

    class FakeDag:
        dag_id = "etl_hourly_orders"

    hourly["log_failed_run"]({"dag": FakeDag(), "run_id": "scheduled__x", "reason": "task_failure"})
    entry = json.loads((tmp_path / "alerts.jsonl").read_text())
    assert entry == {"dag_id": "etl_hourly_orders", "run_id": "scheduled__x", "reason": "task_failure"}

    cleanup = module("etl_hourly", "etl_daily_cleanup")
    staging = tmp_path / "staging"
    assert cleanup["has_old_files"](str(staging), 7) is False  # no folder at all
    staging.mkdir()
    fresh = staging / "orders_new.csv"
    fresh.write_text("x")
    assert cleanup["has_old_files"](str(staging), "7") is False
    old = staging / "orders_old.csv"
    old.write_text("x")
    week_ago = time.time() - 8 * 86400
    os.utime(old, (week_ago, week_ago))
    assert cleanup["has_old_files"](str(staging), "7") is True
    assert cleanup["write_report"]("2024-06-02", "3") == {"ds": "2024-06-02", "deleted_local_files": 3}
    assert cleanup["write_report"]("2024-06-03", "") == {"ds": "2024-06-03", "deleted_local_files": 0}
    assert len((tmp_path / "report.jsonl").read_text().splitlines()) == 2


def test_taskflow_showcase_functions_chain_like_their_xcoms():
    tf = module("showcase", "taskflow_showcase")
    out = tf["extract"]()
    cleaned = tf["clean_orders"](out["orders"])
    assert [o["order_id"] for o in cleaned] == [1, 2, 4, 5, 6]  # the refund is gone
    scored = tf["score_orders"](tf["join_customers"](cleaned, out["customers"]))
    assert [o["score"] for o in scored] == [5, 1, 3, 1, 10]
    summary = tf["summarize"](scored)
    assert summary == {
        "count": 5,
        "revenue": 490.75,
        "top_country": "NL",
        "by_country": {"DE": 2, "FR": 1, "NL": 2},
    }
    assert tf["choose_report"](summary, "4") == "full_report"
    assert tf["choose_report"](summary, "6") == "short_report"
    assert tf["full_report"](summary, "EUR").splitlines()[0] == "5 orders, revenue 490.75 EUR"
    assert tf["short_report"](summary) == "only 5 orders today"


class FakeTI:
    dag_id, task_id, try_number = "taskflow_showcase", "extract", 2


def test_taskflow_showcase_callbacks_print_what_failed(capsys):
    tf = module("showcase", "taskflow_showcase")
    tf["notify_failure"]({"ti": FakeTI(), "run_id": "manual__1"})
    assert "task extract of taskflow_showcase failed in run manual__1 (try 2)" in capsys.readouterr().out


def test_mapping_showcase_functions(tmp_path):
    mp = module("showcase", "dynamic_mapping_showcase")
    inbox = tmp_path / "inbox"
    assert mp["inbox_has_files"](str(inbox)) is False
    inbox.mkdir()
    assert mp["inbox_has_files"](str(inbox)) is False
    (inbox / "file.csv").write_text("x")
    assert mp["inbox_has_files"](str(inbox)) is True
    batches = mp["make_batches"]("4")  # a rendered template: a string
    assert batches == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]
    results = [mp["process_batch"](b) for b in batches]
    assert mp["total"](results) == sum(x * x for x in range(12)) == 506
    commands = mp["build_commands"](506, "staging")
    assert commands[0] == "echo '[staging] grand total is 506'"
    assert len(commands) == 3


@pytest.mark.parametrize("count", ["1", "20"])
def test_mapping_batch_count_bounds_give_that_many_mapped_instances(count):
    mp = module("showcase", "dynamic_mapping_showcase")
    assert len(mp["make_batches"](count)) == int(count)


def test_hourly_etl_transform_command_renders_and_runs(tmp_path):
    """Render the BashOperator's Jinja like Airflow does, then run it with bash and a stand-in ``aws`` CLI."""
    if shutil.which("bash") is None or shutil.which("awk") is None:
        pytest.skip("needs bash and awk")
    dag = read_project(SAMPLES / "etl_hourly").dag("etl_hourly_orders")
    task = dag.task("transform_orders")
    start = pendulum.datetime(2024, 6, 1, 10, tz="UTC")
    context = {
        "params": {"export_dir": str(tmp_path / "exports"), "bucket": "lake"},
        "ds": start.to_date_string(),
        "ds_nodash": start.format("YYYYMMDD"),
        "data_interval_start": start,
    }
    command = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(task.args["bash_command"])
    script = command.render(**context)
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "orders_20240601_10.csv").write_text(
        "order_id,customer_id,created_at,amount,status\n"
        "1,c1,2024-06-01T10:01,12.345,paid\n"
        "2,c2,2024-06-01T10:07,5,open\n"
        "3,c3,2024-06-01T10:59,7.5,paid\n"
    )
    bin_dir, s3 = tmp_path / "bin", tmp_path / "s3"
    bin_dir.mkdir()
    s3.mkdir()
    aws = bin_dir / "aws"
    aws.write_text(
        '#!/bin/sh\n[ "$1 $2" = "s3 cp" ] || exit 3\necho "$4" > "$FAKE_S3/target"\ncp "$3" "$FAKE_S3/object"\n'
    )
    aws.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_S3": str(s3)}
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "2 orders staged"  # the last line becomes the XCom
    assert (s3 / "target").read_text().strip() == "s3://lake/staging/orders/2024-06-01/10.csv"
    assert (s3 / "object").read_text().splitlines() == [
        "order_id,customer_id,amount_cents,interval_start",
        f"1,c1,1235,{start}",
        f"3,c3,750,{start}",
    ]
