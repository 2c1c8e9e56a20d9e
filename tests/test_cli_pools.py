"""``dagstudio pools list|set|delete`` (in process), and pools / parallelism in real ``dagstudio run``
processes: a pool of 2 never runs more than 2 tries at once (read from the store's tries), the
``AIRFLOW__CORE__PARALLELISM`` / ``DAGSTUDIO_PARALLELISM`` limit, a task of a missing pool ending the run
with a clear error, and a pool slot held by another process's run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from studio.cli import main
from studio.store import Store, TIKey

SLEEPERS = textwrap.dedent(
    """
    import time

    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG


    def nap():
        time.sleep(0.5)


    with DAG("sleepers", schedule=None) as dag:
        for i in range(6):
            PythonOperator(task_id=f"nap{i}", python_callable=nap, POOL)
    """
)

MISSING_POOL = textwrap.dedent(
    """
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    with DAG("lost", schedule=None) as dag:
        EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
        EmptyOperator(task_id="c", pool="nowhere") >> EmptyOperator(task_id="d")
    """
)


def pools_cli(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    code = main(["pools", *args, "--home", str(home)])
    out, err = capsys.readouterr()
    return code, out, err


def dagstudio(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "studio", *args, "--home", str(home)],
        capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})},
    )  # fmt: skip


def peak_concurrency(home: Path, dag_id: str, run_id: str) -> int:
    """The most tries running at the same moment, from the start/end of every try in the store."""
    with Store.open(home) as store:
        tries = [
            t for ti in store.task_instances(dag_id, run_id) for t in store.tries(TIKey(dag_id, run_id, ti.task_id))
        ]
    events = sorted([(t.start_date, 1) for t in tries] + [(t.end_date, -1) for t in tries])  # an end sorts first
    peak = running = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    return peak


# --- pools command ----------------------------------------------------------------------------------
def test_list_set_delete(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert pools_cli(capsys, tmp_path, "set", "db", "2", "--description", "the database") == (
        0, "Pool db set to 2 slots\n", ""
    )  # fmt: skip
    assert pools_cli(capsys, tmp_path, "set", "gpu", "-1")[1] == "Pool gpu set to unlimited slots\n"
    code, out, _ = pools_cli(capsys, tmp_path, "list", "--json")
    assert code == 0 and json.loads(out) == {"pools": [
        {"pool": "default_pool", "slots": 128, "description": "Default pool", "include_deferred": False},
        {"pool": "db", "slots": 2, "description": "the database", "include_deferred": False},
        {"pool": "gpu", "slots": -1, "description": None, "include_deferred": False},
    ]}  # fmt: skip
    code, out, _ = pools_cli(capsys, tmp_path, "list")
    assert code == 0 and out.splitlines()[1].split() == ["db", "2", "the", "database"]
    assert out.splitlines()[2].split() == ["gpu", "unlimited"]
    code, out, _ = pools_cli(capsys, tmp_path, "delete", "db", "--json")
    assert code == 0 and json.loads(out)["pool"] == "db"
    assert [p["pool"] for p in json.loads(pools_cli(capsys, tmp_path, "list", "--json")[1])["pools"]] == [
        "default_pool", "gpu"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("delete", "default_pool"), "default_pool cannot be deleted"),
        (("delete", "nope"), "Pool 'nope' doesn't exist"),
        (("set", "p", "-2"), "pool slots must be an integer >= 0, or -1 for unlimited"),
        (("set", "p", "many"), "invalid int value: 'many'"),
        (("set", "", "3"), "pool name must not be empty"),
        ((), "the following arguments are required: ACTION"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, out, err = pools_cli(capsys, tmp_path, *args)
    assert code == 2 and message in err and out == ""
    with Store.open(tmp_path) as store:
        assert [p.pool for p in store.pools()] == ["default_pool"]


# --- dagstudio run -----------------------------------------------------------------------------------
def test_a_pool_of_two_runs_six_sleeping_tasks_two_at_a_time(tmp_path: Path) -> None:
    home = tmp_path / "home"
    dag_file = tmp_path / "sleepers.py"
    dag_file.write_text(SLEEPERS.replace("POOL", 'pool="two"'))
    assert dagstudio(home, "pools", "set", "two", "2").returncode == 0
    done = dagstudio(home, "run", str(dag_file), "--json")
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)
    assert run["state"] == "success" and len(run["tasks"]) == 6
    assert peak_concurrency(home, "sleepers", run["run_id"]) == 2


def test_parallelism_from_the_environment_caps_running_tasks(tmp_path: Path) -> None:
    home = tmp_path / "home"
    dag_file = tmp_path / "sleepers.py"
    dag_file.write_text(SLEEPERS.replace(", POOL", ""))
    done = dagstudio(home, "run", str(dag_file), "--json", env={"AIRFLOW__CORE__PARALLELISM": "3"})
    assert done.returncode == 0, done.stderr
    assert peak_concurrency(home, "sleepers", json.loads(done.stdout)["run_id"]) == 3
    bad = dagstudio(home, "run", str(dag_file), env={"DAGSTUDIO_PARALLELISM": "none"})
    assert bad.returncode == 2 and "DAGSTUDIO_PARALLELISM='none': parallelism must be an integer >= 1" in bad.stderr


def test_a_task_of_a_missing_pool_ends_the_run_with_a_clear_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    dag_file = tmp_path / "lost.py"
    dag_file.write_text(MISSING_POOL)
    done = dagstudio(home, "run", str(dag_file), "--json")
    assert done.returncode == 1
    run = json.loads(done.stdout)
    states = {key: ti["state"] for key, ti in run["tasks"].items()}
    assert run["state"] == "failed" and states == {"a": "success", "b": "success", "c": "scheduled", "d": None}
    assert list(run["waiting_on_pool"]) == ["c"]
    assert "error: c was never queued: pool 'nowhere' does not exist" in done.stderr


ONE_TASK = textwrap.dedent(
    """
    import time

    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG


    def nap():
        time.sleep(SECONDS)


    with DAG("DAG_ID", schedule=None) as dag:
        PythonOperator(task_id="only", python_callable=nap, pool="one")
    """
)


def test_a_pool_counts_the_running_tasks_of_another_process(tmp_path: Path) -> None:
    """Airflow counts a pool's slots over every run in the database: a second ``dagstudio run`` on the same
    home waits while the first one holds the pool's only slot, and starts once it is free."""
    home = tmp_path / "home"
    assert dagstudio(home, "pools", "set", "one", "1").returncode == 0
    holder, waiter = tmp_path / "holder.py", tmp_path / "waiter.py"
    holder.write_text(ONE_TASK.replace("DAG_ID", "holder").replace("SECONDS", "2"))
    waiter.write_text(ONE_TASK.replace("DAG_ID", "waiter").replace("SECONDS", "0"))
    first = subprocess.Popen(
        [sys.executable, "-m", "studio", "run", str(holder), "--json", "--home", str(home)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert first.stderr is not None
        for line in first.stderr:  # the progress line is printed once "running" is in the store
            if line.split()[1:3] == ["only", "running"]:
                break
        second = dagstudio(home, "run", str(waiter), "--json")
        out, _ = first.communicate(timeout=60)
    finally:
        first.kill()
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    held, waited = json.loads(out)["tasks"]["only"], json.loads(second.stdout)["tasks"]["only"]
    assert waited["start"] >= held["end"]
