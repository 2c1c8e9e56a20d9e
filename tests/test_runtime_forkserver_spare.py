"""The fork server's spare worker and early end (``studio.runtime.forkserver_loop``), with real processes.

A spare is forked and set up ahead of need; a launch hands it the request. A try that returned normally
is reported as soon as its log and result are complete; its process is still reaped, its group killed
and waited for before the server ends. The ``warm`` hook runs in each spare, quietly.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import psutil

from studio.runtime.forkserver import ForkServer
from tests.test_runtime_forkserver import PREPARE, TASK, alive, assert_no_children, wait_finished

WARM = "tests.test_runtime_forkserver_spare:warm"


def warm() -> None:
    """Prints (must not reach any log) and raises (must be ignored)."""
    print("warm output must be discarded")
    raise RuntimeError("warm failed on purpose")


def _children(fs: ForkServer, timeout: float = 30.0) -> list[int]:
    """The fork server's children once at least one exists (the spare is forked right after ``ready``)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [c.pid for c in psutil.Process(fs.pid).children() if alive(c.pid)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


def test_a_launch_is_served_by_the_spare_forked_before_it(tmp_path: Path) -> None:
    with ForkServer(PREPARE, TASK) as fs:
        fs.start({})
        (spare,) = _children(fs)
        fs.launch("a", {"do": "echo", "value": 1}, tmp_path / "a.log")
        finished = wait_finished(fs, "a")["a"]
        assert finished.pid == spare and finished.exit_code == 0
        assert finished.result == {**finished.result, "value": 1, "pid": spare, "pgid": spare, "sid": spare}
        assert (tmp_path / "a.log").read_text() == "hello\nto stderr\n"
        deadline = time.monotonic() + 30  # a new spare replaces the used one (which may still be exiting)
        while spare in _children(fs) or not _children(fs):
            assert time.monotonic() < deadline, "no new spare"
            time.sleep(0.01)
        (next_spare,) = _children(fs)
        assert next_spare != spare
    assert_no_children()


def test_many_launches_at_once_and_a_large_request_fork_directly(tmp_path: Path) -> None:
    big = "x" * 100_000  # larger than an assignment through the spare's pipe may be
    with ForkServer(PREPARE, TASK) as fs:
        fs.start({})
        keys = [f"k{i}" for i in range(8)]
        for key in keys:
            fs.launch(key, {"do": "echo", "value": key, "text": big if key == "k3" else key}, tmp_path / f"{key}.log")
        done = wait_finished(fs, keys)
    assert {k: e.result["value"] for k, e in done.items()} == {k: k for k in keys}
    assert len({e.pid for e in done.values()}) == len(keys)
    assert (tmp_path / "k3.log").read_text() == big + "\nto stderr\n"
    assert_no_children()


def test_warm_runs_in_the_spare_quietly(tmp_path: Path) -> None:
    with ForkServer(PREPARE, TASK, warm=WARM) as fs:
        fs.start({})
        fs.launch("a", {"do": "echo", "value": 2}, tmp_path / "a.log")
        finished = wait_finished(fs, "a")["a"]
    assert finished.exit_code == 0 and finished.result["value"] == 2
    assert (tmp_path / "a.log").read_text() == "hello\nto stderr\n"
    assert_no_children()


def test_a_spare_killed_while_waiting_is_replaced(tmp_path: Path) -> None:
    with ForkServer(PREPARE, TASK) as fs:
        fs.start({})
        (spare,) = _children(fs)
        os.kill(spare, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while spare in _children(fs) or not _children(fs):
            assert time.monotonic() < deadline, "the dead spare was not replaced"
            time.sleep(0.01)
        fs.launch("a", {"do": "echo", "value": 3}, tmp_path / "a.log")
        finished = wait_finished(fs, "a")["a"]
    assert finished.exit_code == 0 and finished.result["value"] == 3 and finished.pid != spare
    assert_no_children()


def test_a_try_holding_its_output_open_in_a_child_ends_only_when_the_group_is_gone(tmp_path: Path) -> None:
    """No early end while a background child still holds the try's stdout: the group is killed first."""
    with ForkServer(PREPARE, TASK) as fs:
        fs.start({})
        fs.launch("fam", {"do": "family", "daemon": False}, tmp_path / "fam.log")
        finished = wait_finished(fs, "fam")["fam"]
        pids: list[Any] = finished.result["pids"]
        assert finished.exit_code == 0
        assert [p for p in pids if alive(p)] == []  # all killed before `finished` was sent
    assert_no_children()


def test_close_right_after_an_early_end_leaves_no_process(tmp_path: Path) -> None:
    for round_ in range(5):
        with ForkServer(PREPARE, TASK) as fs:
            fs.start({})
            fs.launch("a", {"do": "echo"}, tmp_path / f"a{round_}.log")
            wait_finished(fs, "a")
        assert_no_children()
