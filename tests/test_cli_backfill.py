"""``dagstudio backfill`` as a user runs it (a real process, a real store), against Airflow 3.3.2's backfill.

The runs it creates — logical dates, run_after, data intervals, run ids — are those Airflow's
``_get_info_list`` gives for the same DAG files and range (tests/oracle/backfill_oracle.py, under the real
Airflow); existing runs are skipped with Airflow's reasons; at most ``max_active_runs`` run at once; exit
0 / 1 / 2 as the CLI contract says.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.store import Store
from tests.oracle.airflow_env import airflow_env, airflow_python

REPO = Path(__file__).resolve().parents[1]
ORACLE = Path(__file__).parent / "oracle" / "backfill_oracle.py"
UTC = dt.UTC

HEADER = """\
import datetime as dt
import time

import pendulum
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
"""
DAGS = {
    "daily": 'DAG("daily", schedule="@daily", start_date=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc), '
    "catchup=False, max_active_runs=2)",
    "ams": 'DAG("ams", schedule="0 */6 * * *", start_date=pendulum.datetime(2024, 3, 1, tz="Europe/Amsterdam"))',
    "delta": 'DAG("delta", schedule=dt.timedelta(hours=10), start_date=dt.datetime(2024, 3, 29, tzinfo=dt.timezone.utc))',
    "weekly": 'DAG("weekly", schedule="@weekly", start_date=dt.datetime(2023, 1, 1, tzinfo=dt.timezone.utc), '
    "end_date=dt.datetime(2023, 2, 1, tzinfo=dt.timezone.utc))",
}
FROM, TO = "2024-03-30", "2024-04-01T03:00:00"


def write_dag(folder: Path, dag_id: str, dag: str, body: str = "lambda: time.sleep(0.1)") -> Path:
    path = folder / f"{dag_id}.py"
    path.write_text(f"{HEADER}\nwith {dag}:\n    PythonOperator(task_id='work', python_callable={body})\n", "utf-8")
    return path


def backfill(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "studio", "backfill", *args, "--home", str(home)],
                          capture_output=True, text=True, env=env, timeout=300)  # fmt: skip


def oracle(folder: Path, from_date: str, to_date: str, home: Path) -> dict:
    proc = subprocess.run([str(airflow_python()), str(ORACLE), str(folder), from_date, to_date],
                          capture_output=True, text=True, env=airflow_env(home), timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout)


def max_overlap(runs: list) -> int:
    events = sorted([(r.start_date, 1) for r in runs] + [(r.end_date, -1) for r in runs], key=lambda e: (e[0], e[1]))
    active = peak = 0
    for _, step in events:
        active += step
        peak = max(peak, active)
    return peak


@pytest.mark.airflow
def test_backfill_creates_the_runs_airflow_would_create(tmp_path: Path) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    for dag_id, dag in DAGS.items():
        write_dag(folder, dag_id, dag)
    expected = oracle(folder, FROM, TO, tmp_path / "airflow")
    assert expected["import_errors"] == {} and set(expected["dags"]) == set(DAGS)
    home = tmp_path / "home"
    for dag_id in DAGS:
        proc = backfill(str(folder), "--dag", dag_id, "--from", FROM, "--to", TO, "--json", home=home)
        want = expected["dags"][dag_id]  # weekly: its start and end dates (2023) do not restrict a backfill
        assert want["runs"], dag_id
        assert proc.returncode == 0, (dag_id, proc.stderr)
        out = json.loads(proc.stdout)
        assert out["skipped"] == [] and {r["state"] for r in out["runs"]} == {"success"}
        with Store.open(home) as store:
            runs = store.dag_runs(dag_id)
        got = [[r.logical_date.isoformat(), r.run_after.isoformat(), r.data_interval_start.isoformat(),
                r.data_interval_end.isoformat(), r.run_id] for r in runs]  # fmt: skip
        assert got == want["runs"], dag_id
        assert [r["run_id"] for r in out["runs"]] == [row[4] for row in want["runs"]]
        assert {r.run_type for r in runs} == {"backfill"}
        if dag_id == "daily":
            assert max_overlap(runs) <= 2


def test_existing_runs_are_skipped_with_airflows_reasons(tmp_path: Path) -> None:
    path = write_dag(tmp_path, "daily", DAGS["daily"])
    home = tmp_path / "home"
    day = [dt.datetime(2024, 1, d, tzinfo=UTC) for d in range(1, 6)]
    with Store.open(home) as store:
        store.create_dag_run("daily", "scheduled__ok", logical_date=day[1], run_type="scheduled", state="success")
        store.create_dag_run("daily", "manual__bad", logical_date=day[2], run_type="manual", state="failed")
        store.create_dag_run("daily", "scheduled__busy", logical_date=day[3], run_type="scheduled", state="running")
    proc = backfill(str(path), "--from", "2024-01-01", "--to", "2024-01-05", "--json", home=home)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert [r["logical_date"] for r in out["runs"]] == [day[0].isoformat(), day[4].isoformat()]
    assert [(s["run_id"], s["reason"]) for s in out["skipped"]] == [
        ("scheduled__ok", "already exists"), ("manual__bad", "already exists"), ("scheduled__busy", "in flight")
    ]  # fmt: skip
    with Store.open(home) as store:
        runs = store.dag_runs("daily")
    assert len(runs) == 5 and len({r.logical_date for r in runs}) == 5


FLAKY = """\
import datetime as dt
from pathlib import Path

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

