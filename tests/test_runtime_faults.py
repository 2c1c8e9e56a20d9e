"""Faults a task can commit, each contained by the fork server (real processes, real signals).

A segfault, ``os._exit``, a hang past the timeout, a worker that ignores SIGTERM, 100 MB of output, a
family of children/grandchildren/daemons that try to outlive the worker, a memory blow-up under
``rlimit_as``, the fork server itself being killed: every one ends as a reported ``Finished`` (or a
``ForkServerError``), the other workers keep running, and no process is left behind.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from studio.runtime.forkserver import ForkServer, ForkServerError
from tests.test_runtime_forkserver import alive, assert_no_children, fifo_wait, make_server, server, wait_finished

__all__ = ["make_server", "server"]  # fixtures used here

MIB = 2**20


def test_segfault_exit_and_exception_are_contained_while_others_succeed(server: ForkServer, tmp_path: Path) -> None:
    bad = {"segv": {"do": "segfault"}, "exit3": {"do": "exit", "code": 3}, "raise": {"do": "raise"}}
    good = [f"good_{i}" for i in range(6)]
    for i, key in enumerate(good[:3]):
        server.launch(key, {"value": i}, tmp_path / f"{key}.log")
    for key, request in bad.items():
        server.launch(key, request, tmp_path / f"{key}.log")
    for i, key in enumerate(good[3:], start=3):
        server.launch(key, {"value": i}, tmp_path / f"{key}.log")
    done = wait_finished(server, [*bad, *good])
    segv = done["segv"]
    assert (segv.exit_code, segv.signal, segv.result) == (None, signal.SIGSEGV, None)
    assert "Segmentation fault" in (tmp_path / "segv.log").read_text()  # faulthandler writes into the log
    assert (done["exit3"].exit_code, done["exit3"].signal, done["exit3"].result) == (3, None, None)
    assert done["raise"].exit_code == 1
    assert [done[k].result["value"] for k in good] == list(range(6))  # type: ignore[index]
    assert all(done[k].ok for k in good)


def test_a_hang_past_its_timeout_gets_sigterm(server: ForkServer, tmp_path: Path) -> None:
    start = time.monotonic()
    server.launch("hang", {"do": "block"}, tmp_path / "hang.log", timeout=0.3)
    server.launch("quick", {}, tmp_path / "quick.log", timeout=30)
    done = wait_finished(server, ["hang", "quick"])
    elapsed = time.monotonic() - start
    hang = done["hang"]
    assert hang.timed_out and not hang.cancelled
    assert (hang.signal, hang.exit_code, hang.result) == (signal.SIGTERM, None, None)
    assert 0.3 <= elapsed < 10
    assert done["quick"].ok and not done["quick"].timed_out


def test_a_worker_ignoring_sigterm_is_killed_after_the_grace_period(make_server: Any, tmp_path: Path) -> None:
    fs = make_server(kill_grace=0.4)
    start = time.monotonic()
    fs.launch("stubborn", {"do": "block", "ignore_term": True}, tmp_path / "stubborn.log", timeout=0.5)
    finished = wait_finished(fs, "stubborn")["stubborn"]
    elapsed = time.monotonic() - start
    assert finished.timed_out and finished.signal == signal.SIGKILL
    assert 0.9 <= elapsed < 10


def test_100_mb_of_output_is_capped_with_a_note_and_the_server_stays_responsive(
    server: ForkServer, tmp_path: Path
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    log = tmp_path / "flood.log"
    server.launch("flood", {"do": "flood", "mib": 100, "fifo": str(fifo)}, log)
    quick = [f"quick_{i}" for i in range(3)]
    for key in quick:  # launched while the flood is being copied
        server.launch(key, {"value": key}, tmp_path / f"{key}.log")
    assert all(f.ok for f in wait_finished(server, quick).values())
    assert fifo_wait(fifo) == {"flooded": True}  # all 100 MiB written; the worker now waits forever
    server.launch("after", {}, tmp_path / "after.log")
    assert wait_finished(server, "after")["after"].ok
    server.cancel("flood")
    flood = wait_finished(server, "flood")["flood"]
    assert flood.cancelled and flood.signal == signal.SIGTERM
    assert flood.log_dropped == 50 * MIB
    note = f"[dagstudio] log capped at 50 MiB; {50 * MIB} bytes dropped\n".encode()
    assert log.stat().st_size == 50 * MIB + len(note)
    with log.open("rb") as handle:
        assert handle.read(1024) == b"x" * 1023 + b"\n"
        handle.seek(50 * MIB - 1024)
        assert handle.read() == b"x" * 1023 + b"\n" + note


def test_children_grandchildren_and_daemons_die_with_a_worker_that_exits(server: ForkServer, tmp_path: Path) -> None:
    server.launch("family", {"do": "family"}, tmp_path / "family.log")
    finished = wait_finished(server, "family")["family"]
    assert finished.ok
    pids = finished.result["pids"]  # type: ignore[index]
    assert len(pids) == 4 and finished.pid not in pids
    assert [pid for pid in pids if alive(pid)] == []  # gone before Finished was reported


def test_a_family_that_ignores_sigterm_dies_when_its_worker_times_out(make_server: Any, tmp_path: Path) -> None:
    fs = make_server(kill_grace=0.3)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    fs.launch("family", {"do": "family", "block": True, "ignore_term": True, "fifo": str(fifo)},
              tmp_path / "family.log", timeout=1)  # fmt: skip
    fs.launch("neighbour", {"do": "block"}, tmp_path / "neighbour.log")
    pids = fifo_wait(fifo)["pids"]
    assert all(alive(pid) for pid in pids)
    finished = wait_finished(fs, "family")["family"]
    assert finished.timed_out and finished.signal == signal.SIGKILL
    assert [pid for pid in pids if alive(pid)] == []
    assert set(fs.running) == {"neighbour"}  # the other worker was not touched
    fs.cancel("neighbour")
    assert wait_finished(fs, "neighbour")["neighbour"].cancelled


def test_a_memory_blow_up_under_rlimit_as_fails_the_task_not_the_machine(server: ForkServer, tmp_path: Path) -> None:
    limit = psutil.Process(server.pid).memory_info().vms + 256 * MIB
    server.launch("hog", {"do": "alloc", "size": 8 * 2**30}, tmp_path / "hog.log", rlimit_as=limit)
    server.launch("fine", {"do": "alloc", "size": MIB}, tmp_path / "fine.log", rlimit_as=limit)
    done = wait_finished(server, ["hog", "fine"])
    assert (done["hog"].exit_code, done["hog"].result) == (1, None)
    assert "MemoryError" in (tmp_path / "hog.log").read_text()
    assert done["fine"].result == {"len": MIB}


def test_close_kills_misbehaving_workers_and_leaves_no_process(tmp_path: Path) -> None:
    fs = ForkServer("tests.test_runtime_forkserver:prepare", "tests.test_runtime_forkserver:task", kill_grace=0.3)
    fs.start({})
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    fs.launch("family", {"do": "family", "block": True, "ignore_term": True, "fifo": str(fifo)}, tmp_path / "f.log")
    fs.launch("sleepy", {"do": "block"}, tmp_path / "s.log")
    pids = fifo_wait(fifo)["pids"]
    server_pid = fs.pid
    start = time.monotonic()
    fs.close()
    assert time.monotonic() - start < 5
    assert not alive(server_pid)
    assert [pid for pid in pids if alive(pid)] == []
    assert_no_children()


def test_a_killed_fork_server_is_an_error_on_the_next_call_and_its_workers_die(tmp_path: Path) -> None:
    fs = ForkServer("tests.test_runtime_forkserver:prepare", "tests.test_runtime_forkserver:task")
    fs.start({})
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    # no daemon here: a process that left the worker's session cannot be found once the server is dead
    fs.launch("family", {"do": "family", "block": True, "daemon": False, "fifo": str(fifo)}, tmp_path / "f.log")
    pids = fifo_wait(fifo)["pids"]
    worker = fs.running["family"] or next(e.pid for e in fs.events(30))
    os.kill(fs.pid, signal.SIGKILL)
    with pytest.raises(ForkServerError, match="killed by signal 9"):
        while True:
            fs.events(30)
    with pytest.raises(ForkServerError, match="not running"):
        fs.launch("again", {}, tmp_path / "again.log")
    group = [psutil.Process(pid) for pid in [worker, *pids] if alive(pid)]
    _, still = psutil.wait_procs(group, timeout=30)
    assert [p.pid for p in still if alive(p.pid)] == []
    fs.close()
    assert_no_children()
