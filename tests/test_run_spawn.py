"""``dagstudio run`` end to end with the spawn pool (``DAGSTUDIO_EXECUTOR=spawn``), against the fork server.

A sample of tests/run_corpus/ (retries, execution_timeout killing a task, DAG callbacks, branching,
mapping over an upstream XCom, fail_fast, reschedule-mode sensors, BashOperator, setup/teardown) runs
once with each executor: the run state, every task instance's state and try number, the exit code and the
marker files must be the same, and the same as the file declares (tests/test_run_differential.py checks
those declarations against Airflow). A probe DAG shows which executor really ran the tries.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.oracle.run_oracle import CORPUS_DIR, corpus_case

REPO = Path(__file__).resolve().parents[1]
SAMPLE = [
    "retries_succeed_on_third_try", "execution_timeout", "callbacks_dag_failure", "branch_python_operator_joins",
    "mapping_expand_upstream_xcom", "fail_fast_dag", "sensor_reschedule_mode", "af2_classic_operators",
    "setup_teardown_work_fails",
]  # fmt: skip
PROBE = """
import json, os, sys
from datetime import datetime
from airflow.sdk import DAG, task

with DAG("executor_probe", schedule=None, start_date=datetime(2024, 1, 1)):
    @task
    def where() -> None:
        with open(os.path.join(os.environ["RUN_CORPUS_TMP"], f"argv.{os.getpid()}.json"), "w") as handle:
            json.dump({"argv": sys.argv, "ppid": os.getppid()}, handle)

    where()
"""


def dagstudio_run(path: Path, dag_id: str, executor: str, tmp: Path, extra: list[str]) -> tuple[int, dict, Path]:
    home, markers = tmp / executor / "home", tmp / executor / "corpus_tmp"
    markers.mkdir(parents=True)
    command = [sys.executable, "-m", "studio", "run", str(path), "--dag", dag_id, "--json", *extra]
    env = {**os.environ, "DAGSTUDIO_HOME": str(home), "RUN_CORPUS_TMP": str(markers), "DAGSTUDIO_EXECUTOR": executor}
    proc = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr[-4000:]
    return proc.returncode, json.loads(proc.stdout), markers


def outcome(result: dict) -> dict[str, tuple[str, int]]:
    return {key: (ti["state"], ti["try_number"]) for key, ti in result["tasks"].items()}


def test_the_probe_runs_in_a_spawned_worker_only_with_spawn(tmp_path: Path) -> None:
    dag_file = tmp_path / "executor_probe.py"
    dag_file.write_text(PROBE)
    seen = {}
    for executor in ("spawn", "fork"):
        code, result, markers = dagstudio_run(dag_file, "executor_probe", executor, tmp_path, [])
        assert (code, result["state"]) == (0, "success")
        (probe,) = markers.glob("argv.*.json")
        seen[executor] = json.loads(probe.read_text())
    spawned = seen["spawn"]["argv"][0].endswith(os.path.join("runtime", "spawnserver_worker.py"))
    assert spawned, f"DAGSTUDIO_EXECUTOR=spawn did not reach the engine (workers.executor_for): {seen['spawn']}"
    assert not seen["fork"]["argv"][0].endswith("spawnserver_worker.py")


@pytest.mark.parametrize("dag_id", SAMPLE)
def test_spawn_and_fork_executors_end_a_run_the_same_way(dag_id: str, tmp_path: Path) -> None:
    case = corpus_case(CORPUS_DIR / f"{dag_id}.py")
    extra = ["--logical-date", case.logical_date, *(["--conf", json.dumps(case.conf)] if case.conf else [])]
    ends = {}
    for executor in ("spawn", "fork"):
        code, result, markers = dagstudio_run(case.path, dag_id, executor, tmp_path, extra)
        files = sorted(str(p.relative_to(markers)) for p in markers.rglob("*") if p.is_file())
        ends[executor] = (code, result["state"], outcome(result), files)
    assert ends["spawn"] == ends["fork"]
    code, state, tasks, files = ends["spawn"]
    assert (state, tasks) == (case.run_state, case.expected)
    assert code == (0 if state == "success" else 1)
    if case.markers is not None:
        assert files == sorted(case.markers)
