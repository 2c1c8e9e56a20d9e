"""Process helpers of the fork server: process groups, child reaping, the capped log, the worker's own body.

Mostly POSIX (the fork server is); the spawn pool (``spawnserver``, also on Windows) uses only the
platform-neutral parts: importing this module, :class:`CappedLog`, :func:`format_size`, and
:func:`signal_group`/:func:`group_exists` on POSIX only. Each worker is the leader of its own
session and process group (``os.setsid``), so one ``killpg`` reaches the task and everything it started.
On Linux the fork server is additionally a *child subreaper*: processes orphaned by a worker (a daemon that
left the group with its own ``setsid``) are re-parented to the fork server instead of init, so it can find
them (:func:`child_pids`), kill them and reap them. Workers get ``PR_SET_PDEATHSIG`` so they die with a
fork server that is killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import faulthandler
import io
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

from studio.runtime.protocol import MessageReader, ProtocolError, encode

_O_PLATFORM = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)  # Windows: no CLOEXEC; bytes, not text
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_libc: Any = None


def _prctl(option: int, value: int) -> bool:
    global _libc
    if not sys.platform.startswith("linux"):
        return False
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc.prctl(option, value, 0, 0, 0) == 0


def set_child_subreaper() -> bool:
    """Make this process adopt its orphaned descendants (Linux); False where unsupported."""
    return _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def set_parent_death_signal(sig: int) -> bool:
    """Have the kernel send ``sig`` to this process when its parent dies (Linux); False where unsupported."""
    return _prctl(_PR_SET_PDEATHSIG, sig)


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to process group ``pgid``; False if the group no longer exists."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member changed its credentials; the others still got the signal
        return True
    return True


def group_exists(pgid: int) -> bool:
    """Whether any process (zombies included) is still in process group ``pgid``."""
    return signal_group(pgid, 0)


def wait_status(status: int) -> tuple[int | None, int | None]:
    """``(exit_code, signal)`` of a ``waitpid`` status: one of them is ``None``."""
    if os.WIFSIGNALED(status):
        return None, os.WTERMSIG(status)
    return os.waitstatus_to_exitcode(status), None


def child_pids(pid: int) -> list[int]:
    """The direct children of ``pid`` (Linux ``/proc``; psutil elsewhere)."""
    path = f"/proc/{pid}/task/{pid}/children"
    try:
        with open(path, "rb") as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        import psutil

        try:
            return [child.pid for child in psutil.Process(pid).children()]
        except psutil.Error:
            return []


def kill_orphan(pid: int, spare_sessions: Iterable[int]) -> int | None:
    """SIGKILL an orphan the fork server adopted, and its process group; return that group (or None).

    An orphan in the session of a worker that is still running belongs to that task (a background job of
    a shell) and is spared until its worker ends.
    """
    try:
        sid, pgid = os.getsid(pid), os.getpgid(pid)
    except (ProcessLookupError, PermissionError):
        return None
    if sid in set(spare_sessions):
        return None
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)
    if pgid != os.getpgrp():
        signal_group(pgid, signal.SIGKILL)
        return pgid
    return None


def format_size(size: int) -> str:
    """``52428800`` → ``"50 MiB"``; exact MiB/KiB where possible, else bytes."""
    if size and size % 2**20 == 0:
        return f"{size // 2**20} MiB"
    if size and size % 2**10 == 0:
        return f"{size // 2**10} KiB"
    return f"{size} bytes"


class CappedLog:
    """The log file of one try: appends what the worker writes, up to ``cap`` bytes, then counts the rest."""

    def __init__(self, path: str, cap: int) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | _O_PLATFORM, 0o644)
        self.cap = cap
        self.written = 0
        self.dropped = 0
        self._last = b"\n"

    def write(self, data: bytes) -> None:
        room = self.cap - self.written
        if room < len(data):
            self.dropped += len(data) - max(room, 0)
            data = data[: max(room, 0)]
        view = memoryview(data)
        while view:
            count = os.write(self.fd, view)
            view = view[count:]
        if data:
            self.written += len(data)
            self._last = data[-1:]

    def close(self) -> None:
        """Write the note about dropped output (if any) and close the file."""
        try:
            if self.dropped:
                lead = b"" if self._last == b"\n" else b"\n"
                note = f"[dagstudio] log capped at {format_size(self.cap)}; {self.dropped} bytes dropped\n"
                os.write(self.fd, lead + note.encode())
        finally:
            os.close(self.fd)


def _text_stream(fd: int) -> io.TextIOWrapper:
    raw = io.FileIO(fd, "w", closefd=False)
    return io.TextIOWrapper(raw, encoding="utf-8", errors="backslashreplace", line_buffering=True)


def worker_setup(out_fd: int, close_fds: Iterable[int], server_pid: int, signal_mask: Iterable[int] = ()) -> None:
    """Make a freshly forked child a worker: its own session and process group, the parent-death signal,
    default signal handlers, stdin from /dev/null, stdout/stderr into ``out_fd``, no fd of the server."""
    os.setsid()
    set_parent_death_signal(signal.SIGKILL)
    if os.getppid() != server_pid:  # the fork server died before the line above
        os._exit(1)
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_SETMASK, signal_mask)  # the fork server blocked signals around fork
    for fd in close_fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    if out_fd > 2:
        os.close(out_fd)
    from studio.sdk.masking import MaskingStream  # here: the engine process that imports this module needs no sdk

    sys.stdout = sys.__stdout__ = MaskingStream(_text_stream(1))  # secrets registered by the task become ***
    sys.stderr = sys.__stderr__ = MaskingStream(_text_stream(2))
    faulthandler.enable(sys.stderr)


def worker_run(run: Callable[[dict[str, Any]], Any], request: dict[str, Any], result_fd: int,
               rlimit_as: int | None) -> NoReturn:  # fmt: skip
    """Run ``run(request)`` in a set-up worker and end the process; never returns (``os._exit``, so no
    atexit handlers run and no buffer inherited from the fork server is flushed a second time).

    The end is ordered for the fork server: stdout/stderr are flushed and closed first, then the result
    frame is written and its pipe closed. So when both pipes are at their end the log is complete and the
    result is known while the process is still tearing down its address space (see ``forkserver_loop``);
    a result is only ever written by a try that returned normally (exit code 0)."""
    code, payload = 1, b""
    try:
        if rlimit_as:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (rlimit_as, rlimit_as))
        result = run(request)
        if not isinstance(result, dict):
            raise TypeError(f"run() must return a dict, not {type(result).__name__}")
        payload = encode(result)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        with contextlib.suppress(BaseException):
            traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        with contextlib.suppress(BaseException):
            faulthandler.disable()
            os.close(1)
            os.close(2)
        with contextlib.suppress(BaseException):
            view = memoryview(payload)
            while view:
                view = view[os.write(result_fd, view) :]
            os.close(result_fd)
        os._exit(code)


def _quietly(function: Callable[[], Any]) -> None:
    """Call ``function`` with stdout/stderr pointed at /dev/null, ignoring any error."""
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        with contextlib.suppress(BaseException):
            function()
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def worker_main(
    run: Callable[[dict[str, Any]], Any],
    request: dict[str, Any],
    out_fd: int,
    result_fd: int,
    close_fds: Iterable[int],
    rlimit_as: int | None,
    server_pid: int,
    signal_mask: Iterable[int] = (),
) -> NoReturn:
    """The body of a worker forked for a known request: set up, run, exit."""
    try:
        worker_setup(out_fd, close_fds, server_pid, signal_mask)
    except BaseException:
        with contextlib.suppress(BaseException):
            traceback.print_exc()
        os._exit(1)
    worker_run(run, request, result_fd, rlimit_as)


def spare_main(
    run: Callable[[dict[str, Any]], Any],
    assign_fd: int,
    out_fd: int,
    result_fd: int,
    close_fds: Iterable[int],
    server_pid: int,
    signal_mask: Iterable[int] = (),
    warm: Callable[[], Any] | None = None,
) -> NoReturn:
    """The body of a *spare* worker, forked before its request is known: set up, ``warm()`` (output
    discarded, errors ignored), then block until the fork server writes ``{"request", "rlimit_as"}`` into
    ``assign_fd``, and run it. The end of that pipe without a request (the server retires the spare) ends
    the process quietly."""
    try:
        worker_setup(out_fd, close_fds, server_pid, signal_mask)
        if warm is not None:
            _quietly(warm)
        reader = MessageReader()
        messages: list[dict[str, Any]] = []
        while not messages:
            chunk = os.read(assign_fd, 1 << 16)
            if not chunk:
                os._exit(0)
            messages = reader.feed(chunk)
        os.close(assign_fd)
    except BaseException:
        with contextlib.suppress(BaseException):
            traceback.print_exc()
        os._exit(1)
    worker_run(run, messages[0].get("request") or {}, result_fd, messages[0].get("rlimit_as"))


def read_available(fd: int, limit: int = 1 << 22, size: int = 1 << 16) -> tuple[list[bytes], bool]:
    """Read a non-blocking fd until it would block or ``limit`` bytes came: ``(chunks, reached_eof)``."""
    chunks: list[bytes] = []
    total = 0
    while total < limit:
        try:
            chunk = os.read(fd, size)
        except BlockingIOError:
            return chunks, False
        except OSError as exc:
            if exc.errno == errno.EINTR:
                continue
            return chunks, True
        if not chunk:
            return chunks, True
        chunks.append(chunk)
        total += len(chunk)
    return chunks, False


def decode_result(data: bytes) -> dict[str, Any] | None:
    """The result frame a worker wrote, or None if it is missing or incomplete."""
    try:
        messages = MessageReader().feed(data)
    except ProtocolError:
        return None
    return messages[0] if messages else None
