"""``dagstudio run`` / ``runs`` / ``logs`` end to end: real processes, a real SQLite store in a temp home."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

DAG_FILE = textwrap.dedent(
    """
    import pendulum
    from airflow.sdk import DAG, task
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.empty import EmptyOperator

    with DAG("pipeline", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None,
             params={"n": 3}) as dag:
        start = EmptyOperator(task_id="start")
        echo = BashOperator(task_id="echo", bash_command="echo day={{ ds }} n={{ params.n }}")

        @task
        def square(n: int) -> int:
            return n * n

        @task
        def check(value: int) -> None:
            if value != EXPECTED:
                raise ValueError(f"got {value}")

        start >> echo >> check(square(3))
    """
)


def dagstudio(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "studio", *args, "--home", str(home)], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def dag_file(tmp_path: Path) -> Path:
    path = tmp_path / "pipeline.py"
    path.write_text(DAG_FILE.replace("EXPECTED", "9"))
    return path


def test_run_json_shape_and_states(dag_file: Path, tmp_path: Path) -> None:
    proc = dagstudio("run", str(dag_file), "--logical-date", "2024-03-01", "--json", home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout)
    assert run["dag_id"] == "pipeline"
    assert run["run_id"] == "manual__2024-03-01T00:00:00+00:00"
    assert run["state"] == "success"
    assert set(run["tasks"]) == {"start", "echo", "square", "check"}
    for ti in run["tasks"].values():
        assert ti["state"] == "success" and ti["try_number"] == 1
        assert ti["start"] <= ti["end"]
    log = dagstudio("logs", str(dag_file), "pipeline", run["run_id"], "echo", home=tmp_path / "home")
    assert log.returncode == 0, log.stderr
    assert "day=2024-03-01 n=3" in log.stdout


def test_failed_run_exits_1_and_is_in_the_history(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.py"
    path.write_text(DAG_FILE.replace("EXPECTED", "10"))
    home = tmp_path / "home"
    proc = dagstudio("run", str(path), "--logical-date", "2024-03-02", "--json", home=home)
    assert proc.returncode == 1, proc.stderr
    run = json.loads(proc.stdout)
    assert run["state"] == "failed"
    assert run["tasks"]["check"]["state"] == "failed"
    assert run["tasks"]["square"]["state"] == "success"
    history = dagstudio("runs", str(path), "--json", home=home)
    assert history.returncode == 0, history.stderr
    (recorded,) = json.loads(history.stdout)["runs"]
    assert recorded["run_id"] == run["run_id"] and recorded["state"] == "failed"
    assert recorded["tasks"] == run["tasks"]
    log = dagstudio("logs", str(path), "pipeline", run["run_id"], "check", "--try", "1", home=home)
    assert "ValueError: got 9" in log.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--conf", "{not json"], "--conf is not valid JSON"),
        (["--conf", "[1]"], "--conf must be a JSON object"),
        (["--logical-date", "yesterday"], "is not an ISO date"),
        (["--dag", "nope"], "no DAG 'nope'"),
    ],
)
def test_bad_input_exits_2(dag_file: Path, tmp_path: Path, args: list[str], message: str) -> None:
    proc = dagstudio("run", str(dag_file), *args, home=tmp_path / "home")
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_file_that_fails_to_import_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("from airflow.sdk import DAG\n\nraise RuntimeError('boom')\n")
    proc = dagstudio("run", str(path), home=tmp_path / "home")
    assert proc.returncode == 2
    assert f"{path}:3" in proc.stderr and "boom" in proc.stderr
