"""Ctrl-C during ``dagstudio run``: running tasks are stopped, the run is recorded failed, no process is left."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

DAG = textwrap.dedent(
    """
    import time
    import pendulum
    from airflow.sdk import DAG, task
    from airflow.providers.standard.operators.bash import BashOperator

    with DAG("slow", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None) as dag:
        @task
        def quick():
            return 1

        sleepy = BashOperator(task_id="sleepy", bash_command="sleep 300 & sleep 300; wait")

        @task
        def after(value):
            return value

        nap = BashOperator(task_id="nap", bash_command="echo started; sleep 300")
        quick() >> sleepy >> after(1)
    """
)


def _descendants(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _status(pid: int) -> str:
    try:
        return psutil.Process(pid).status()
    except psutil.Error:
        return psutil.STATUS_ZOMBIE


def _name(proc: psutil.Process) -> str:
    try:
        return proc.name()
    except psutil.Error:
        return ""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupting_a_run_stops_everything_and_records_it_failed(tmp_path: Path, sig: int) -> None:
    path = tmp_path / "slow.py"
    path.write_text(DAG)
    home = tmp_path / "home"
    proc = subprocess.Popen(
        [sys.executable, "-m", "studio", "run", str(path), "--json", "--home", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    parent = psutil.Process(proc.pid)
    seen: set[int] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until the sleep commands run (a worker and its children)
        children = _descendants(parent)
        seen.update(c.pid for c in children)
        sleeping = [c for c in children if _name(c) == "sleep"]
        if len(sleeping) >= 3:  # nap's sleep and sleepy's two: both bash tasks are running
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("the sleeping tasks never started")
    seen.update(c.pid for c in _descendants(parent))
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode not in (0, 2), err
    assert "Traceback" not in err
    leftovers = [p for p in seen if psutil.pid_exists(p) and _status(p) != psutil.STATUS_ZOMBIE]
    assert leftovers == [], f"processes outlived the run: {leftovers}"
    history = subprocess.run(
        [sys.executable, "-m", "studio", "runs", str(path), "--json", "--home", str(home)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    (run,) = json.loads(history.stdout)["runs"]
    assert run["state"] == "failed"
    assert run["tasks"]["quick"]["state"] == "success"
    assert run["tasks"]["sleepy"]["state"] == "failed"
    assert run["tasks"]["nap"]["state"] == "failed"
    assert run["tasks"]["after"]["state"] in ("skipped", "upstream_failed")
    del out
