"""The spawn pool: warm worker processes started with ``subprocess`` (no fork), one try each.

For platforms without ``fork`` (Windows) or with ``DAGSTUDIO_EXECUTOR=spawn`` (see ``workers``).
:class:`SpawnServer` has ``forkserver.ForkServer``'s interface and events; the engine cannot tell them apart.

Spawning a Python process costs ≥ 42 ms and importing the DAG file more, so workers are started *ahead of
need*: each one (``spawnserver_worker``) imports ``prepare``/``run``, calls ``prepare(payload)`` (imports
the DAG file) and waits for a try. ``launch`` hands the try to a warm idle worker (or to one still
warming, or to a new one) and spawns replacements: at least one spare is always warming, more (up to
``MAX_SPARES``) while launches keep finding none ready, e.g. a chain of quick tasks, whose pace is then
set by how many workers the CPUs can prepare at once. The pool grows with the launches the engine makes
and has no cap of its own. A worker runs ONE try and then exits (it is
retired): module state a try changes never leaks into another try. ``start`` returns what the first
worker's ``prepare`` returned and prints what it printed to this process's stderr; what later workers'
``prepare`` prints (the same DAG file imported again) is dropped, unless their ``prepare`` fails. The
optional ``warm`` function (no arguments, output discarded, errors ignored) runs in every worker after
``prepare``, like in the fork server's spares.

Each worker is in its own process group (POSIX: its own session; Windows: its own group and a Job
object) — see ``spawnserver_proc``. Timeout and cancellation: SIGTERM to the group, SIGKILL after
``kill_grace`` (Windows: the job is ended at once). When a worker ends, the rest of its group is killed
and awaited before ``Finished`` is reported. Its stdout/stderr stream live into the try's log, capped
like the fork server's (``procs.CappedLog``). Limits against the fork server: a process that leaves the
worker's session (a double-forked ``setsid`` daemon) is not found on POSIX (the fork server's subreaper
finds it); ``rlimit_as`` is ignored on Windows.

Threads (three per worker, ``spawnserver_proc``, and one for the deadlines) report through a queue and a
wake-up socket pair: ``events(timeout)`` blocks without polling and ``fileno()`` works in the engine's
selector. The methods are called from one thread at a time.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from studio.runtime.forkserver import KILL_GRACE, LOG_CAP_BYTES, ForkServerError
from studio.runtime.procs import CappedLog
from studio.runtime.protocol import Event, Finished, Started, check_launch, encode
from studio.runtime.spawnserver_proc import Inbox, PoolProcess, Slot, next_deadline

MAX_SPARES = max(1, min(4, os.cpu_count() or 1))  # idle warm workers kept at most (each holds the DAG file)


class SpawnServerError(ForkServerError):
    """The spawn pool failed: the first worker's ``prepare`` raised or its process died, or the pool is closed."""


