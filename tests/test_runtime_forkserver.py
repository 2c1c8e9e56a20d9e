"""The fork server with real processes: prepare once, fork isolated workers, results, logs, cancel, close.

``prepare`` and ``task`` below are what the fork server imports ("tests.test_runtime_forkserver:task");
``task`` does what ``request["do"]`` says, so the fault tests (test_runtime_faults.py) reuse it.
"""

from __future__ import annotations

import ctypes
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from studio.runtime.forkserver import ForkServer, ForkServerError
from studio.runtime.protocol import Finished, Started

PREPARE = "tests.test_runtime_forkserver:prepare"
TASK = "tests.test_runtime_forkserver:task"


def prepare(payload: dict[str, Any]) -> dict[str, Any]:
    if payload.get("fail"):
        raise ZeroDivisionError("prepare exploded on purpose")
    if payload.get("segfault"):
        ctypes.string_at(0)
    if payload.get("hang"):
        signal.pause()
    if payload.get("not_json"):
        return {"value": object()}
    print("prepare ran")  # the fork server's own output goes to the engine's stdout, not to a task log
    return {"prepared_in": os.getpid(), "echo": payload}


def _tell(fifo: str, data: dict[str, Any]) -> None:
    with open(fifo, "w") as handle:
        handle.write(json.dumps(data))


def _spawn_family(daemon: bool) -> list[int]:
    """A child in the group that ignores SIGTERM and has a grandchild, a subprocess, an escaped daemon."""
    pids = []
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # child: ignores SIGTERM, forks a grandchild, both wait forever
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        grandchild = os.fork()
        if grandchild == 0:
            os.write(write_end, f"{os.getpid()} ".encode())
            while True:
                signal.pause()
        while True:
            signal.pause()
    pids += [child, int(os.read(read_end, 64).split()[0])]
    pids.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"]).pid)
    if not daemon:
        return pids
    middle = os.fork()
    if middle == 0:  # double fork + setsid: a daemon that leaves the worker's process group and session
        if os.fork() == 0:
            os.setsid()
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            os.write(write_end, f"{os.getpid()} ".encode())
            while True:
                signal.pause()
        os._exit(0)
    os.waitpid(middle, 0)
    pids.append(int(os.read(read_end, 64).split()[0]))
    return pids


def task(request: dict[str, Any]) -> Any:
    do = request.get("do", "echo")
    if do == "echo":
        print(request.get("text", "hello"))
        print("to stderr", file=sys.stderr)
        return {"value": request.get("value"), "pid": os.getpid(), "pgid": os.getpgid(0), "sid": os.getsid(0),
                "ppid": os.getppid(), "stdin": sys.stdin.read()}  # fmt: skip
    if do == "raise":
        raise ValueError("task exploded on purpose")
    if do == "not_dict":
        return [1, 2]
    if do == "sys_exit":
        sys.exit(request["code"])
    if do == "exit":
        os._exit(request["code"])
    if do == "segfault":
        ctypes.string_at(0)
    if do == "alloc":
        return {"len": len(bytearray(request["size"]))}
    if do == "big":
        return {"blob": "b" * request["size"]}
    if do == "print":
        sys.stdout.write(request["text"])
        return {}
    if do == "flood":
        line = "x" * 1023
        for _ in range(request["mib"] * 1024):
            print(line)
        _tell(request["fifo"], {"flooded": True})
    if do == "family":
        pids = _spawn_family(request.get("daemon", True))
        if not request.get("block"):
            return {"pids": pids}
        _tell(request["fifo"], {"pids": pids})
    if do in ("block", "family", "flood"):
        if request.get("ignore_term"):
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if request.get("fifo") and do == "block":
            _tell(request["fifo"], {"pid": os.getpid()})
        while True:
            signal.pause()
    raise AssertionError(f"unknown request {request}")


