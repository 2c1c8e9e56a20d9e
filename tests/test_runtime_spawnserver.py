"""The spawn pool with real processes (no fork in the pool): prepare, results, logs, cancel, close, selection.

Mirrors tests/test_runtime_forkserver.py for ``SpawnServer`` (forced on Linux here; it is the executor
where there is no fork). ``task`` below is what the workers run: tests.test_runtime_forkserver's ``task``
plus a counter in module state, to show that a retired worker's state never reaches the next try.
"""

from __future__ import annotations

import ctypes
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

from studio.core.diagnostics import StudioError
from studio.runtime import workers
from studio.runtime.forkserver import ForkServer, ForkServerError
from studio.runtime.protocol import Finished, Started
from studio.runtime.spawnserver import SpawnServer, SpawnServerError
from studio.runtime.spawnserver_proc import JobLimits, Slot, next_deadline
from tests import test_runtime_forkserver as forked
from tests.test_runtime_forkserver import alive, assert_no_children, fifo_wait, wait_finished

PREPARE = forked.PREPARE
TASK = "tests.test_runtime_spawnserver:task"
_COUNTER = {"tries": 0}


def task(request: dict[str, Any]) -> Any:
    if request.get("do") == "count":
        _COUNTER["tries"] += 1
        return {"tries": _COUNTER["tries"], "cmdline": psutil.Process().cmdline()}
    return forked.task(request)


@pytest.fixture
def make_pool() -> Iterator[Any]:
    pools: list[SpawnServer] = []

    def make(payload: dict[str, Any] | None = None, **options: Any) -> SpawnServer:
        pool = SpawnServer(PREPARE, TASK, **options)
        pools.append(pool)
        pool.start(payload or {})
        return pool

    yield make
    for pool in pools:
        pool.close()
    assert_no_children()


@pytest.fixture
def pool(make_pool: Any) -> SpawnServer:
    return make_pool()