class SpawnServer:
    """A pool of spawned, warm, single-use workers (one pool per DAG file). See the module docstring."""

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
        for path in (prepare, run, *([warm] if warm else [])):
            if path.count(":") != 1 or path.startswith(":") or path.endswith(":"):
                raise ValueError(f"expected 'module:function', got {path!r}")
        if log_cap_bytes < 0 or kill_grace < 0:
            raise ValueError("log_cap_bytes and kill_grace must not be negative")
        self.prepare_path, self.run_path, self.warm_path = prepare, run, warm
        self.log_cap_bytes, self.kill_grace, self.rlimit_as = log_cap_bytes, kill_grace, rlimit_as
        self.clock = clock
        self.prepared: dict[str, Any] | None = None
        self._payload: dict[str, Any] = {}
        self._lock = threading.Condition()
        self._slots: list[Slot] = []
        self._running: dict[str, int] = {}
        self._pending: list[Event] = []
        self._inbox: Inbox | None = None
        self._owner = 0
        self._first: Slot | None = None
        self._spares = 1
        self._dead: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------
    @property
    def pid(self) -> int:
        """The process id of the pool's owner, the workers' parent (0 before ``start``)."""
        return self._owner

    def fileno(self) -> int:
        """A socket that is readable when events are waiting (for the caller's own selector)."""
        if self._inbox is None:
            raise SpawnServerError("the spawn pool is not running")
        return self._inbox.fileno()

    def start(self, payload: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        """Spawn the first worker, run ``prepare(payload)`` in it and return what it returned."""
        self.begin(payload)
        return self.wait_ready(timeout)

    def begin(self, payload: dict[str, Any]) -> None:
        """Spawn the first worker, which starts ``prepare(payload)``; the caller may work meanwhile and
        then collects the result with :meth:`wait_ready`."""
        if self._owner:
            raise SpawnServerError("start() was already called")
        self._payload, self._owner = payload, os.getpid()
        self._inbox = Inbox()
        atexit.register(self.close)
        threading.Thread(target=self._supervise, name="dagstudio-spawn-deadlines", daemon=True).start()
        try:
            self._first = self._spawn(first=True)
        except OSError as exc:
            self._dead = f"cannot spawn a worker: {exc}"
            self.close()
            raise SpawnServerError(self._dead) from exc

    def wait_ready(self, timeout: float | None = None) -> dict[str, Any]:
        """Wait for the first worker's ``prepare`` (started by :meth:`begin`) and return what it returned."""
        if self.prepared is not None:
            return self.prepared
        first = self._first
        if first is None:
            raise SpawnServerError(f"the spawn pool is not running ({self._dead or 'begin() first'})")
        deadline = None if timeout is None else time.monotonic() + timeout
        while first.state == "warming":
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                self._dead = f"prepare() did not finish within {timeout} s"
                self.close()
                raise SpawnServerError(self._dead)
            self._wait(left)
        if not first.prepared_ok:  # (a launch made before this call may have made it busy already)
            self._dead = first.failure or "the first worker ended while preparing"
            self.close()
            raise SpawnServerError(self._dead)
        self.prepared = first.prepared or {}
        return self.prepared

    def close(self) -> None:
        """Cancel every try (SIGTERM, SIGKILL after ``kill_grace``), end every worker and wait until all
        are gone; idempotent (also runs at interpreter exit)."""
        if self._inbox is None or os.getpid() != self._owner:
            return
        with contextlib.suppress(ValueError):
            atexit.unregister(self.close)
        with self._lock:
            self._dead = self._dead or "closed"
            for slot in self._slots:
                if slot.state == "busy":
                    slot.cancelled = True
                    self._terminate(slot)
                else:
                    slot.proc.kill()
        deadline = time.monotonic() + self.kill_grace + 10.0
        while self._slots and time.monotonic() < deadline:
            self._wait(deadline - time.monotonic())
        with self._lock:
            for slot in self._slots:
                slot.proc.kill()
            for slot in self._slots:
                slot.proc.close_control()
        deadline = time.monotonic() + 10.0
        while self._slots and time.monotonic() < deadline:
            self._wait(deadline - time.monotonic())
        with self._lock:
            self._lock.notify_all()  # the supervisor sees _dead and ends
        self._inbox.close()
        self._inbox = None

    def __enter__(self) -> SpawnServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- tries -------------------------------------------------------------------------------------------
    def launch(
        self,
        key: str,
        request: dict[str, Any],
        log_path: Path | str,
        timeout: float | None = None,
        *,
        rlimit_as: int | None = None,
    ) -> None:
        """Give a warm worker ``run(request)`` with its output in ``log_path``; spawn its replacement."""
        self._check_usable()
        check_launch(self._running, key, timeout)
        message = {"op": "launch", "request": request,
                   "rlimit_as": rlimit_as if rlimit_as is not None else self.rlimit_as}  # fmt: skip
        encode(message)  # a request that is not JSON fails here, in the caller
        self._running[key] = 0
        try:
            path = os.fspath(log_path)
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            log = CappedLog(path, self.log_cap_bytes)
        except OSError as exc:
            self._fail(key, f"cannot start the worker: {exc}")
            return
        with self._lock:
            idle = [s for s in self._slots if s.key is None and s.state in ("ready", "warming")]
            slot = min(idle, key=lambda s: s.state != "ready", default=None)
            if slot is not None:
                slot.key, slot.launch, slot.timeout, slot.log = key, message, timeout, log
        if slot is None:
            try:
                slot = self._spawn(key=key, launch=message, timeout=timeout, log=log)
            except OSError as exc:
                log.close()
                self._fail(key, f"cannot start the worker: {exc}")
                return
        if slot.state == "ready":
            self._hand_over(slot)
        self._top_up(hit=slot.started)

    def _top_up(self, hit: bool) -> None:
        """Keep ``_spares`` idle workers warming or warm: one more after a launch that had to wait for a
        worker (up to MAX_SPARES), one fewer when two or more sat ready (so a burst's pool shrinks back)."""
        idle = [s for s in self._slots if s.key is None and s.state in ("ready", "warming")]
        if not hit:
            self._spares = min(self._spares + 1, MAX_SPARES)
        elif sum(s.state == "ready" for s in idle) >= 2:
            self._spares = max(1, self._spares - 1)
        for _ in range(self._spares - len(idle)):
            with contextlib.suppress(OSError):  # no spare now; the next launch spawns its own worker
                self._spawn()

    def cancel(self, key: str) -> None:
        """SIGTERM to the try's process group, SIGKILL after ``kill_grace``; a finished key is ignored."""
        self._check_usable()
        with self._lock:
            slot = next((s for s in self._slots if s.key == key and s.state != "gone"), None)
            if slot is None:
                return
            if slot.started:
                slot.cancelled = True
                self._terminate(slot)
                return
            slot.key = slot.launch = slot.timeout = None  # not handed over yet: the worker stays a spare
            log, slot.log = slot.log, None
        if log is not None:
            log.close()
        self._fail(key, "cancelled before it started", cancelled=True)

    def events(self, timeout: float | None) -> list[Event]:
        """Wait up to ``timeout`` seconds (None: until something happens) and return what happened."""
        if not self._pending:
            self._check_usable()
            deadline = None if timeout is None else time.monotonic() + timeout
            while not self._pending:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._wait(left)
        self._handle_queue()  # also empties the wake-up socket: what is reported later wakes it again
        events, self._pending = self._pending, []
        return events

    @property
    def running(self) -> dict[str, int]:
        """Launched keys not yet reported finished, with their worker pid (0 until started)."""
        return dict(self._running)

    # -- internals: workers ------------------------------------------------------------------------------
    def _spawn(self, *, first: bool = False, **assigned: Any) -> Slot:
        proc = PoolProcess(self._on_output, self._on_frame, self._on_exit)
        slot = proc.tag = Slot(proc, first=first, **assigned)
        with self._lock:
            self._slots.append(slot)
        proc.watch()
        init = {"op": "init", "prepare": self.prepare_path, "run": self.run_path, "payload": self._payload,
                "warm": self.warm_path, "sys_path": list(sys.path), "cwd": os.getcwd()}  # fmt: skip
        proc.send(init)  # a worker that died already reports its end through _on_exit
        return slot

    def _hand_over(self, slot: Slot) -> None:
        """Send a ready worker its try; ``Started`` is reported now and the timeout starts now."""
        assert slot.key is not None and slot.launch is not None
        with self._lock:
            slot.state, slot.started = "busy", True
            if slot.timeout is not None:
                slot.deadline = self.clock() + slot.timeout
            self._lock.notify_all()
        self._running[slot.key] = slot.proc.pid
        self._post(Started(slot.key, slot.proc.pid))
        slot.proc.send(slot.launch)  # if it died meanwhile, _on_exit reports the try as failed

    def _terminate(self, slot: Slot) -> None:
        """SIGTERM now, SIGKILL after the grace period (the supervisor); idempotent. Holds ``_lock``."""
        if slot.kill_at is not None or slot.state == "gone":
            return
        if self.kill_grace > 0:
            slot.proc.terminate()
        else:
            slot.proc.kill()
        slot.kill_at = self.clock() + self.kill_grace
        self._lock.notify_all()

    def _supervise(self) -> None:
        """The deadlines thread: SIGTERM at a try's timeout, SIGKILL ``kill_grace`` after any SIGTERM."""
        with self._lock:
            while self._dead is None or self._slots:
                wake_at = next_deadline(self._slots, self.clock(), self._terminate)
                self._lock.wait(None if wake_at is None else max(0.0, wake_at - self.clock()))

    # -- internals: events from the workers' threads -----------------------------------------------------
    def _on_output(self, proc: PoolProcess, chunk: bytes) -> None:
        if not proc.tag.write_log(chunk):  # no try yet: an interpreter crash while preparing
            with contextlib.suppress(Exception):
                sys.stderr.write(chunk.decode("utf-8", "backslashreplace"))
                sys.stderr.flush()

    def _on_frame(self, proc: PoolProcess, frame: dict[str, Any]) -> None:
        assert self._inbox is not None
        self._inbox.put(("frame", proc.tag, frame))

    def _on_exit(self, proc: PoolProcess, exit_code: int | None, sig: int | None, result: Any) -> None:
        dropped = proc.tag.close_log()
        assert self._inbox is not None
        self._inbox.put(("exit", proc.tag, (exit_code, sig, result, dropped)))

    # -- internals: the caller's thread ------------------------------------------------------------------
    def _wait(self, timeout: float | None) -> None:
        """Handle what the threads reported; if nothing was, wait for the wake-up socket up to ``timeout``."""
        if not self._handle_queue():
            assert self._inbox is not None
            self._inbox.wait(timeout)
            self._handle_queue()

    def _handle_queue(self) -> bool:
        items = self._inbox.take() if self._inbox is not None else []
        for kind, slot, data in items:
            if kind == "frame":
                self._handle_frame(slot, data)
            else:
                self._handle_exit(slot, *data)
        return bool(items)

    def _handle_frame(self, slot: Slot, frame: dict[str, Any]) -> None:
        output = str(frame.get("output") or "")
        if frame.get("op") != "ready":
            slot.failure = f"prepare failed in a spawned worker:\n{frame.get('traceback', '')}"
            slot.state = "failed"
            if not slot.first:  # the first's failure is start()'s exception; a later one is only shown
                sys.stderr.write(output + slot.failure)
            return
        if slot.first and output:
            sys.stderr.write(output)
            sys.stderr.flush()
        slot.prepared, slot.prepared_ok = frame.get("prepared"), True
        with self._lock:
            if slot.state == "warming":
                slot.state = "ready"
        if slot.state == "ready" and slot.key is not None and not slot.started:
            self._hand_over(slot)

    def _handle_exit(self, slot: Slot, code: int | None, sig: int | None, result: Any, dropped: int) -> None:
        with self._lock:
            slot.state = "gone"
            self._slots.remove(slot)
            self._lock.notify_all()
        if slot.first and slot.failure is None and not slot.prepared_ok:
            how = f"killed by signal {sig}" if sig else f"exited with {code}"
            slot.failure = f"spawned worker pid {slot.proc.pid} {how} while preparing"
        if slot.key is None:
            return
        if not slot.started:
            how = f"killed by signal {sig}" if sig else f"exited with {code}"
            self._fail(slot.key, slot.failure or f"cannot start the worker: it {how} while preparing")
            return
        self._running.pop(slot.key, None)
        self._post(Finished(slot.key, slot.proc.pid, code, sig, result, slot.timed_out, slot.cancelled, None,
                            dropped))  # fmt: skip

    def _fail(self, key: str, error: str, *, cancelled: bool = False) -> None:
        """Report a try that never got a worker (``pid`` 0, like the fork server's failed fork)."""
        self._running.pop(key, None)
        self._post(Finished(key, 0, None, None, None, False, cancelled, error, 0))

    def _post(self, event: Event) -> None:
        self._pending.append(event)
        if self._inbox is not None:
            self._inbox.wake()  # so that fileno() is readable while events are waiting

    def _check_usable(self) -> None:
        if self._dead is not None:
            raise SpawnServerError(f"the spawn pool is not running ({self._dead})")
        if not self._owner:
            raise SpawnServerError("the spawn pool is not running (start() first)")
