"""Misbehaving tasks inside a real ``dagstudio run``: each is contained, the rest of the run is unaffected,
no process outlives the run, and a flood of output is capped in the log with a clear note."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil

DAG = textwrap.dedent(
    """
    import ctypes, os, signal, subprocess, sys, time
    from datetime import timedelta
    import pendulum
    from airflow.sdk import DAG, task

    with DAG("faults", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None,
             default_args={"retries": 0}) as dag:
        @task
        def segfault():
            ctypes.string_at(0)

        @task
        def exits_hard():
            os._exit(3)

        @task(execution_timeout=timedelta(seconds=1))
        def hangs():
            time.sleep(300)

        @task(execution_timeout=timedelta(seconds=1))
        def ignores_sigterm():
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
            while True:
                time.sleep(0.1)

        @task
        def floods_output():
            chunk = "x" * 1023 + "\\n"
            for _ in range(100 * 1024):  # 100 MiB
                sys.stdout.write(chunk)

        @task
        def leaves_children():
            with open(os.environ["PIDS_FILE"], "a") as fh:
                for _ in range(2):
                    child = subprocess.Popen(["sleep", "300"], start_new_session=False)
                    fh.write(f"{child.pid}\\n")
            return "done"

        @task
        def healthy():
            return 42

        [segfault(), exits_hard(), hangs(), ignores_sigterm(), floods_output(), leaves_children(), healthy()]
    """
)


def test_faulty_tasks_are_contained(tmp_path: Path) -> None:
    path = tmp_path / "faults.py"
    path.write_text(DAG)
    home = tmp_path / "home"
    pids_file = tmp_path / "pids"
    env = {**__import__("os").environ, "PIDS_FILE": str(pids_file)}
    proc = subprocess.run(
        [sys.executable, "-m", "studio", "run", str(path), "--json", "--home", str(home),
         "--logical-date", "2024-01-01"],
        capture_output=True, text=True, timeout=240, env=env,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-2000:]
    run = json.loads(proc.stdout)
    states = {task: ti["state"] for task, ti in run["tasks"].items()}
    assert states == {
        "segfault": "failed",
        "exits_hard": "failed",
        "hangs": "failed",
        "ignores_sigterm": "failed",
        "floods_output": "success",
        "leaves_children": "success",
        "healthy": "success",
    }
    children = [int(pid) for pid in pids_file.read_text().split()]
    assert len(children) == 2
    alive = [pid for pid in children if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert alive == [], "children of a finished task outlived it"
    log = subprocess.run(
        [sys.executable, "-m", "studio", "logs", str(path), "faults", run["run_id"], "floods_output", "--home", str(home)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "[dagstudio] log capped at" in log.stdout
    assert len(log.stdout) < 60 * 2**20
    segv_log = subprocess.run(
        [sys.executable, "-m", "studio", "logs", str(path), "faults", run["run_id"], "segfault", "--home", str(home)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "Segmentation fault" in segv_log.stdout or "SIGSEGV" in segv_log.stdout
