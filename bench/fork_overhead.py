"""Benchmark: per-task cost and memory of DAG Studio's fork server (not a test; prints numbers).

Measured side by side in one run with ``time.perf_counter``:

* ``sequential``   200 trivial workers one after another (launch → Started → Finished), each writing a
                   one-line log and returning a small result                      (target ≈ 2 ms/task)
* ``parallel``     200 such workers with 16 in flight                          (wall time per task)
* ``memory``       16 workers held alive at once: each one's RSS and private memory (``uss``), and the
                   fork server's RSS                                        (target ≤ 30 MB RSS per task)
* ``bare fork``    ``os.fork`` + exit + ``waitpid`` from the benchmark process itself: the floor
* ``spawn``        the same trivial task in a ``multiprocessing`` spawn process per task (what Windows
                   would pay without a persistent pool), for the ratio

Usage: ``python bench/fork_overhead.py [--tasks N] [--parallel P] [--spawn-tasks N]``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil

from studio.runtime.forkserver import ForkServer
from studio.runtime.protocol import Finished, Started

MB = 1e6


def prepare(payload: dict[str, Any]) -> dict[str, Any]:
    return {"ready": True}


def trivial(request: dict[str, Any]) -> dict[str, Any]:
    print(f"task {request['i']} ran")
    if "hold" in request:  # for the memory probe: say "here", then wait for the release byte
        os.write(request["ready"], b".")
        os.read(request["hold"], 1)
    return {"i": request["i"], "ok": True}


def _wait(fs: ForkServer, want: type, count: int) -> list[Any]:
    got: list[Any] = []
    while len(got) < count:
        got += [e for e in fs.events(60) if isinstance(e, want)]
    return got


def sequential(fs: ForkServer, logs: Path, n: int, prefix: str = "seq") -> float:
    start = time.perf_counter()
    for i in range(n):
        fs.launch(f"{prefix}_{i}", {"i": i}, logs / f"{prefix}_{i}.log")
        (finished,) = _wait(fs, Finished, 1)
        assert finished.ok and finished.result == {"i": i, "ok": True}, finished
    return (time.perf_counter() - start) / n


def parallel(fs: ForkServer, logs: Path, n: int, width: int) -> float:
    start = time.perf_counter()
    launched = done = 0
    while done < n:
        while launched < n and launched - done < width:
            fs.launch(f"par_{launched}", {"i": launched}, logs / f"par_{launched}.log")
            launched += 1
        for event in fs.events(60):
            if isinstance(event, Finished):
                assert event.ok, event
                done += 1
    return (time.perf_counter() - start) / n


def memory(fs: ForkServer, logs: Path, width: int, hold_r: int, hold_w: int, ready_r: int) -> dict[str, float]:
    for i in range(width):
        fs.launch(f"mem_{i}", {"i": i, "hold": hold_r, "ready": ready_w_fd}, logs / f"mem_{i}.log")
    pids = [e.pid for e in _wait(fs, Started, width)]
    arrived = 0
    while arrived < width:
        arrived += len(os.read(ready_r, width))
    infos = [psutil.Process(pid).memory_full_info() for pid in pids]
    server = psutil.Process(fs.pid).memory_full_info()
    os.write(hold_w, b"x" * width)
    assert all(f.ok for f in _wait(fs, Finished, width))
    return {
        "worker_rss_max": max(i.rss for i in infos) / MB,
        "worker_rss_mean": statistics.mean(i.rss for i in infos) / MB,
        "worker_uss_mean": statistics.mean(i.uss for i in infos) / MB,
        "server_rss": server.rss / MB,
        "server_uss": server.uss / MB,
    }


def bare_fork(n: int) -> float:
    """The floor: fork + one pipe write + exit + wait from this process, no log, no protocol."""
    start = time.perf_counter()
    for _ in range(n):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.write(write_end, b"x")
            os._exit(0)
        os.close(write_end)
        os.read(read_end, 1)
        os.close(read_end)
        os.waitpid(pid, 0)
    return (time.perf_counter() - start) / n


def _spawned(i: int, log: str) -> None:
    with open(log, "a") as handle:
        os.dup2(handle.fileno(), 1)
    trivial({"i": i})
    sys.stdout.flush()


def spawn_per_task(n: int, logs: Path) -> float:
    ctx = multiprocessing.get_context("spawn")
    start = time.perf_counter()
    for i in range(n):
        process = ctx.Process(target=_spawned, args=(i, str(logs / f"spawn_{i}.log")))
        process.start()
        process.join()
        assert process.exitcode == 0
    return (time.perf_counter() - start) / n


ready_w_fd = -1


def main() -> None:
    global ready_w_fd
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--parallel", type=int, default=16)
    parser.add_argument("--spawn-tasks", type=int, default=20)
    args = parser.parse_args()
    hold_r, hold_w = os.pipe()  # made before start(): the server and its workers inherit them
    ready_r, ready_w_fd = os.pipe()
    with tempfile.TemporaryDirectory() as tmp, ForkServer("__main__:prepare", "__main__:trivial") as fs:
        logs = Path(tmp)
        t0 = time.perf_counter()
        fs.start({})
        started = time.perf_counter() - t0
        sequential(fs, logs, 20, prefix="warmup")
        seq = sequential(fs, logs, args.tasks)
        par = parallel(fs, logs, args.tasks, args.parallel)
        mem = memory(fs, logs, args.parallel, hold_r, hold_w, ready_r)
        lines = (logs / "seq_7.log").read_text()
        spawn = spawn_per_task(args.spawn_tasks, logs) if args.spawn_tasks else float("nan")
    floor = bare_fork(args.tasks)
    print(f"fork server start (fork + prepare):  {started * 1000:7.2f} ms")
    print(f"sequential, {args.tasks} tasks:            {seq * 1000:7.2f} ms/task")
    print(f"parallel {args.parallel}, {args.tasks} tasks:         {par * 1000:7.2f} ms/task (wall)")
    print(f"bare os.fork floor, {args.tasks} tasks:      {floor * 1000:7.2f} ms/task (no log, no protocol)")
    print(f"spawn per task, {args.spawn_tasks} tasks:         {spawn * 1000:7.2f} ms/task")
    print(f"  ratio fork server / bare fork:          {seq / floor:6.1f}x")
    print(f"  ratio spawn / fork server (sequential): {spawn / seq:6.1f}x")
    print(f"memory with {args.parallel} running workers:")
    print(f"  worker RSS   max {mem['worker_rss_max']:6.1f} MB, mean {mem['worker_rss_mean']:6.1f} MB (target <= 30)")
    print(f"  worker USS   mean {mem['worker_uss_mean']:5.2f} MB (private memory per task)")
    print(f"  fork server  RSS {mem['server_rss']:6.1f} MB, USS {mem['server_uss']:6.1f} MB")
    print(f"log of one task: {lines!r}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