# -- helpers shared with test_runtime_faults.py -------------------------------------------------------------
def wait_finished(fs: ForkServer, keys: list[str] | str, timeout: float = 60.0) -> dict[str, Finished]:
    """Collect events until every key has finished (the deadline only guards against a hang)."""
    wanted = {keys} if isinstance(keys, str) else set(keys)
    done: dict[str, Finished] = {}
    deadline = time.monotonic() + timeout
    while not wanted <= done.keys():
        left = deadline - time.monotonic()
        assert left > 0, f"still waiting for {sorted(wanted - done.keys())}"
        for event in fs.events(left):
            if isinstance(event, Finished):
                done[event.key] = event
    return done


def fifo_wait(path: Path, timeout: float = 60.0) -> dict[str, Any]:
    """What a worker writes into the FIFO ``path`` (``os.mkfifo``-ed by the test), waiting event-driven."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    data = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"nothing came through {path}"
            if not sel.select(left):
                continue
            chunk = os.read(fd, 65536)
            if not chunk and data:
                break
            data += chunk
    os.close(fd)
    return json.loads(data)


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def assert_no_children() -> None:
    left = [p for p in psutil.Process().children(recursive=True) if alive(p.pid)]
    assert left == [], [(p.pid, p.cmdline()) for p in left]


@pytest.fixture
def make_server() -> Iterator[Any]:
    servers: list[ForkServer] = []

    def make(payload: dict[str, Any] | None = None, **options: Any) -> ForkServer:
        fs = ForkServer(PREPARE, TASK, **options)
        servers.append(fs)
        fs.start(payload or {})
        return fs

    yield make
    for fs in servers:
        fs.close()
    assert_no_children()


@pytest.fixture
def server(make_server: Any) -> ForkServer:
    return make_server()


# -- tests --------------------------------------------------------------------------------------------------
def test_what_prepare_prints_goes_to_stderr_not_stdout(tmp_path: Path) -> None:
    script = (
        "from studio.runtime.forkserver import ForkServer\n"
        f"fs = ForkServer({PREPARE!r}, {TASK!r})\n"
        "fs.start({})\n"
        "fs.close()\n"
        "print('{}')\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "{}\n", "prepare ran\n")


def test_start_returns_what_prepare_returned_in_the_fork_server(server: ForkServer) -> None:
    assert server.prepared == {"prepared_in": server.pid, "echo": {}}
    assert server.pid != os.getpid()
    assert psutil.Process(server.pid).ppid() == os.getpid()


def test_prepare_exception_becomes_fork_server_error_with_remote_traceback() -> None:
    fs = ForkServer(PREPARE, TASK)
    with pytest.raises(ForkServerError, match="prepare failed") as info:
        fs.start({"fail": True})
    assert "ZeroDivisionError: prepare exploded on purpose" in str(info.value)
    assert "Traceback" in str(info.value)
    fs.close()
    assert_no_children()


def test_a_fork_server_that_crashes_or_hangs_in_prepare_is_an_error() -> None:
    fs = ForkServer(PREPARE, TASK)
    with pytest.raises(ForkServerError, match="killed by signal 11"):
        fs.start({"segfault": True})
    fs.close()
    fs = ForkServer(PREPARE, TASK)
    with pytest.raises(ForkServerError, match=r"did not finish within 0\.2 s"):
        fs.start({"hang": True}, timeout=0.2)
    assert not alive(fs.pid)
    assert_no_children()


def test_a_fork_server_started_from_another_thread_works(tmp_path: Path) -> None:
    outcome: dict[str, Any] = {}

    def in_thread() -> None:
        with ForkServer(PREPARE, TASK) as fs:
            fs.start({})
            fs.launch("t", {"value": 7}, tmp_path / "t.log")
            outcome.update(wait_finished(fs, "t"))

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join(60)
    assert outcome["t"].ok and outcome["t"].result["value"] == 7
    assert_no_children()


def test_prepare_result_that_is_not_json_is_an_error() -> None:
    fs = ForkServer(PREPARE, TASK)
    with pytest.raises(ForkServerError, match="TypeError"):
        fs.start({"not_json": True})
    assert_no_children()


def test_a_worker_runs_in_its_own_session_and_its_output_goes_to_the_log(server: ForkServer, tmp_path: Path) -> None:
    log = tmp_path / "logs" / "attempt=1.log"
    server.launch("t1", {"value": [1, "a"], "text": "first line"}, log)
    events = server.events(30)
    assert isinstance(events[0], Started) and events[0].key == "t1"
    early = [e for e in events[1:] if isinstance(e, Finished)]  # a quick try may end in the same batch
    finished = early[0] if early else wait_finished(server, "t1")["t1"]
    pid = events[0].pid
    assert finished == Finished("t1", pid, 0, None, finished.result)
    assert finished.ok
    result = finished.result
    assert result == {"value": [1, "a"], "pid": pid, "pgid": pid, "sid": pid, "ppid": server.pid, "stdin": ""}
    assert log.read_text() == "first line\nto stderr\n"
    server.launch("t1", {"text": "second try"}, log)  # the same key again once finished; the log appends
    wait_finished(server, "t1")
    assert log.read_text() == "first line\nto stderr\nsecond try\nto stderr\n"
    deadline = time.monotonic() + 10  # reported as soon as its result was in; its exit may trail a little
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not alive(pid)


def test_an_exception_in_run_is_a_failed_worker_with_the_traceback_in_its_log(
    server: ForkServer, tmp_path: Path
) -> None:
    for key, request in {"raise": {"do": "raise"}, "not_dict": {"do": "not_dict"}}.items():
        server.launch(key, request, tmp_path / f"{key}.log")
    done = wait_finished(server, ["raise", "not_dict"])
    assert (done["raise"].exit_code, done["raise"].result) == (1, None)
    assert "ValueError: task exploded on purpose" in (tmp_path / "raise.log").read_text()
    assert (done["not_dict"].exit_code, done["not_dict"].result) == (1, None)
    assert "run() must return a dict, not list" in (tmp_path / "not_dict.log").read_text()


def test_a_result_larger_than_a_pipe_buffer_arrives_whole(server: ForkServer, tmp_path: Path) -> None:
    server.launch("big", {"do": "big", "size": 5_000_000}, tmp_path / "big.log")
    server.launch("small", {}, tmp_path / "small.log")
    done = wait_finished(server, ["big", "small"])
    assert done["big"].ok and done["big"].result == {"blob": "b" * 5_000_000}
    assert done["small"].ok


def test_sys_exit_in_a_task_keeps_its_code_and_has_no_result(server: ForkServer, tmp_path: Path) -> None:
    server.launch("a", {"do": "sys_exit", "code": 4}, tmp_path / "a.log")
    server.launch("b", {"do": "sys_exit", "code": None}, tmp_path / "b.log")
    done = wait_finished(server, ["a", "b"])
    assert (done["a"].exit_code, done["a"].result, done["b"].exit_code, done["b"].ok) == (4, None, 0, False)


def test_many_workers_run_in_parallel_each_in_its_own_group(server: ForkServer, tmp_path: Path) -> None:
    keys = [f"task_{i}" for i in range(12)]
    for i, key in enumerate(keys):
        server.launch(key, {"value": i}, tmp_path / f"{key}.log")
    assert set(server.running) == set(keys)
    done = wait_finished(server, keys)
    assert [done[k].result["value"] for k in keys] == list(range(12))  # type: ignore[index]
    pids = {done[k].pid for k in keys}
    assert len(pids) == 12 and all(done[k].result["pgid"] == done[k].pid for k in keys)  # type: ignore[index]
    assert server.running == {}


def test_cancel_terminates_the_worker_group_and_is_reported(server: ForkServer, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    server.launch("sleepy", {"do": "block", "fifo": str(fifo)}, tmp_path / "sleepy.log")
    pid = fifo_wait(fifo)["pid"]
    server.cancel("sleepy")
    finished = wait_finished(server, "sleepy")["sleepy"]
    assert (finished.pid, finished.signal, finished.exit_code) == (pid, signal.SIGTERM, None)
    assert finished.cancelled and not finished.timed_out and finished.result is None
    server.cancel("sleepy")  # finished: ignored
    server.cancel("never-launched")
    assert server.events(0) == []


def test_cancel_right_after_launch_still_kills_the_worker(make_server: Any, tmp_path: Path) -> None:
    fs = make_server(kill_grace=0.2)
    fs.launch("early", {"do": "block", "ignore_term": True}, tmp_path / "early.log")
    fs.cancel("early")
    finished = wait_finished(fs, "early")["early"]
    assert finished.cancelled and finished.signal in (signal.SIGTERM, signal.SIGKILL)


def test_launch_rejects_a_running_key_and_bad_arguments(server: ForkServer, tmp_path: Path) -> None:
    server.launch("same", {"do": "block"}, tmp_path / "same.log")
    with pytest.raises(ValueError, match="still running"):
        server.launch("same", {}, tmp_path / "same.log")
    with pytest.raises(ValueError, match="positive"):
        server.launch("other", {}, tmp_path / "other.log", timeout=0)
    with pytest.raises(TypeError):
        server.launch("other", {"value": object()}, tmp_path / "other.log")
    assert set(server.running) == {"same"}


def test_an_unwritable_log_path_is_a_finished_event_with_an_error(server: ForkServer, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    server.launch("bad", {}, tmp_path / "file" / "x.log")
    finished = wait_finished(server, "bad")["bad"]
    assert (finished.pid, finished.exit_code, finished.result) == (0, None, None)
    assert "cannot start the worker" in (finished.error or "")


def test_events_times_out_empty_and_the_socket_works_in_a_selector(server: ForkServer, tmp_path: Path) -> None:
    start = time.monotonic()
    assert server.events(0.05) == []
    assert time.monotonic() - start >= 0.05
    server.launch("sel", {}, tmp_path / "sel.log")
    with selectors.DefaultSelector() as sel:
        sel.register(server.fileno(), selectors.EVENT_READ)
        assert sel.select(30)
    assert wait_finished(server, "sel")["sel"].ok


def test_small_log_cap_keeps_the_first_bytes_and_adds_one_note(make_server: Any, tmp_path: Path) -> None:
    fs = make_server(log_cap_bytes=2048)
    log = tmp_path / "capped.log"
    fs.launch("p", {"do": "print", "text": "y" * 5000}, log)
    finished = wait_finished(fs, "p")["p"]
    assert finished.ok and finished.log_dropped == 5000 - 2048
    assert log.read_text() == "y" * 2048 + "\n[dagstudio] log capped at 2 KiB; 2952 bytes dropped\n"


def test_close_is_idempotent_and_later_calls_fail_clearly(tmp_path: Path) -> None:
    fs = ForkServer(PREPARE, TASK)
    with pytest.raises(ForkServerError, match="start"):
        fs.launch("x", {}, tmp_path / "x.log")
    fs.start({})
    pid = fs.pid
    fs.close()
    fs.close()
    assert not alive(pid)
    with pytest.raises(ForkServerError, match="not running"):
        fs.launch("x", {}, tmp_path / "x.log")
    with pytest.raises(ForkServerError):
        fs.start({})


def test_two_fork_servers_are_independent(make_server: Any, tmp_path: Path) -> None:
    first, second = make_server({"n": 1}), make_server({"n": 2})
    first.launch("a", {"value": 1}, tmp_path / "a.log")
    second.launch("a", {"value": 2}, tmp_path / "b.log")
    assert wait_finished(first, "a")["a"].result["ppid"] == first.pid  # type: ignore[index]
    first.close()
    assert wait_finished(second, "a")["a"].result["ppid"] == second.pid  # type: ignore[index]
