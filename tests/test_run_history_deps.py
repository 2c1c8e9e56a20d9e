"""depends_on_past / wait_for_downstream (Airflow 3.3's ``PrevDagrunDep``): the rule on its own, the
state machine fed with a previous run's states, and consecutive ``dagstudio run --logical-date`` runs
in one temp home (real processes, a real store)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from studio.runtime.dagrun import DagRunMachine
from studio.runtime.dagrun_deps import past_blocker
from tests.test_runtime_dagrun_helpers import FakeClock, dag, run_all, task

DOP = task("a", depends_on_past=True)
WFD = task("a", depends_on_past=True, wait_for_downstream=True)


# --- the rule -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "previous", "has_prior", "blocked"),
    [
        (task("a"), {"a": ["failed"]}, True, False),  # no depends_on_past
        (DOP, None, False, False),  # first run of the DAG
        (DOP, {"a": ["success"]}, True, False),
        (DOP, {"a": ["skipped"]}, True, False),
        (DOP, {"a": ["failed"]}, True, True),
        (DOP, {"a": ["upstream_failed"]}, True, True),
        (DOP, {"a": [None]}, True, True),  # never ran: still "not successful"
        (DOP, {"a": ["success", "failed"]}, True, True),  # one map index failed
        (DOP, {"b": ["success"]}, False, True),  # the task did not exist in the previous run
        ({**DOP, "ignore_first_depends_on_past": True}, {"b": ["success"]}, False, False),
        ({**DOP, "ignore_first_depends_on_past": True}, {"b": ["success"]}, True, True),
        (task("a", wait_for_downstream=True), {"a": ["failed"]}, True, True),  # implies depends_on_past
        (WFD, {"a": ["success"], "b": ["failed"]}, True, True),
        (WFD, {"a": ["success"], "b": [None]}, True, True),
        (WFD, {"a": ["success"], "b": ["skipped"]}, True, False),
        (WFD, {"a": ["success"]}, True, False),  # the downstream task did not exist then
        (DOP, {"a": ["success"], "b": ["failed"]}, True, False),  # downstream ignored without wfd
    ],
)
def test_past_blocker_matches_prev_dagrun_dep(spec, previous, has_prior, blocked) -> None:
    assert (past_blocker(spec, {"b"}, previous, has_prior) is not None) is blocked


# --- the machine ----------------------------------------------------------------------------------
def test_a_blocked_task_keeps_no_status_and_the_run_ends_failed() -> None:
    description = dag(task("a", depends_on_past=True), task("b", ["a"]), task("c"))
    m = DagRunMachine(description, clock=FakeClock(), previous={"a": ["failed"], "b": [None], "c": ["success"]})
    assert run_all(m) == ["c"]
    assert {ti.key: ti.state for ti in m.tis()} == {"a": None, "b": None, "c": "success"}
    assert m.state == "failed" and set(m.past_blocked) == {"a"}


def test_a_blocked_task_still_gets_upstream_failed() -> None:
    description = dag(task("u"), task("a", ["u"], depends_on_past=True))
    m = DagRunMachine(description, clock=FakeClock(), previous={"u": ["success"], "a": ["failed"]})
    run_all(m, {"u": "failed"})
    assert m.ti("a").state == "upstream_failed" and m.state == "failed"


def test_previous_success_lets_the_task_run() -> None:
    description = dag(task("a", depends_on_past=True, wait_for_downstream=True), task("b", ["a"]))
    m = DagRunMachine(description, clock=FakeClock(), previous={"a": ["success"], "b": ["success"]})
    assert run_all(m) == ["a", "b"] and m.state == "success" and not m.past_blocked


# --- dagstudio run, twice -------------------------------------------------------------------------
DAG_FILE = textwrap.dedent(
    """
    import pendulum
    from airflow.sdk import DAG
    from airflow.providers.standard.operators.bash import BashOperator

    with DAG("history", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None) as dag:
        a = BashOperator(task_id="a", bash_command="test ! -e MARKER_A", FLAGS)
        b = BashOperator(task_id="b", bash_command="test ! -e MARKER_B")
        a >> b
    """
)


def dagstudio(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "studio", *args, "--home", str(home)], capture_output=True, text=True, timeout=120
    )


def write_dag(tmp_path: Path, flags: str) -> tuple[Path, Path, Path]:
    marker_a, marker_b = tmp_path / "fail_a", tmp_path / "fail_b"
    text = DAG_FILE.replace("MARKER_A", str(marker_a)).replace("MARKER_B", str(marker_b)).replace("FLAGS", flags)
    path = tmp_path / "history.py"
    path.write_text(text)
    return path, marker_a, marker_b


def run(path: Path, day: str, home: Path) -> tuple[int, dict]:
    proc = dagstudio("run", str(path), "--logical-date", day, "--json", home=home)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def states(result: dict) -> dict:
    return {key: ti["state"] for key, ti in result["tasks"].items()}


def test_depends_on_past_waits_after_a_failed_run(tmp_path: Path) -> None:
    path, marker_a, _ = write_dag(tmp_path, "depends_on_past=True")
    home = tmp_path / "home"
    marker_a.touch()
    code, first = run(path, "2024-03-01", home)
    assert code == 1 and states(first) == {"a": "failed", "b": "upstream_failed"}
    marker_a.unlink()  # a would succeed now, but its previous TI failed
    code, second = run(path, "2024-03-02", home)
    assert code == 1 and second["state"] == "failed"
    assert states(second) == {"a": None, "b": None}
    assert "depends_on_past" in second["waiting_on_past"]["a"]
    code, third = run(path, "2024-03-03", home)  # its previous run (03-02) never ran a: still waits
    assert code == 1 and states(third) == {"a": None, "b": None}
    code, earlier = run(path, "2024-02-01", home)  # no run before it: depends on nothing
    assert code == 0 and states(earlier) == {"a": "success", "b": "success"}
    text = dagstudio("run", str(path), "--logical-date", "2024-03-04", home=home)
    assert text.returncode == 1 and "a did not run: depends_on_past" in text.stdout


def test_depends_on_past_runs_after_a_successful_run(tmp_path: Path) -> None:
    path, _, _ = write_dag(tmp_path, "depends_on_past=True")
    home = tmp_path / "home"
    assert run(path, "2024-03-01", home)[0] == 0
    code, second = run(path, "2024-03-02", home)
    assert code == 0 and states(second) == {"a": "success", "b": "success"} and "waiting_on_past" not in second


def test_wait_for_downstream_waits_for_the_previous_downstream(tmp_path: Path) -> None:
    path, _, marker_b = write_dag(tmp_path, "wait_for_downstream=True")
    home = tmp_path / "home"
    marker_b.touch()
    code, first = run(path, "2024-03-01", home)
    assert code == 1 and states(first) == {"a": "success", "b": "failed"}
    marker_b.unlink()
    code, second = run(path, "2024-03-02", home)
    assert code == 1 and states(second) == {"a": None, "b": None}
    assert "wait_for_downstream" in second["waiting_on_past"]["a"]


# --- the same two runs in real Airflow ----------------------------------------------------------------
AIRFLOW_TEST = """
import importlib.util, sys, pendulum
spec = importlib.util.spec_from_file_location("history", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
module.dag.test(logical_date=pendulum.parse(sys.argv[2]))
"""


@pytest.mark.airflow
@pytest.mark.parametrize(("flags", "fail"), [("depends_on_past=True", "a"), ("wait_for_downstream=True", "b")])
def test_second_run_matches_airflow(tmp_path: Path, flags: str, fail: str) -> None:
    """Airflow's ``dag.test()`` never ends the blocked run (it stays running: "No tasks to run"), so it is
    stopped after a while; its TIs have the states ours end with, and ours is recorded failed."""
    import os
    import signal
    import sqlite3

    from tests.oracle.airflow_env import airflow_env, airflow_python

    path, marker_a, marker_b = write_dag(tmp_path, flags)
    home = tmp_path / "airflow"
    (home / "dags").mkdir(parents=True)
    env = {**airflow_env(home), "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags")}
    dag_path = home / "dags" / "history.py"
    dag_path.write_text(path.read_text())
    python = airflow_python()
    migrate = subprocess.run([str(python.with_name("airflow")), "db", "migrate"], env=env, capture_output=True)
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    marker = marker_a if fail == "a" else marker_b

    def airflow_run(day: str, wait: float | None) -> None:
        command = [str(python), "-c", AIRFLOW_TEST, str(dag_path), day]
        proc = subprocess.Popen(command, env=env, cwd=home, start_new_session=True, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            proc.wait(timeout=wait or 120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    marker.touch()
    airflow_run("2024-03-01", None)
    marker.unlink()
    airflow_run("2024-03-02", 15)
    with sqlite3.connect(home / "airflow.db") as db:
        (run_id, run_state), *_ = db.execute(
            "select run_id, state from dag_run where dag_id = 'history' order by logical_date desc"
        ).fetchall()
        theirs = dict(db.execute("select task_id, state from task_instance where run_id = ?", (run_id,)).fetchall())
    assert run_state == "running"

    ours_home = tmp_path / "home"
    marker.touch()
    run(path, "2024-03-01", ours_home)
    marker.unlink()
    _, second = run(path, "2024-03-02", ours_home)
    assert states(second) == theirs == {"a": None, "b": None}
    assert second["state"] == "failed"