MARKER = Path({marker!r})


def first_time_fails():
    if not MARKER.exists():
        MARKER.write_text("failed once")
        raise RuntimeError("first try fails")


with DAG("flaky", schedule="@daily", start_date=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)):
    PythonOperator(task_id="ok", python_callable=lambda: 1) >> PythonOperator(task_id="flaky",
                                                                            python_callable=first_time_fails)
"""


def test_rerun_failed_clears_the_failed_run_and_runs_it_again_with_try_numbers_continuing(tmp_path: Path) -> None:
    path = tmp_path / "flaky.py"
    path.write_text(FLAKY.format(marker=str(tmp_path / "marker")), "utf-8")
    home, dates = tmp_path / "home", ["--from", "2024-01-01", "--to", "2024-01-02"]
    first = backfill(str(path), *dates, "--json", home=home)
    assert first.returncode == 1, first.stderr
    states = {r["run_id"]: r["state"] for r in json.loads(first.stdout)["runs"]}
    failed = next(run_id for run_id, state in states.items() if state == "failed")
    assert sorted(states.values()) == ["failed", "success"]
    plain = backfill(str(path), *dates, "--json", home=home)  # without --rerun-failed: nothing to do
    assert plain.returncode == 0 and json.loads(plain.stdout)["runs"] == []
    assert {s["reason"] for s in json.loads(plain.stdout)["skipped"]} == {"already exists"}
    again = backfill(str(path), *dates, "--rerun-failed", "--json", home=home)
    assert again.returncode == 0, again.stderr
    out = json.loads(again.stdout)
    # Airflow's dag.clear(run_id=...) clears every task instance of the run, not only the failed ones
    assert [(r["run_id"], r["state"]) for r in out["runs"]] == [(failed, "success")]
    assert {k: (v["state"], v["try_number"]) for k, v in out["runs"][0]["tasks"].items()} == {
        "ok": ("success", 2), "flaky": ("success", 2)
    }  # fmt: skip
    assert [s["reason"] for s in out["skipped"]] == ["already exists"]
    with Store.open(home) as store:
        runs = {r.run_id: r for r in store.dag_runs("flaky")}
        assert len(runs) == 2 and runs[failed].run_type == "backfill" and runs[failed].state == "success"
        from studio.store import TIKey

        tries = store.tries(TIKey("flaky", failed, "flaky"))
    assert [(t.try_number, t.state) for t in tries] == [(1, "failed"), (2, "success")]


def test_a_paused_dag_is_refused_since_its_runs_would_never_start(tmp_path: Path) -> None:
    path = write_dag(tmp_path, "daily", DAGS["daily"])
    home = tmp_path / "home"
    with Store.open(home) as store:
        store.set_paused("daily", True)
    proc = backfill(str(path), "--from", "2024-01-01", "--to", "2024-01-02", home=home)
    assert proc.returncode == 2 and "is paused" in proc.stderr and "dags unpause" in proc.stderr
    with Store.open(home) as store:
        assert store.dag_runs("daily") == []
        store.set_paused("daily", False)
    assert backfill(str(path), "--from", "2024-01-01", "--to", "2024-01-02", home=home).returncode == 0


def test_a_failed_run_makes_the_backfill_exit_1(tmp_path: Path) -> None:
    path = write_dag(tmp_path, "boom", DAGS["daily"].replace('"daily"', '"boom"'), body="lambda: 1 / 0")
    proc = backfill(str(path), "--from", "2024-01-01", "--to", "2024-01-02", home=tmp_path / "home")
    assert proc.returncode == 1, proc.stderr
    assert "backfill__2024-01-01T00:00:00+00:00" in proc.stdout and "failed" in proc.stdout
    with Store.open(tmp_path / "home") as store:
        assert [r.state for r in store.dag_runs("boom")] == ["failed", "failed"]


@pytest.mark.parametrize(
    ("dag", "args", "message"),
    [
        (DAGS["daily"], ["--from", "2024-01-05", "--to", "2024-01-01"], "must not be after"),
        (DAGS["daily"], ["--from", "2999-01-01", "--to", "2999-02-01"], "Backfill cannot be executed for future dates"),
        (DAGS["daily"], ["--from", "yesterday", "--to", "2024-01-01"], "--from 'yesterday' is not an ISO date"),
        (DAGS["daily"], ["--from", "2024-01-01", "--to", "2024-01-02", "--dag", "nope"], "no DAG 'nope'"),
        (DAGS["daily"].replace('"@daily"', "None"), ["--from", "2024-01-01", "--to", "2024-01-02"],
         "non-periodic schedule that does not support backfills"),
        (DAGS["daily"], ["--from", "2024-01-01T10:00", "--to", "2024-01-01T12:00"], "No runs to create"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_and_writes_nothing(tmp_path: Path, dag: str, args: list[str], message: str) -> None:
    path = write_dag(tmp_path, "daily", dag)
    proc = backfill(str(path), *args, home=tmp_path / "home")
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert message in proc.stderr
    if (tmp_path / "home").exists():
        with Store.open(tmp_path / "home") as store:
            assert store.dag_runs("daily") == []
