"""One process of the spawn pool, platform by platform: spawn it, signal its group, wait until all of it is gone.

:class:`PoolProcess` starts ``python -m studio.runtime.spawnserver_worker`` with ``subprocess.Popen`` (no
fork anywhere) and three pipes as its standard streams. On POSIX the worker leads its own session and
process group (``start_new_session=True``): ``terminate`` sends SIGTERM to the group, ``kill`` SIGKILL,
and when the worker ends the rest of its group is killed and awaited. On Windows the worker gets its own
process group (``CREATE_NEW_PROCESS_GROUP``, no console window) and is put into a Job object that kills
every process in it when the job is terminated or its handle closes (the engine dying included);
Windows has no SIGTERM, so ``terminate`` and ``kill`` both end the job at once (no grace period).

Three daemon threads per process: two copy its pipes (``on_output`` receives what the try writes to
stdout and stderr, ``on_frame`` the first frame it sends: ``ready``/``prepare_error``), one waits for its
end and calls ``on_exit`` once, last, with ``(exit_code, signal, result_frame_or_None)`` when the worker
and its whole group are gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import queue
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from studio.runtime.procs import CappedLog, group_exists, signal_group
from studio.runtime.protocol import MessageReader, ProtocolError, encode

WINDOWS = sys.platform == "win32"
WORKER_MODULE = "studio.runtime.spawnserver_worker"
_SETTLE_RECHECK = 0.005  # the rest of a group dies within microseconds of SIGKILL; re-check this often
_SETTLE_LIMIT = 30.0  # a member stuck in the kernel (D state) for longer than this is given up on
_OUTPUT_LIMIT = 2.0  # seconds to wait for the end of the pipes once the whole group is gone


def worker_command() -> list[str]:
    """The command line of a pool worker (``sys.executable -m …``)."""
    return [sys.executable, "-m", WORKER_MODULE]


def package_root() -> str:
    """The folder that holds the ``studio`` package: a worker starts there, so ``-m`` finds it even in a
    checkout that is not installed (it then moves to the pool's working directory, see the worker)."""
    import studio

    return os.path.dirname(os.path.dirname(os.path.abspath(studio.__file__)))


class PoolProcess:
    """One spawned worker and the threads that read its pipes. See the module docstring."""

    def __init__(
        self,
        on_output: Callable[[PoolProcess, bytes], None],
        on_frame: Callable[[PoolProcess, dict[str, Any]], None],
        on_exit: Callable[[PoolProcess, int | None, int | None, dict[str, Any] | None], None],
    ) -> None:
        options: dict[str, Any] = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE,
                                   "stderr": subprocess.PIPE, "bufsize": 0, "close_fds": True}  # fmt: skip
        if WINDOWS:
            options["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.CREATE_NO_WINDOW
        else:
            options["start_new_session"] = True
        self.proc = subprocess.Popen(worker_command(), cwd=package_root(), **options)
        self.pid = self.proc.pid
        self.job = _Job.around(self.proc) if WINDOWS else None
        self._on_output, self._on_frame, self._on_exit = on_output, on_frame, on_exit
        self._lock = threading.Lock()
        self._exited = False
        self._ended_by: int | None = None  # Windows: the signal we stand for when we ended the job
        self._out_done, self._res_done = threading.Event(), threading.Event()
        self._frames: list[dict[str, Any]] = []
        self.tag: Any = None  # the owner's record of this worker (set before ``watch``)

    def watch(self) -> None:
        """Start the threads that read the worker's pipes and await its end (once the owner can map the
        callbacks to this process)."""
        for target, name in ((self._copy_output, "out"), (self._read_frames, "res"), (self._wait, "wait")):
            threading.Thread(target=target, name=f"dagstudio-spawn-{self.pid}-{name}", daemon=True).start()

    # -- control -----------------------------------------------------------------------------------------
    def send(self, message: dict[str, Any]) -> bool:
        """Write one frame to the worker's control pipe; False if it is gone."""
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(encode(message))
        except (OSError, ValueError):
            return False
        return True

    def close_control(self) -> None:
        """Close the control pipe: an idle worker exits, a busy one kills its group (its watchdog)."""
        with contextlib.suppress(OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()

    def terminate(self) -> None:
        """SIGTERM to the worker's process group (Windows: end its job); a no-op once it has exited."""
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL to the worker's process group (Windows: end its job); a no-op once it has exited."""
        self._signal(getattr(signal, "SIGKILL", signal.SIGTERM))

    def _signal(self, sig: int) -> None:
        with self._lock:
            if self._exited:
                return  # its pid (and group id) may belong to someone else by now
            if WINDOWS:
                self._ended_by = self._ended_by or int(sig)
                self._end_job()
            else:
                signal_group(self.pid, sig)

    def _end_job(self) -> None:
        if self.job is None or not self.job.terminate():
            with contextlib.suppress(OSError):
                self.proc.kill()

    # -- threads -----------------------------------------------------------------------------------------
    def _copy_output(self) -> None:
        assert self.proc.stderr is not None
        fd = self.proc.stderr.fileno()
        try:
            while chunk := os.read(fd, 1 << 16):
                self._on_output(self, chunk)
        except OSError:
            pass
        finally:
            self._out_done.set()

    def _read_frames(self) -> None:
        assert self.proc.stdout is not None
        fd, reader = self.proc.stdout.fileno(), MessageReader()
        try:
            while chunk := os.read(fd, 1 << 20):
                for frame in reader.feed(chunk):
                    self._frames.append(frame)
                    if len(self._frames) == 1:
                        self._on_frame(self, frame)
        except (OSError, ProtocolError):
            pass
        finally:
            self._res_done.set()

    def _wait(self) -> None:
        """The pipes end only once every process holding them is gone (what the task forks inherits them),
        so the worker's end is awaited here; then the rest of its group is killed, then the pipes drained."""
        exit_code, sig = self._wait_gone()
        self._res_done.wait(_OUTPUT_LIMIT)  # only a process that escaped the group can hold a pipe open
        self._out_done.wait(_OUTPUT_LIMIT)
        for stream, done in ((self.proc.stdin, True), (self.proc.stdout, self._res_done.is_set()),
                             (self.proc.stderr, self._out_done.is_set())):  # fmt: skip
            if stream is not None and done:  # a pipe still being read (held by an escapee) stays open
                with contextlib.suppress(OSError, ValueError):
                    stream.close()
        result = self._frames[1] if len(self._frames) > 1 else None
        self._on_exit(self, exit_code, sig, result)

    def _wait_gone(self) -> tuple[int | None, int | None]:
        """Wait for the worker, kill what is left of its group, wait for that too: ``(exit_code, signal)``."""
        if WINDOWS:
            code = self.proc.wait()
            with self._lock:
                self._exited = True
                self._end_job()  # the job stays open until here, so its members are all still reachable
            if self.job is not None:
                self.job.close()
            return (None, self._ended_by) if self._ended_by else (code, None)
        if hasattr(os, "waitid"):  # wait without reaping: the zombie keeps the pid (the group id) ours
            with contextlib.suppress(ChildProcessError):
                os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT)
        with self._lock:
            self._exited = True
            signal_group(self.pid, signal.SIGKILL)
        code = self.proc.wait()
        deadline = time.monotonic() + _SETTLE_LIMIT
        while group_exists(self.pid) and time.monotonic() < deadline:
            time.sleep(_SETTLE_RECHECK)  # in this background thread only; members are orphans init reaps
        return (None, -code) if code < 0 else (code, None)


@dataclass(eq=False)
class Slot:
    """One pool worker and the try it runs (if any); the owner guards the fields with its lock (the log
    with ``log_lock``, as the output thread writes to it)."""

    proc: PoolProcess
    first: bool = False
    state: str = "warming"  # warming → ready → busy → gone (or warming → failed → gone)
    prepared: Any = None
    prepared_ok: bool = False  # its ``ready`` frame came
    failure: str | None = None
    key: str | None = None
    launch: dict[str, Any] | None = None
    timeout: float | None = None
    started: bool = False
    deadline: float | None = None
    kill_at: float | None = None
    timed_out: bool = False
    cancelled: bool = False
    log: CappedLog | None = None
    log_lock: threading.Lock = field(default_factory=threading.Lock)

    def write_log(self, chunk: bytes) -> bool:
        """Append output to the try's log (the output thread); False if there is no log (yet)."""
        with self.log_lock:
            if self.log is None:
                return False
            self.log.write(chunk)
            return True

    def close_log(self) -> int:
        """Close the try's log (with the cap note); the number of bytes dropped (0 without a log)."""
        with self.log_lock:
            log, self.log = self.log, None
        if log is None:
            return 0
        with contextlib.suppress(OSError):
            log.close()
        return log.dropped


def next_deadline(slots: list[Slot], now: float, terminate: Callable[[Slot], None]) -> float | None:
    """Act on the deadlines that passed (a timeout: ``terminate``; a grace period: SIGKILL); return the
    earliest one still ahead (None: none)."""
    ahead: list[float] = []
    for slot in slots:
        if slot.state != "busy":
            continue
        if slot.kill_at is not None:
            if now >= slot.kill_at:
                slot.proc.kill()
            else:
                ahead.append(slot.kill_at)
        elif slot.deadline is not None:
            if now >= slot.deadline:
                slot.timed_out = True
                terminate(slot)  # sets kill_at
                ahead += [slot.kill_at] if slot.kill_at is not None else []
            else:
                ahead.append(slot.deadline)
    return min(ahead, default=None)


class Inbox:
    """What the worker threads report, for the owner's thread: a queue plus a wake-up socket pair, so the
    owner blocks in a selector (or puts :meth:`fileno` into its own) instead of polling."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._read, self._write = socket.socketpair()
        for sock in (self._read, self._write):
            sock.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._read, selectors.EVENT_READ)

    def fileno(self) -> int:
        """Readable when something was put (or :meth:`wake` was called) since the last :meth:`take`."""
        return self._read.fileno()

    def put(self, item: Any) -> None:
        """Hand ``item`` to the owner (any thread)."""
        self._queue.put(item)
        self.wake()

    def wake(self) -> None:
        with contextlib.suppress(OSError):  # the buffer is full: it is readable already
            self._write.send(b"\0")

    def take(self) -> list[Any]:
        """Everything put so far (the wake-up bytes first, so a later ``put`` wakes the owner again)."""
        with contextlib.suppress(OSError):
            while self._read.recv(4096):
                pass
        items = []
        with contextlib.suppress(queue.Empty):
            while True:
                items.append(self._queue.get_nowait())
        return items

    def wait(self, timeout: float | None) -> None:
        """Block until woken or ``timeout`` seconds passed."""
        self._selector.select(timeout)

    def close(self) -> None:
        self._selector.close()
        self._read.close()
        self._write.close()


class _Job:
    """A Windows Job object that kills its processes when terminated or when its last handle closes."""

    _KILL_ON_JOB_CLOSE = 0x2000
    _EXTENDED_LIMIT_INFORMATION = 9

    def __init__(self, handle: int, kernel32: Any) -> None:
        self.handle, self._k32 = handle, kernel32

    @classmethod
    def around(cls, proc: subprocess.Popen[bytes]) -> _Job | None:
        """A job holding ``proc`` (and, later, everything it starts); None if Windows refused."""
        try:
            k32: Any = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
            k32.CreateJobObjectW.restype = ctypes.c_void_p
            k32.CreateJobObjectW.argtypes = (ctypes.c_void_p, ctypes.c_wchar_p)
            k32.SetInformationJobObject.argtypes = (ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32)
            k32.AssignProcessToJobObject.argtypes = (ctypes.c_void_p, ctypes.c_void_p)
            k32.TerminateJobObject.argtypes = (ctypes.c_void_p, ctypes.c_uint)
            k32.CloseHandle.argtypes = (ctypes.c_void_p,)
            handle = k32.CreateJobObjectW(None, None)
            if not handle:
                return None
            info = JobLimits()
            info.basic.limit_flags = cls._KILL_ON_JOB_CLOSE
            job = cls(handle, k32)
            size = ctypes.sizeof(info)
            if not k32.SetInformationJobObject(handle, cls._EXTENDED_LIMIT_INFORMATION, ctypes.byref(info), size) or (
                not k32.AssignProcessToJobObject(handle, int(proc._handle))  # type: ignore[attr-defined]
            ):
                job.close()
                return None
            return job
        except (OSError, AttributeError):
            return None

    def terminate(self) -> bool:
        """Kill every process in the job (exit code 1); False if that failed."""
        return bool(self.handle) and bool(self._k32.TerminateJobObject(self.handle, 1))

    def close(self) -> None:
        if self.handle:
            self._k32.CloseHandle(self.handle)
            self.handle = 0


class _BasicLimits(ctypes.Structure):
    _fields_ = [("per_process_user_time_limit", ctypes.c_int64), ("per_job_user_time_limit", ctypes.c_int64),
                ("limit_flags", ctypes.c_uint32), ("minimum_working_set_size", ctypes.c_size_t),
                ("maximum_working_set_size", ctypes.c_size_t), ("active_process_limit", ctypes.c_uint32),
                ("affinity", ctypes.c_size_t), ("priority_class", ctypes.c_uint32),
                ("scheduling_class", ctypes.c_uint32)]  # fmt: skip


class JobLimits(ctypes.Structure):
    """``JOBOBJECT_EXTENDED_LIMIT_INFORMATION`` (144 bytes on 64-bit Windows)."""

    _fields_ = [("basic", _BasicLimits), ("io_counters", ctypes.c_uint64 * 6),
                ("process_memory_limit", ctypes.c_size_t), ("job_memory_limit", ctypes.c_size_t),
                ("peak_process_memory_used", ctypes.c_size_t), ("peak_job_memory_used", ctypes.c_size_t)]  # fmt: skip
