"""S3 end to end: DAG files mixing the S3 operators, S3KeySensor (reschedule mode), S3Hook in a Python
task and Bash run with ``dagstudio run`` (real engine, real worker processes) against a real moto
server; a DAG built in the model with every S3 operator is exported, loads in real Airflow 3.3.2's
DagBag with the model's structure and runs with ``dagstudio run``; the classes' constructor signatures
and template fields equal the amazon provider's (``tests/oracle/s3_signatures.py`` in both)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from studio.codegen.export import export_project
from studio.core.model import Dag, Edge, Project, Task
from tests.moto_s3 import aws_connection, body, isolated_aws_env, keys, make_bucket, s3_client, s3_endpoint

__all__ = ["s3_client", "s3_endpoint"]  # fixtures
ORACLE = Path(__file__).parent / "oracle" / "s3_signatures.py"

MIXED = textwrap.dedent(
    """
    import time
    import pendulum
    from airflow.sdk import DAG, task
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from airflow.providers.amazon.aws.operators.s3 import (
        S3CopyObjectOperator, S3CreateBucketOperator, S3CreateObjectOperator, S3DeleteObjectsOperator,
        S3FileTransformOperator, S3ListOperator,
    )
    from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
    from airflow.providers.standard.operators.bash import BashOperator

    with DAG("lake_day", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None,
             params={"bucket": "lake"}) as dag:
        create = S3CreateBucketOperator(task_id="create_bucket", bucket_name="{{ params.bucket }}")
        write = S3CreateObjectOperator(task_id="write_raw", s3_bucket="{{ params.bucket }}",
                                       s3_key="raw/{{ ds }}.csv", data="id,name\\n1,ada\\n2,alan\\n")

        @task
        def late_marker(params=None, ds=None):
            time.sleep(2)  # the sensor below pokes (and reschedules) meanwhile
            S3Hook().load_string("ready", f"s3://{params['bucket']}/markers/{ds}.done")
            return "marked"

        wait = S3KeySensor(task_id="wait_marker", bucket_key="s3://{{ params.bucket }}/markers/*.done",
                           wildcard_match=True, mode="reschedule", poke_interval=0.5, timeout=60)
        transform = S3FileTransformOperator(
            task_id="transform", source_s3_key="s3://{{ params.bucket }}/raw/{{ ds }}.csv",
            dest_s3_key="s3://{{ params.bucket }}/clean/{{ ds }}.csv", transform_script="SCRIPT", replace=True)
        copy = S3CopyObjectOperator(task_id="archive", source_bucket_key="s3://lake/raw/{{ ds }}.csv",
                                    dest_bucket_key="s3://lake/archive/{{ ds }}.csv")
        listing = S3ListOperator(task_id="list_lake", bucket="lake", prefix="clean/")
        report = BashOperator(task_id="report", bash_command="echo listed: {{ ti.xcom_pull('list_lake') | join(',') }}")
        cleanup = S3DeleteObjectsOperator(task_id="delete_raw", bucket="lake", prefix="raw/")
        create >> write >> [late_marker(), wait]
        wait >> transform >> copy >> listing >> report >> cleanup
    """
)
SCRIPT = '#!/bin/sh\necho "transforming $1"\nsed "s/ada/ADA/" "$1" > "$2"\n'


def dagstudio(*args: str, home: Path, endpoint: str) -> subprocess.CompletedProcess[str]:
    env = {**isolated_aws_env(), "AIRFLOW_CONN_AWS_DEFAULT": aws_connection(endpoint)}
    return subprocess.run(
        [sys.executable, "-m", "studio", *args, "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )


def test_a_dag_mixing_s3_tasks_runs_end_to_end(tmp_path: Path, s3_endpoint: str, s3_client) -> None:
    script = tmp_path / "clean.sh"
    script.write_text(SCRIPT)
    script.chmod(0o755)
    path = tmp_path / "lake_day.py"
    path.write_text(MIXED.replace("SCRIPT", str(script)))
    home = tmp_path / "home"
    proc = dagstudio("run", str(path), "--logical-date", "2024-03-01", "--json", home=home, endpoint=s3_endpoint)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = json.loads(proc.stdout)
    assert run["state"] == "success"
    assert {t: ti["state"] for t, ti in run["tasks"].items()} == dict.fromkeys(
        ["create_bucket", "write_raw", "late_marker", "wait_marker", "transform", "archive", "list_lake", "report",
         "delete_raw"], "success")  # fmt: skip
    assert run["tasks"]["wait_marker"]["try_number"] == 1  # rescheduled pokes are the same try
    assert keys(s3_client, "lake") == ["archive/2024-03-01.csv", "clean/2024-03-01.csv", "markers/2024-03-01.done"]
    # the rendered ``data`` lost its last newline: Jinja drops a template's trailing newline, as in Airflow
    assert body(s3_client, "lake", "archive/2024-03-01.csv") == b"id,name\n1,ada\n2,alan"
    assert body(s3_client, "lake", "clean/2024-03-01.csv") == b"id,name\n1,ADA\n2,alan"

    def log(task_id: str) -> str:
        shown = dagstudio("logs", str(path), "lake_day", run["run_id"], task_id, home=home, endpoint=s3_endpoint)
        assert shown.returncode == 0, shown.stderr
        return shown.stdout

    assert "listed: clean/2024-03-01.csv" in log("report")
    assert "transforming /" in log("transform")
    sensor_log = log("wait_marker")
    assert "Poking for key : s3://lake/markers/*.done" in sensor_log
    assert "Rescheduling the sensor" in sensor_log  # it did wait in reschedule mode before the marker came


def test_a_sensor_that_times_out_in_reschedule_mode_fails_the_run(tmp_path: Path, s3_endpoint: str, s3_client) -> None:
    make_bucket(s3_client, "lake")
    path = tmp_path / "never.py"
    path.write_text(
        textwrap.dedent(
            """
            import pendulum
            from airflow.sdk import DAG
            from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
            from airflow.providers.amazon.aws.operators.s3 import S3ListOperator
            with DAG("never", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):
                S3KeySensor(task_id="wait", bucket_name="lake", bucket_key="never/{{ ds }}", mode="reschedule",
                            poke_interval=0.5, timeout=2) >> S3ListOperator(task_id="after", bucket="lake")
            """
        )
    )
    proc = dagstudio("run", str(path), "--json", home=tmp_path / "home", endpoint=s3_endpoint)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    run = json.loads(proc.stdout)
    assert run["state"] == "failed"
    assert (run["tasks"]["wait"]["state"], run["tasks"]["after"]["state"]) == ("failed", "upstream_failed")


def every_s3_operator(script: Path) -> Dag:
    """A DAG made in the model with each S3 operator of the catalog."""
    conn = {"aws_conn_id": "aws_default"}
    return Dag(
        "s3_model",
        args={"schedule": None},
        tasks=[
            Task("create", "S3CreateBucketOperator", {"bucket_name": "model-lake", **conn}),
            Task("put", "S3CreateObjectOperator", {"s3_bucket": "model-lake", "s3_key": "in/{{ ds }}.txt", "data": "abc"}),
            Task("wait", "S3KeySensor", {"bucket_key": "s3://model-lake/in/*.txt", "wildcard_match": True,
                                         "poke_interval": 1, "timeout": 30, "mode": "reschedule"}),
            Task("copy", "S3CopyObjectOperator", {"source_bucket_key": "s3://model-lake/in/{{ ds }}.txt",
                                                  "dest_bucket_key": "s3://model-lake/copy/{{ ds }}.txt"}),
            Task("transform", "S3FileTransformOperator", {"source_s3_key": "s3://model-lake/copy/{{ ds }}.txt",
                                                          "dest_s3_key": "s3://model-lake/out/{{ ds }}.txt",
                                                          "transform_script": str(script)}),
            Task("list", "S3ListOperator", {"bucket": "model-lake", "prefix": "out/"}),
            Task("delete", "S3DeleteObjectsOperator", {"bucket": "model-lake", "prefix": "in/"}),
        ],
        edges=[Edge("create", "put"), Edge("put", "wait"), Edge("wait", "copy"), Edge("copy", "transform"),
               Edge("transform", "list"), Edge("list", "delete")],
    )  # fmt: skip


@pytest.fixture
def exported(tmp_path: Path) -> tuple[Dag, Path]:
    script = tmp_path / "upper.sh"
    script.write_text('#!/bin/sh\ntr a-z A-Z < "$1" > "$2"\n')
    script.chmod(0o755)
    dag = every_s3_operator(script)
    out = tmp_path / "export"
    out.mkdir()
    (path,) = export_project(Project("s3", [dag]), out, "airflow3")
    return dag, path


@pytest.mark.airflow
def test_exported_s3_dag_loads_in_airflow(airflow_oracle, exported: tuple[Dag, Path]) -> None:
    dag, path = exported
    result = airflow_oracle(path.parent)
    assert result["import_errors"] == {}
    loaded = result["dags"]["s3_model"]
    assert loaded["tasks"] == dag.structure()["tasks"] and loaded["edges"] == dag.structure()["edges"]


def test_exported_s3_dag_runs_against_the_server(
    exported: tuple[Dag, Path], tmp_path: Path, s3_endpoint: str, s3_client
) -> None:
    _, path = exported
    proc = dagstudio(
        "run", str(path), "--logical-date", "2024-05-06", "--json", home=tmp_path / "h", endpoint=s3_endpoint
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = json.loads(proc.stdout)
    assert {ti["state"] for ti in run["tasks"].values()} == {"success"} and len(run["tasks"]) == 7
    assert keys(s3_client, "model-lake") == ["copy/2024-05-06.txt", "out/2024-05-06.txt"]
    assert body(s3_client, "model-lake", "out/2024-05-06.txt") == b"ABC"


@pytest.mark.airflow
def test_signatures_and_template_fields_are_the_providers(airflow_oracle, tmp_path: Path) -> None:
    from tests.oracle.airflow_env import airflow_env, airflow_python

    def describe(python: str, *args: str, env: dict[str, str] | None = None) -> dict:
        proc = subprocess.run([python, str(ORACLE), *args], capture_output=True, text=True, timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout)

    theirs = describe(str(airflow_python()), env=airflow_env(tmp_path))
    ours = describe(sys.executable, "studio")
    assert set(theirs["classes"]) == set(ours["classes"]) and len(ours["classes"]) == 9
    assert ours == theirs
    # the operator specs (palette, inspector, codegen) agree with the provider: every field is a
    # parameter with the provider's default, templated exactly when it is in template_fields
    from studio.core.catalog import SENSOR_FIELDS, SPECS

    sensor_fields = {f.name for f in SENSOR_FIELDS}
    specs = {spec.id: spec for spec in SPECS if spec.provider == "apache-airflow-providers-amazon"}
    assert sorted(specs) == sorted(n for n in theirs["classes"] if not n.startswith("Aws"))
    for name, spec in specs.items():
        info = theirs["classes"][name]
        base = theirs["classes"]["AwsBaseSensor" if spec.kind == "sensor" else "AwsBaseOperator"]["params"]
        params = {**base, **info["params"]}
        for field in spec.fields:
            if field.name in sensor_fields:
                continue
            assert field.name in params, (name, field.name)
            assert field.templated == (field.name in info["template_fields"]), (name, field.name)
            if field.required:
                assert params[field.name] is None, (name, field.name)
            else:
                assert repr(field.default) == params[field.name], (name, field.name)