def test_what_prepare_prints_goes_to_stderr_once_not_stdout() -> None:
    script = (
        "from studio.runtime.spawnserver import SpawnServer\n"
        f"pool = SpawnServer({PREPARE!r}, {TASK!r})\n"
        "pool.start({})\n"
        "for key in ('a', 'b', 'c'):\n"
        "    pool.launch(key, {'do': 'count'}, '/dev/null')\n"
        "    while pool.running:\n"
        "        pool.events(None)\n"
        "pool.close()\n"
        "print('{}')\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "{}\n", "prepare ran\n")


def test_start_returns_what_prepare_returned_in_a_spawned_worker(pool: SpawnServer) -> None:
    assert pool.prepared is not None and pool.prepared["echo"] == {}
    worker = psutil.Process(pool.prepared["prepared_in"])
    assert worker.ppid() == os.getpid() == pool.pid
    assert "studio.runtime.spawnserver_worker" in worker.cmdline()  # spawned, not forked


def test_begin_then_wait_ready_lets_the_caller_work_while_prepare_runs(tmp_path: Path) -> None:
    with SpawnServer(PREPARE, TASK) as pool:
        pool.begin({"n": 1})
        with pytest.raises(SpawnServerError, match="already"):
            pool.begin({})
        pool.launch("early", {"value": 1}, tmp_path / "early.log")  # waits for the first worker
        prepared = pool.wait_ready(60)
        assert prepared["echo"] == {"n": 1} and pool.wait_ready() is prepared
        assert wait_finished(pool, "early")["early"].result["value"] == 1  # type: ignore[arg-type,index]
    assert_no_children()


def test_prepare_exception_becomes_an_error_with_the_remote_traceback() -> None:
    pool = SpawnServer(PREPARE, TASK)
    with pytest.raises(ForkServerError, match="prepare failed") as info:
        pool.start({"fail": True})
    assert isinstance(info.value, SpawnServerError)
    assert "ZeroDivisionError: prepare exploded on purpose" in str(info.value)
    assert "Traceback" in str(info.value)
    pool.close()
    assert_no_children()


def test_a_worker_that_crashes_or_hangs_in_prepare_is_an_error() -> None:
    pool = SpawnServer(PREPARE, TASK)
    with pytest.raises(SpawnServerError, match="killed by signal 11"):
        pool.start({"segfault": True})
    pool.close()
    pool = SpawnServer(PREPARE, TASK)
    with pytest.raises(SpawnServerError, match=r"did not finish within 0\.2 s"):
        pool.start({"hang": True}, timeout=0.2)
    assert_no_children()


def test_prepare_result_that_is_not_json_is_an_error() -> None:
    pool = SpawnServer(PREPARE, TASK)
    with pytest.raises(SpawnServerError, match="TypeError"):
        pool.start({"not_json": True})
    assert_no_children()


def test_a_pool_started_from_another_thread_works(tmp_path: Path) -> None:
    outcome: dict[str, Any] = {}

    def in_thread() -> None:
        with SpawnServer(PREPARE, TASK) as pool:
            pool.start({})
            pool.launch("t", {"value": 7}, tmp_path / "t.log")
            outcome.update(wait_finished(pool, "t"))  # type: ignore[arg-type]

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join(60)
    assert outcome["t"].ok and outcome["t"].result["value"] == 7
    assert_no_children()


def test_a_try_runs_in_its_own_session_and_its_output_goes_to_the_log(pool: SpawnServer, tmp_path: Path) -> None:
    log = tmp_path / "logs" / "attempt=1.log"
    pool.launch("t1", {"value": [1, "a"], "text": "first line"}, log)
    events = pool.events(30)
    assert isinstance(events[0], Started) and events[0].key == "t1"
    ended = [e for e in events if isinstance(e, Finished)]  # a quick try may end in the same batch
    finished = ended[0] if ended else wait_finished(pool, "t1")["t1"]  # type: ignore[arg-type]
    pid = events[0].pid
    assert finished == Finished("t1", pid, 0, None, finished.result)
    assert finished.result == {"value": [1, "a"], "pid": pid, "pgid": pid, "sid": pid, "ppid": os.getpid(),
                               "stdin": ""}  # fmt: skip
    assert log.read_text() == "first line\nto stderr\n"
    pool.launch("t1", {"text": "second try"}, log)  # the same key again once finished; the log appends
    again = wait_finished(pool, "t1")["t1"]  # type: ignore[arg-type]
    assert log.read_text() == "first line\nto stderr\nsecond try\nto stderr\n"
    assert again.pid != pid and not alive(pid)  # each try gets a fresh worker; the used one is retired


def test_module_state_of_one_try_never_reaches_the_next(pool: SpawnServer, tmp_path: Path) -> None:
    counts = []
    for i in range(3):
        pool.launch(f"c{i}", {"do": "count"}, tmp_path / f"c{i}.log")
        counts.append(wait_finished(pool, f"c{i}")[f"c{i}"].result["tries"])  # type: ignore[arg-type,index]
    assert counts == [1, 1, 1]


def test_an_exception_in_run_is_a_failed_try_with_the_traceback_in_its_log(pool: SpawnServer, tmp_path: Path) -> None:
    for key, request in {"raise": {"do": "raise"}, "not_dict": {"do": "not_dict"}}.items():
        pool.launch(key, request, tmp_path / f"{key}.log")
    done = wait_finished(pool, ["raise", "not_dict"])  # type: ignore[arg-type]
    assert (done["raise"].exit_code, done["raise"].result) == (1, None)
    assert "ValueError: task exploded on purpose" in (tmp_path / "raise.log").read_text()
    assert (done["not_dict"].exit_code, done["not_dict"].result) == (1, None)
    assert "run() must return a dict, not list" in (tmp_path / "not_dict.log").read_text()


def test_a_large_result_and_exit_codes_arrive_whole(pool: SpawnServer, tmp_path: Path) -> None:
    pool.launch("big", {"do": "big", "size": 5_000_000}, tmp_path / "big.log")
    pool.launch("a", {"do": "sys_exit", "code": 4}, tmp_path / "a.log")
    pool.launch("b", {"do": "sys_exit", "code": None}, tmp_path / "b.log")
    done = wait_finished(pool, ["big", "a", "b"])  # type: ignore[arg-type]
    assert done["big"].ok and done["big"].result == {"blob": "b" * 5_000_000}
    assert (done["a"].exit_code, done["a"].result, done["b"].exit_code, done["b"].ok) == (4, None, 0, False)


def test_the_pool_grows_with_parallel_launches_each_in_its_own_group(pool: SpawnServer, tmp_path: Path) -> None:
    keys = [f"task_{i}" for i in range(12)]
    for i, key in enumerate(keys):
        pool.launch(key, {"value": i}, tmp_path / f"{key}.log")
    assert set(pool.running) == set(keys)
    done = wait_finished(pool, keys)  # type: ignore[arg-type]
    assert [done[k].result["value"] for k in keys] == list(range(12))  # type: ignore[index]
    assert len({done[k].pid for k in keys}) == 12
    assert all(done[k].result["pgid"] == done[k].result["sid"] == done[k].pid for k in keys)  # type: ignore[index]
    assert pool.running == {}


def test_cancel_terminates_the_worker_group_and_is_reported(pool: SpawnServer, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    pool.launch("sleepy", {"do": "block", "fifo": str(fifo)}, tmp_path / "sleepy.log")
    pid = fifo_wait(fifo)["pid"]
    pool.cancel("sleepy")
    finished = wait_finished(pool, "sleepy")["sleepy"]  # type: ignore[arg-type]
    assert (finished.pid, finished.signal, finished.exit_code) == (pid, signal.SIGTERM, None)
    assert finished.cancelled and not finished.timed_out and finished.result is None
    pool.cancel("sleepy")  # finished: ignored
    pool.cancel("never-launched")
    assert pool.events(0) == []


def test_cancel_right_after_launch_still_kills_the_worker(make_pool: Any, tmp_path: Path) -> None:
    pool = make_pool(kill_grace=0.2)
    pool.launch("early", {"do": "block", "ignore_term": True}, tmp_path / "early.log")
    pool.cancel("early")
    finished = wait_finished(pool, "early")["early"]
    assert finished.cancelled and finished.signal in (signal.SIGTERM, signal.SIGKILL)


def test_a_try_cancelled_while_its_worker_warms_never_starts(pool: SpawnServer, tmp_path: Path) -> None:
    pool.launch("first", {"do": "block"}, tmp_path / "first.log")  # takes the warm worker
    pool.launch("second", {}, tmp_path / "second.log")  # goes to the spare, still importing
    pool.cancel("second")
    second = wait_finished(pool, "second")["second"]  # type: ignore[arg-type]
    assert (second.pid, second.cancelled, second.result, second.error) == (0, True, None, "cancelled before it started")
    pool.launch("third", {"value": 3}, tmp_path / "third.log")  # the spare is still usable
    third = wait_finished(pool, "third")["third"]  # type: ignore[arg-type]
    assert third.result["value"] == 3 and not third.cancelled  # type: ignore[index]
    pool.cancel("first")
    assert wait_finished(pool, "first")["first"].cancelled  # type: ignore[arg-type]


def test_launch_rejects_a_running_key_and_bad_arguments(pool: SpawnServer, tmp_path: Path) -> None:
    pool.launch("same", {"do": "block"}, tmp_path / "same.log")
    with pytest.raises(ValueError, match="still running"):
        pool.launch("same", {}, tmp_path / "same.log")
    with pytest.raises(ValueError, match="positive"):
        pool.launch("other", {}, tmp_path / "other.log", timeout=0)
    with pytest.raises(TypeError):
        pool.launch("other", {"value": object()}, tmp_path / "other.log")
    assert set(pool.running) == {"same"}


def test_an_unwritable_log_path_is_a_finished_event_with_an_error(pool: SpawnServer, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    pool.launch("bad", {}, tmp_path / "file" / "x.log")
    finished = wait_finished(pool, "bad")["bad"]  # type: ignore[arg-type]
    assert (finished.pid, finished.exit_code, finished.result) == (0, None, None)
    assert "cannot start the worker" in (finished.error or "")


def test_events_times_out_empty_and_fileno_works_in_a_selector(pool: SpawnServer, tmp_path: Path) -> None:
    start = time.monotonic()
    assert pool.events(0.05) == []
    assert time.monotonic() - start >= 0.05
    pool.launch("sel", {"do": "count"}, tmp_path / "sel.log")
    seen: list[Any] = []
    with selectors.DefaultSelector() as sel:
        sel.register(pool.fileno(), selectors.EVENT_READ)
        while not any(isinstance(e, Finished) for e in seen):
            assert sel.select(30), "the wake-up socket never became readable"
            seen += pool.events(0)
    assert [type(e) for e in seen] == [Started, Finished] and seen[1].ok


def test_small_log_cap_keeps_the_first_bytes_and_adds_one_note(make_pool: Any, tmp_path: Path) -> None:
    pool = make_pool(log_cap_bytes=2048)
    log = tmp_path / "capped.log"
    pool.launch("p", {"do": "print", "text": "y" * 5000}, log)
    finished = wait_finished(pool, "p")["p"]
    assert finished.ok and finished.log_dropped == 5000 - 2048
    assert log.read_text() == "y" * 2048 + "\n[dagstudio] log capped at 2 KiB; 2952 bytes dropped\n"


def test_close_is_idempotent_and_later_calls_fail_clearly(tmp_path: Path) -> None:
    pool = SpawnServer(PREPARE, TASK)
    with pytest.raises(SpawnServerError, match="start"):
        pool.launch("x", {}, tmp_path / "x.log")
    pool.start({})
    worker = pool.prepared["prepared_in"]  # type: ignore[index]
    pool.close()
    pool.close()
    assert not alive(worker)
    with pytest.raises(SpawnServerError, match="not running"):
        pool.launch("x", {}, tmp_path / "x.log")
    with pytest.raises(SpawnServerError):
        pool.start({})


def test_executor_selection_by_platform_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert workers.executor_kind({}) == "fork"  # Linux has fork
    assert workers.executor_kind({"DAGSTUDIO_EXECUTOR": " Spawn "}) == "spawn"
    assert isinstance(workers.executor_for(PREPARE, TASK, environ={"DAGSTUDIO_EXECUTOR": "spawn"}), SpawnServer)
    assert isinstance(workers.executor_for(PREPARE, TASK, environ={"DAGSTUDIO_EXECUTOR": "fork"}), ForkServer)
    with pytest.raises(StudioError, match="DAGSTUDIO_EXECUTOR must be one of fork, spawn"):
        workers.executor_kind({"DAGSTUDIO_EXECUTOR": "thread"})
    monkeypatch.setattr(workers.sys, "platform", "win32")  # what Windows gets
    assert workers.executor_kind({}) == "spawn"
    with pytest.raises(StudioError, match=r"no os\.fork"):
        workers.executor_kind({"DAGSTUDIO_EXECUTOR": "fork"})
    monkeypatch.setenv("DAGSTUDIO_EXECUTOR", "spawn")
    monkeypatch.setattr(workers.sys, "platform", "linux")
    assert isinstance(workers.executor_for(PREPARE, TASK, kill_grace=1.0), SpawnServer)


def test_the_windows_job_limits_structure_has_the_documented_size() -> None:
    if ctypes.sizeof(ctypes.c_void_p) != 8:
        pytest.skip("the documented size is the 64-bit one")
    assert ctypes.sizeof(JobLimits) == 144  # sizeof(JOBOBJECT_EXTENDED_LIMIT_INFORMATION) on x64


class _Signals:
    """Records what ``next_deadline`` sends (the decision logic, without processes or sleeping)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def kill(self) -> None:
        self.sent.append("kill")


def test_deadlines_with_an_injected_clock_term_then_kill_after_the_grace() -> None:
    grace = 5.0
    slot, idle = Slot(_Signals(), state="busy", deadline=10.0), Slot(_Signals(), deadline=1.0)  # type: ignore[arg-type]

    def terminate(s: Slot) -> None:
        s.proc.sent.append("term")  # type: ignore[attr-defined]
        s.kill_at = 12.0 + grace

    assert next_deadline([slot, idle], 9.0, terminate) == 10.0  # nothing due; an idle worker has no deadline
    assert next_deadline([slot, idle], 12.0, terminate) == 17.0  # timed out: SIGTERM now, SIGKILL at 17
    assert slot.timed_out and slot.proc.sent == ["term"]  # type: ignore[attr-defined]
    assert next_deadline([slot], 16.9, terminate) == 17.0
    assert next_deadline([slot], 17.0, terminate) is None
    assert slot.proc.sent == ["term", "kill"] and idle.proc.sent == []  # type: ignore[attr-defined]
