"""The fork server: a warm parent that forks one isolated worker process per task try.

``ForkServer.start(payload)`` forks a small server process from the caller (do it *before* the caller
imports heavy modules such as SQLAlchemy: a small parent forks fast and shares its pages). The server
imports the ``prepare`` function ("module:function"), calls ``prepare(payload)`` once (the sdk imports the
DAG file there and returns its description) and then forks a worker per ``launch``. A worker is the leader
of its own session and process group, writes stdout/stderr into a pipe that the server copies into the
try's log file (capped: beyond ``log_cap_bytes`` the output is dropped and one note line says how much),
calls ``run(request)`` and sends the returned dict over a result pipe just before ``os._exit``. The
optional ``warm`` function runs in each spare worker (forked ahead of need) before its request arrives,
to fault in, off the critical path, the copy-on-write pages a try is about to touch; it must have no
side effects (its output is discarded). The
server's own output (what the DAG file prints while ``prepare`` imports it) goes to the caller's stderr,
never to its stdout, which ``dagstudio run --json`` owns.

Everything is event-driven: the server waits in one selector on the control socket, the workers' pipes
and a SIGCHLD wake-up pipe; timeouts are monotonic deadlines (``clock`` is injectable). Timeout and
cancellation send SIGTERM to the worker's process group and SIGKILL after ``kill_grace`` seconds. When a
worker ends, its whole group is killed and waited for (and, on Linux where the server is a child
subreaper, orphans that left the group) before ``Finished`` is reported. The caller waits with
``events(timeout)`` or puts ``fileno()`` into its own selector.

A ``ForkServer`` is used from one thread at a time (the engine's loop); it is not thread-safe.

Windows has no ``fork``: there ``ForkServer`` raises :class:`UnsupportedPlatformError` and the executor is
``spawnserver.SpawnServer``, a pool of warm ``subprocess``-spawned workers with the same interface (spawn
costs ≥ 42 ms per process, so workers are spawned ahead of need and each runs one try);
``workers.executor_for`` picks one of the two.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import selectors
import signal
import socket
import sys
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, NoReturn

from studio.runtime.procs import signal_group, wait_status
from studio.runtime.protocol import (
    Event,
    Finished,
    MessageReader,
    ProtocolError,
    Started,
    check_launch,
    encode,
    event_from_message,
    send,
)

KILL_GRACE = 5.0
LOG_CAP_BYTES = 50 * 2**20


class ForkServerError(RuntimeError):
    """The fork server failed: ``prepare`` raised (the remote traceback is the message) or the server died."""


class UnsupportedPlatformError(ForkServerError, NotImplementedError):
    """The fork server needs ``os.fork`` (POSIX); elsewhere the executor is ``spawnserver.SpawnServer``."""


def resolve(path: str) -> Callable[..., Any]:
    """The function named by ``"package.module:function"``."""
    module, sep, name = path.partition(":")
    if not sep or not module or not name:
        raise ValueError(f"expected 'module:function', got {path!r}")
    target: Any = importlib.import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{path} is not callable")
    return target


class ForkServer:
    """Client side of one fork server (one per DAG file). See the module docstring."""

    _live: ClassVar[weakref.WeakSet[ForkServer]] = weakref.WeakSet()

    def __init__(
        self,
        prepare: str,
        run: str,
        *,
        log_cap_bytes: int = LOG_CAP_BYTES,
        kill_grace: float = KILL_GRACE,
        rlimit_as: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        warm: str | None = None,
    ) -> None:
        if sys.platform == "win32" or not hasattr(os, "fork"):
            raise UnsupportedPlatformError(
                "DAG Studio's fork server needs os.fork (Linux, macOS); on Windows the spawn pool runs tries"
            )
        for path in (prepare, run, *([warm] if warm else [])):
            if path.count(":") != 1 or path.startswith(":") or path.endswith(":"):
                raise ValueError(f"expected 'module:function', got {path!r}")
        if log_cap_bytes < 0 or kill_grace < 0:
            raise ValueError("log_cap_bytes and kill_grace must not be negative")
        self.prepare_path, self.run_path, self.warm_path = prepare, run, warm
        self.log_cap_bytes, self.kill_grace, self.rlimit_as = log_cap_bytes, kill_grace, rlimit_as
        self.clock = clock
        self._sock: socket.socket | None = None
        self._selector: selectors.BaseSelector | None = None
        self._reader = MessageReader()
        self._pid = 0
        self._owner = 0
        self._pending: list[Event] = []
        self._running: dict[str, int] = {}  # key -> worker pid (0 until Started arrives)
        self._dead: str | None = None
        self._eof = False
        self.prepared: dict[str, Any] | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------
    @property
    def pid(self) -> int:
        """The fork server's process id (0 before ``start``)."""
        return self._pid

    def fileno(self) -> int:
        """The control socket, readable when events are waiting (for the caller's own selector)."""
        if self._sock is None:
            raise ForkServerError("the fork server is not running")
        return self._sock.fileno()

    def start(self, payload: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        """Fork the server, run ``prepare(payload)`` in it and return what it returned."""
        self.begin(payload)
        return self.wait_ready(timeout)

    def begin(self, payload: dict[str, Any]) -> None:
        """Fork the server, which starts ``prepare(payload)``; the caller may work meanwhile (e.g. import
        what the server must not carry) and then collects the result with :meth:`wait_ready`."""
        if self._sock is not None or self._owner:
            raise ForkServerError("start() was already called")
        ours, theirs = socket.socketpair()
        inherited = [fs._sock.fileno() for fs in list(ForkServer._live) if fs._sock is not None]
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        pid = os.fork()
        if pid == 0:
            from studio.runtime.forkserver_loop import server_main

            ours.close()
            server_main(theirs, self, payload, inherited)
        theirs.close()
        self._sock, self._pid, self._owner = ours, pid, os.getpid()
        self._selector = selectors.DefaultSelector()
        self._selector.register(ours, selectors.EVENT_READ)
        ForkServer._live.add(self)
        atexit.register(self.close)

    def wait_ready(self, timeout: float | None = None) -> dict[str, Any]:
        """Wait for ``prepare`` (started by :meth:`begin`) and return what it returned."""
        if self.prepared is not None:
            return self.prepared
        if self._sock is None:
            raise ForkServerError("the fork server is not running (begin() first)")
        messages = self._read(timeout)
        if not messages:
            self._dead = f"prepare() did not finish within {timeout} s"
            self.close()  # a stuck prepare reads no "stop": the server is killed
            raise ForkServerError(self._dead)
        first = messages[0]
        if first.get("op") == "prepare_error":
            self.close()
            raise ForkServerError(f"prepare failed in the fork server:\n{first.get('traceback', '')}")
        if first.get("op") != "ready":
            self.close()
            raise ForkServerError(f"unexpected first message from the fork server: {first.get('op')!r}")
        self._accept(messages[1:])
        self.prepared = first.get("prepared") or {}
        return self.prepared

    def close(self) -> None:
        """Cancel every worker, stop the server and reap it; idempotent (also runs at interpreter exit)."""
        if self._sock is None or os.getpid() != self._owner:
            return
        atexit.unregister(self.close)
        ForkServer._live.discard(self)
        clean = False
        if self._dead is None:
            with contextlib.suppress(OSError):
                send(self._sock, {"op": "stop"})
            deadline = time.monotonic() + self.kill_grace + 10.0
            with contextlib.suppress(ForkServerError, ProtocolError):
                while (left := deadline - time.monotonic()) > 0:
                    self._accept(self._read(left, at_eof="return"))
                    if self._dead is not None:
                        clean = True
                        break
        if not clean:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            self._kill_workers()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self._pid, 0)
        if self._selector is not None:
            self._selector.close()
        self._sock.close()
        self._sock = None
        self._dead = self._dead or "closed"

    def __enter__(self) -> ForkServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- workers -----------------------------------------------------------------------------------------
    def launch(
        self,
        key: str,
        request: dict[str, Any],
        log_path: Path | str,
        timeout: float | None = None,
        *,
        rlimit_as: int | None = None,
    ) -> None:
        """Ask the server to fork a worker that runs ``run(request)`` with its output in ``log_path``."""
        self._check_usable()
        check_launch(self._running, key, timeout)
        message = {
            "op": "launch",
            "key": key,
            "request": request,
            "log_path": os.fspath(log_path),
            "timeout": timeout,
            "rlimit_as": rlimit_as if rlimit_as is not None else self.rlimit_as,
        }
        data = encode(message)  # a request that is not JSON fails here, in the caller
        self._running[key] = 0
        self._send_raw(data)

    def cancel(self, key: str) -> None:
        """SIGTERM to the worker's process group, SIGKILL after ``kill_grace``; a finished key is ignored."""
        self._check_usable()
        if key in self._running:
            self._send_raw(encode({"op": "cancel", "key": key}))

    def events(self, timeout: float | None) -> list[Event]:
        """Wait up to ``timeout`` seconds (None: until something happens) and return what happened."""
        if self._dead is None or not self._pending:
            self._check_usable()
            try:
                if not self._pending:
                    self._accept(self._read(timeout))
            except ForkServerError:
                if not self._pending:
                    raise  # otherwise the events that came before the server died first; the error next time
        events, self._pending = self._pending, []
        return events

    @property
    def running(self) -> dict[str, int]:
        """Launched keys not yet reported finished, with their worker pid (0 until started)."""
        return dict(self._running)

    # -- internals ---------------------------------------------------------------------------------------
    def _check_usable(self) -> None:
        if self._dead is not None:
            raise ForkServerError(f"the fork server is not running ({self._dead})")
        if self._sock is None:
            raise ForkServerError("the fork server is not running (start() first)")

    def _send_raw(self, data: bytes) -> None:
        assert self._sock is not None
        try:
            self._sock.sendall(data)
        except OSError:
            self._lost()

    def _read(self, timeout: float | None, at_eof: str = "raise") -> list[dict[str, Any]]:
        """Messages that arrive within ``timeout``; at end of stream: the server died (or, closing, ended)."""
        assert self._sock is not None and self._selector is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            messages: list[dict[str, Any]] = []
            eof = self._eof
            while not eof:
                try:
                    data = self._sock.recv(1 << 20, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    break
                except OSError:
                    data = b""
                if not data:
                    eof = True
                    break
                messages += self._reader.feed(data)
            if eof and messages:
                self._eof = True  # what came before the end first; the end on the next call
                return messages
            if eof:
                if at_eof == "return":
                    self._dead = "stopped"
                    return messages
                self._lost()
            if messages:
                return messages
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return []
            self._selector.select(left)

    def _accept(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            op = message.get("op")
            if op == "error":
                raise ForkServerError(f"fork server: {message.get('message')}")
            event = event_from_message(message)
            if isinstance(event, Started):
                self._running[event.key] = event.pid
            elif isinstance(event, Finished):
                self._running.pop(event.key, None)
            self._pending.append(event)

    def _kill_workers(self) -> None:
        for pid in self._running.values():
            if pid:
                signal_group(pid, signal.SIGKILL)

    def _lost(self) -> NoReturn:
        """The server is gone without being asked to stop: kill its workers, reap it, report why."""
        self._kill_workers()
        how = "ended"
        with contextlib.suppress(ChildProcessError):
            _, status = os.waitpid(self._pid, 0)
            code, sig = wait_status(status)
            how = f"killed by signal {sig}" if sig else f"exited with {code}"
        self._dead = f"fork server pid {self._pid} {how}; its workers were killed"
        with contextlib.suppress(ValueError):
            atexit.unregister(self.close)
        ForkServer._live.discard(self)
        raise ForkServerError(self._dead)
