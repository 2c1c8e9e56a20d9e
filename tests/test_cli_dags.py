"""``dagstudio dags list|pause|unpause`` (real processes, a real store): what the scheduler will do next.

Expected next runs are worked out here from the DAG arguments (``"@daily"`` in Airflow 3 is a
``CronTriggerTimetable``: with catchup the first run is at start_date, then each midnight after the
last scheduled/backfill run).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

from studio.store import Store

REPO = Path(__file__).resolve().parents[1]
DAG = """\
import datetime as dt

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG({dag_id!r}, schedule={schedule}, start_date=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc), {extra}):
    EmptyOperator(task_id="t")
"""


def dags(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "studio", "dags", *args, "--home", str(home)],
                          capture_output=True, text=True, env=env, timeout=120)  # fmt: skip


def make_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "a.py").write_text(DAG.format(dag_id="a", schedule='"@daily"', extra="catchup=True"), "utf-8")
    (folder / "b.py").write_text(DAG.format(dag_id="b", schedule="None", extra="is_paused_upon_creation=True"), "utf-8")
    (folder / "broken.py").write_text("x = 1\nraise ValueError('broken on purpose')\n", "utf-8")
    return folder


def listing(folder: Path, home: Path) -> dict:
    proc = dags("list", str(folder), "--json", home=home)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_list_shows_schedule_paused_next_run_and_import_errors(tmp_path: Path) -> None:
    folder, home = make_folder(tmp_path), tmp_path / "home"
    out = listing(folder, home)
    by_id = {d["dag_id"]: d for d in out["dags"]}
    assert set(by_id) == {"a", "b"}
    assert by_id["a"]["schedule"] == "@daily" and by_id["a"]["is_paused"] is False
    assert by_id["a"]["next_dagrun"] == "2024-01-01T00:00:00+00:00"  # catchup: the first interval
    assert by_id["b"]["is_paused"] is True and by_id["b"]["next_dagrun"] is None  # paused on creation; no schedule
    assert [Path(e["filename"]).name for e in out["import_errors"]] == ["broken.py"]
    assert "broken on purpose" in out["import_errors"][0]["message"] and out["import_errors"][0]["line"] == 2
    with Store.open(home) as store:  # the next run continues from the last automated one
        day = dt.datetime(2024, 1, 5, tzinfo=dt.UTC)
        store.create_dag_run("a", "scheduled__x", logical_date=day, run_type="scheduled", state="success",
                             data_interval_start=day, data_interval_end=day)  # fmt: skip
        store.create_dag_run("a", "manual__y", logical_date=dt.datetime(2024, 2, 1, tzinfo=dt.UTC), state="success")
    again = {d["dag_id"]: d for d in listing(folder, home)["dags"]}
    assert again["a"]["next_dagrun"] == "2024-01-06T00:00:00+00:00"
    text = dags("list", str(folder), home=home)
    assert text.returncode == 0 and "broken.py:2" in text.stderr and "2024-01-06" in text.stdout


def test_pause_and_unpause_one_dag_or_all(tmp_path: Path) -> None:
    folder, home = make_folder(tmp_path), tmp_path / "home"
    (folder / "broken.py").unlink()
    proc = dags("pause", str(folder), "--dag", "a", home=home)
    assert proc.returncode == 0 and proc.stdout.strip() == "a: paused", proc.stderr
    with Store.open(home) as store:
        assert store.paused_dags() == {"a"}
    assert {d["dag_id"]: d["is_paused"] for d in listing(folder, home)["dags"]} == {"a": True, "b": True}
    proc = dags("unpause", str(folder), "--json", home=home)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        "dags": [{"dag_id": "a", "is_paused": False}, {"dag_id": "b", "is_paused": False}]
    }
    with Store.open(home) as store:
        assert store.paused_dags() == set()


def test_an_unknown_dag_exits_2(tmp_path: Path) -> None:
    folder, home = make_folder(tmp_path), tmp_path / "home"
    for action in ("pause", "unpause", "list"):
        proc = dags(action, str(folder), "--dag", "nope", home=home)
        assert proc.returncode == 2 and "no DAG 'nope'" in proc.stderr, (action, proc.stderr)
