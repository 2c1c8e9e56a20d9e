"""Faults a task can commit, each contained by the spawn pool (real processes, real signals).

Mirrors tests/test_runtime_faults.py for ``SpawnServer``: a segfault, ``os._exit``, a hang past its
timeout, a worker that ignores SIGTERM, output past the log cap, children and grandchildren that try to
outlive the worker, a memory blow-up under ``rlimit_as``, the engine process itself being killed. Each
ends as a reported ``Finished``, the other tries keep running, and no process is left behind.
(Daemons that leave the worker's session are the fork server's subreaper's job; the pool does not claim
to find them, see studio/runtime/spawnserver.py.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from studio.runtime.spawnserver import SpawnServer
from tests.test_runtime_forkserver import alive, assert_no_children, fifo_wait, wait_finished
from tests.test_runtime_spawnserver import PREPARE, TASK, make_pool, pool

__all__ = ["make_pool", "pool"]  # fixtures used here

MIB = 2**20
REPO = Path(__file__).resolve().parents[1]


def test_segfault_exit_and_exception_are_contained_while_others_succeed(pool: SpawnServer, tmp_path: Path) -> None:
    bad = {"segv": {"do": "segfault"}, "exit3": {"do": "exit", "code": 3}, "raise": {"do": "raise"}}
    good = [f"good_{i}" for i in range(6)]
    for i, key in enumerate(good[:3]):
        pool.launch(key, {"value": i}, tmp_path / f"{key}.log")
    for key, request in bad.items():
        pool.launch(key, request, tmp_path / f"{key}.log")
    for i, key in enumerate(good[3:], start=3):
        pool.launch(key, {"value": i}, tmp_path / f"{key}.log")
    done = wait_finished(pool, [*bad, *good])  # type: ignore[arg-type]
    segv = done["segv"]
    assert (segv.exit_code, segv.signal, segv.result) == (None, signal.SIGSEGV, None)
    assert "Segmentation fault" in (tmp_path / "segv.log").read_text()  # faulthandler writes into the log
    assert (done["exit3"].exit_code, done["exit3"].signal, done["exit3"].result) == (3, None, None)
    assert done["raise"].exit_code == 1
    assert [done[k].result["value"] for k in good] == list(range(6))  # type: ignore[index]
    assert all(done[k].ok for k in good)


def test_a_hang_past_its_timeout_gets_sigterm(pool: SpawnServer, tmp_path: Path) -> None:
    start = time.monotonic()
    pool.launch("hang", {"do": "block"}, tmp_path / "hang.log", timeout=0.3)
    pool.launch("quick", {}, tmp_path / "quick.log", timeout=30)
    done = wait_finished(pool, ["hang", "quick"])  # type: ignore[arg-type]
    elapsed = time.monotonic() - start
    hang = done["hang"]
    assert hang.timed_out and not hang.cancelled
    assert (hang.signal, hang.exit_code, hang.result) == (signal.SIGTERM, None, None)
    assert 0.3 <= elapsed < 10
    assert done["quick"].ok and not done["quick"].timed_out


def test_a_worker_ignoring_sigterm_is_killed_after_the_grace_period(make_pool: Any, tmp_path: Path) -> None:
    fs = make_pool(kill_grace=0.4)
    start = time.monotonic()
    fs.launch("stubborn", {"do": "block", "ignore_term": True}, tmp_path / "stubborn.log", timeout=0.5)
    finished = wait_finished(fs, "stubborn")["stubborn"]
    elapsed = time.monotonic() - start
    assert finished.timed_out and finished.signal == signal.SIGKILL
    assert 0.9 <= elapsed < 10


def test_output_past_the_cap_is_dropped_with_a_note_and_others_keep_running(make_pool: Any, tmp_path: Path) -> None:
    fs = make_pool(log_cap_bytes=4 * MIB)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    log = tmp_path / "flood.log"
    fs.launch("flood", {"do": "flood", "mib": 10, "fifo": str(fifo)}, log)
    quick = [f"quick_{i}" for i in range(3)]
    for key in quick:  # launched while the flood is being copied
        fs.launch(key, {"value": key}, tmp_path / f"{key}.log")
    assert all(f.ok for f in wait_finished(fs, quick).values())
    assert fifo_wait(fifo) == {"flooded": True}  # all 10 MiB written; the worker now waits forever
    fs.cancel("flood")
    flood = wait_finished(fs, "flood")["flood"]
    assert flood.cancelled and flood.signal == signal.SIGTERM
    assert flood.log_dropped == 6 * MIB
    note = f"[dagstudio] log capped at 4 MiB; {6 * MIB} bytes dropped\n".encode()
    assert log.stat().st_size == 4 * MIB + len(note)
    with log.open("rb") as handle:
        assert handle.read(1024) == b"x" * 1023 + b"\n"
        handle.seek(4 * MIB - 1024)
        assert handle.read() == b"x" * 1023 + b"\n" + note


def test_children_and_grandchildren_die_with_a_worker_that_exits(pool: SpawnServer, tmp_path: Path) -> None:
    pool.launch("family", {"do": "family", "daemon": False}, tmp_path / "family.log")
    finished = wait_finished(pool, "family")["family"]  # type: ignore[arg-type]
    assert finished.ok
    pids = finished.result["pids"]  # type: ignore[index]
    assert len(pids) == 3 and finished.pid not in pids
    assert [pid for pid in pids if alive(pid)] == []  # gone before Finished was reported


def test_a_family_that_ignores_sigterm_dies_when_its_worker_times_out(make_pool: Any, tmp_path: Path) -> None:
    fs = make_pool(kill_grace=0.3)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    fs.launch("family", {"do": "family", "daemon": False, "block": True, "ignore_term": True, "fifo": str(fifo)},
              tmp_path / "family.log", timeout=1)  # fmt: skip
    fs.launch("neighbour", {"do": "block"}, tmp_path / "neighbour.log")
    pids = fifo_wait(fifo)["pids"]
    assert all(alive(pid) for pid in pids)
    finished = wait_finished(fs, "family")["family"]
    assert finished.timed_out and finished.signal == signal.SIGKILL
    assert [pid for pid in pids if alive(pid)] == []
    assert set(fs.running) == {"neighbour"}  # the other try was not touched
    fs.cancel("neighbour")
    assert wait_finished(fs, "neighbour")["neighbour"].cancelled


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_AS is POSIX")
def test_a_memory_blow_up_under_rlimit_as_fails_the_task_not_the_machine(pool: SpawnServer, tmp_path: Path) -> None:
    limit = psutil.Process(pool.prepared["prepared_in"]).memory_info().vms + 256 * MIB  # type: ignore[index]
    pool.launch("hog", {"do": "alloc", "size": 8 * 2**30}, tmp_path / "hog.log", rlimit_as=limit)
    pool.launch("fine", {"do": "alloc", "size": MIB}, tmp_path / "fine.log", rlimit_as=limit)
    done = wait_finished(pool, ["hog", "fine"])  # type: ignore[arg-type]
    assert (done["hog"].exit_code, done["hog"].result) == (1, None)
    assert "MemoryError" in (tmp_path / "hog.log").read_text()
    assert done["fine"].result == {"len": MIB}


def test_close_kills_misbehaving_workers_and_leaves_no_process(tmp_path: Path) -> None:
    fs = SpawnServer(PREPARE, TASK, kill_grace=0.3)
    fs.start({})
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    fs.launch("family", {"do": "family", "daemon": False, "block": True, "ignore_term": True, "fifo": str(fifo)},
              tmp_path / "f.log")  # fmt: skip
    fs.launch("sleepy", {"do": "block"}, tmp_path / "s.log")
    pids = fifo_wait(fifo)["pids"]
    workers = list(fs.running.values()) + [e.pid for e in fs.events(0) if e.pid]
    start = time.monotonic()
    fs.close()
    assert time.monotonic() - start < 5
    assert [pid for pid in [*pids, *workers] if alive(pid)] == []
    assert_no_children()


def test_when_the_engine_process_is_killed_its_workers_and_their_families_die(tmp_path: Path) -> None:
    """No process outlives the run even if the engine cannot clean up: each busy worker's watchdog sees
    its control pipe end and kills its group; idle workers see the same end and exit."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    script = (
        "import json, sys\n"
        "from studio.runtime.spawnserver import SpawnServer\n"
        f"pool = SpawnServer({PREPARE!r}, {TASK!r})\n"
        "pool.start({})\n"
        f"pool.launch('family', {{'do': 'family', 'daemon': False, 'block': True, 'fifo': {str(fifo)!r}}}, "
        f"{str(tmp_path / 'f.log')!r})\n"
        "started = [e for e in pool.events(60)]\n"
        "print(json.dumps({'worker': started[0].pid, 'spare': [p.pid for p in __import__('psutil').Process()"
        ".children() if p.pid != started[0].pid]}), flush=True)\n"
        "sys.stdin.read()\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    engine = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    try:
        family = fifo_wait(fifo)["pids"]
        assert engine.stdout is not None
        seen = json.loads(engine.stdout.readline())
        victims = [psutil.Process(pid) for pid in [seen["worker"], *seen["spare"], *family]]
        assert all(p.is_running() for p in victims)
        engine.kill()
        engine.wait(30)
        _, still = psutil.wait_procs(victims, timeout=30)
        assert [p.pid for p in still if alive(p.pid)] == []
    finally:
        engine.kill()
        engine.wait(30)
