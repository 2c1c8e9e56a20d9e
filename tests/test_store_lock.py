"""One scheduler per home (``studio.store.lock.HomeLock``), with real processes holding the lock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studio.store.lock import LOCK_NAME, HomeLock, LockHeldError

REPO = Path(__file__).resolve().parents[1]
HOLD = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from studio.store.lock import HomeLock\n"
    "lock = HomeLock(Path(sys.argv[1]), kind='scheduler')\n"
    "lock.acquire()\n"
    "print('held', flush=True)\n"
    "time.sleep(600)\n"
)


def _holder(home: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(home)], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_scheduler_on_the_same_home_is_refused_with_who_holds_it(tmp_path: Path) -> None:
    proc = _holder(tmp_path)
    try:
        with pytest.raises(LockHeldError) as caught:
            HomeLock(tmp_path, stale_wait=0).acquire()
        assert caught.value.holder["pid"] == proc.pid
        message = str(caught.value)
        assert f"pid {proc.pid}" in message and str(tmp_path) in message and "--home" in message
    finally:
        proc.kill()
        proc.wait()


def test_the_lock_of_a_killed_scheduler_is_taken_over(tmp_path: Path) -> None:
    proc = _holder(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with HomeLock(tmp_path, stale_wait=0) as lock:
        assert lock.held
        recorded = json.loads((tmp_path / LOCK_NAME).read_text())
        assert recorded["pid"] == os.getpid() and recorded["kind"] == "scheduler"


def test_a_lock_still_open_in_a_dead_holders_child_is_waited_for(tmp_path: Path) -> None:
    """The holder died but a process it forked (a task still stopping) keeps the file open a moment."""
    child_code = (
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "from studio.store.lock import HomeLock\n"
        "lock = HomeLock(Path(sys.argv[1]))\n"
        "lock.acquire()\n"
        "os.set_inheritable(lock._fd, True)\n"  # as a forked child would keep it
        "if os.fork() == 0:\n"
        "    os.close(1); os.close(2)\n"  # so that the test does not wait for it through the pipes
        "    time.sleep(1.0)\n"
        "    os._exit(0)\n"
        "print('held', flush=True)\n"
        "os._exit(0)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", child_code, str(tmp_path)], capture_output=True, text=True, env=env)
    assert proc.stdout.strip() == "held"
    started = time.monotonic()
    with HomeLock(tmp_path, stale_wait=30) as lock:
        assert lock.held
    assert 0.3 < time.monotonic() - started < 30  # it waited for the child, then took the lock


def test_release_lets_the_next_one_in(tmp_path: Path) -> None:
    first = HomeLock(tmp_path)
    first.acquire()
    first.release()
    with HomeLock(tmp_path, stale_wait=0) as second:
        assert second.held
