"""Inside the fork server process: prepare once, then fork, watch and reap workers (see ``forkserver``).

One single-threaded selector loop over the control socket, a SIGCHLD wake-up pipe and two pipes per worker
(its stdout/stderr, copied into the capped log, and its result). The server never blocks: what it sends
to the engine is buffered and written when the socket is writable, and a flood of output is read a bounded
amount per turn, so one misbehaving worker cannot starve the others.

Spare worker: the server keeps one worker forked and set up ahead of need (``procs.spare_main``: own
session, signals, stdout/stderr pipe), blocked on an assignment pipe. A launch hands it the request, so
neither the fork nor the set-up is on a try's critical path; a new spare is forked once the loop has
handled what came in. A launch that finds no spare (a burst), or whose request is large, forks directly.

A worker's end, in order: SIGCHLD → reap it → SIGKILL its process group → (Linux) kill orphans it left
behind that escaped the group → wait until the group and those orphans are gone (their SIGCHLDs, with a
5 ms re-check as a safety net for processes re-parented elsewhere) → drain its pipes → close the log
(with the cap note) → send ``finished``. Early end: a worker that returned normally closes its
stdout/stderr and then writes its result (``procs.worker_run``); when both pipes are at their end and the
result frame is complete, nothing of the try is left to read, so ``finished`` (exit code 0) is sent
right away and the process — still tearing down its address space — becomes *lingering*: reaped, its
group killed and its orphans collected as above, without holding up the next try. The server does not
exit while a lingering process or its group exists, so nothing outlives the run.
"""

from __future__ import annotations

import contextlib
import gc
import os
import selectors
import signal
import socket
import sys
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from studio.runtime.procs import (
    CappedLog,
    child_pids,
    decode_result,
    group_exists,
    kill_orphan,
    read_available,
    set_child_subreaper,
    signal_group,
    spare_main,
    wait_status,
    worker_main,
)
from studio.runtime.protocol import MessageReader, ProtocolError, encode

if TYPE_CHECKING:
    from studio.runtime.forkserver import ForkServer

_BLOCKED = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
_SETTLE_RECHECK = 0.005
_SPARE_MAX_REQUEST = 1 << 15  # a larger assignment could fill the pipe before the spare reads it


@dataclass(eq=False)
class _Worker:
    key: str
    pid: int
    log: CappedLog
    out_fd: int | None
    res_fd: int | None
    deadline: float | None
    result: bytearray = field(default_factory=bytearray)
    kill_at: float | None = None
    timed_out: bool = False
    cancelled: bool = False
    killed: bool = False  # SIGKILL sent; now only its SIGCHLD is awaited
    status: int | None = None  # waitpid status once reaped


@dataclass(eq=False)
class _Spare:
    """A worker forked and set up ahead of need, waiting for its request on ``assign_fd``."""

    pid: int
    assign_fd: int
    out_fd: int
    res_fd: int


def server_main(sock: socket.socket, config: ForkServer, payload: dict[str, Any], inherited: list[int]) -> NoReturn:
    """The fork server process: never returns."""
    code = 0
    try:
        for fd in inherited:
            with contextlib.suppress(OSError):
                os.close(fd)
        for fd in (0, 1, 2):  # a closed standard fd would be reused by a pipe and clobbered in the workers
            try:
                os.fstat(fd)
            except OSError:
                os.dup2(os.open(os.devnull, os.O_RDWR), fd)
        os.dup2(2, 1)  # what the DAG file prints at import goes to stderr: the engine's stdout may be --json
        sys.stdout = sys.stderr
        signal.set_wakeup_fd(-1)  # the engine's (an event loop's) wake-up pipe is not ours to write to
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(sig, signal.SIG_DFL)  # no handler of the engine runs in here
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the engine's to handle; it calls close()
        set_child_subreaper()
        from studio.runtime.forkserver import resolve

        try:
            prepared = resolve(config.prepare_path)(payload)
            run = resolve(config.run_path)
            warm = resolve(config.warm_path) if config.warm_path else None
            ready = encode({"op": "ready", "prepared": prepared})
        except BaseException:
            sock.sendall(encode({"op": "prepare_error", "traceback": traceback.format_exc()}))
            os._exit(1)
        sock.sendall(ready)
        gc.freeze()  # the warm heap stays shared with the workers instead of being touched by the collector
        _Loop(sock, run, config, warm).serve()
    except BaseException:
        with contextlib.suppress(BaseException):
            traceback.print_exc()
        code = 70
    finally:
        os._exit(code)


class _Loop:
    def __init__(self, sock: socket.socket, run: Any, config: ForkServer, warm: Any = None) -> None:
        self.sock, self.run, self.warm = sock, run, warm
        self.cap, self.grace, self.clock = config.log_cap_bytes, config.kill_grace, config.clock
        self.pid = os.getpid()
        self.sock.setblocking(False)
        self.sel = selectors.DefaultSelector()
        self.wake_r, self.wake_w = os.pipe()
        for fd in (self.wake_r, self.wake_w):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, self._on_sigterm_signal)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        self.sel.register(self.sock, selectors.EVENT_READ, "ctl")
        self.sel.register(self.wake_r, selectors.EVENT_READ, "wake")
        self.reader = MessageReader()
        self.outbox = bytearray()
        self.workers: dict[str, _Worker] = {}
        self.by_pid: dict[int, _Worker] = {}
        self.lingering: dict[int, _Worker] = {}  # finished early (result and log complete), not yet gone
        self.spare: _Spare | None = None
        self.retired: set[int] = set()  # spares told to end, not yet reaped
        self.orphan_groups: set[int] = set()
        self.stopping = self.client_gone = self.term_requested = False

    # -- loop --------------------------------------------------------------------------------------------
    def serve(self) -> None:
        self._replenish()
        while not (self.stopping and not self.workers and not self._leftovers()):
            for key, mask in self.sel.select(self._timeout()):
                tag = key.data
                if tag == "ctl":
                    if mask & selectors.EVENT_WRITE:
                        self._flush()
                    if mask & selectors.EVENT_READ:
                        self._read_control()
                elif tag == "wake":
                    read_available(self.wake_r)
                elif tag[0] == "out":
                    self._pump_output(tag[1])
                else:
                    self._pump_result(tag[1])
            if self.term_requested:
                self.term_requested = False
                self._stop()
            self._reap()
            self._check_deadlines()
            self._settle()
            self._replenish()
        if self.outbox and not self.client_gone:
            with contextlib.suppress(OSError):
                self.sock.setblocking(True)
                self.sock.sendall(self.outbox)

    def _leftovers(self) -> bool:
        """Whether processes of ended workers (lingering, retired spares, orphans) still exist."""
        return bool(self.lingering or self.retired) | self._orphans_left()

    def _timeout(self) -> float | None:
        if any(w.status is not None for w in self.workers.values()) or self.orphan_groups or self._lingering_reaped():
            return _SETTLE_RECHECK
        times = [t for w in self.workers.values() if not w.killed for t in (w.deadline, w.kill_at) if t is not None]
        return max(0.0, min(times) - self.clock()) if times else None

    def _on_sigterm_signal(self, *_: object) -> None:
        self.term_requested = True  # handled in the loop (the wake-up pipe ends the select)

    def _stop(self) -> None:
        """Cancel every worker; the loop ends once all are finished and no orphan is left."""
        self.stopping = True
        self._retire_spare()
        for worker in self.workers.values():
            worker.cancelled = worker.cancelled or worker.status is None
            self._terminate(worker)

    # -- control socket ----------------------------------------------------------------------------------
    def _read_control(self) -> None:
        messages: list[dict[str, Any]] = []
        chunks, eof = read_available(self.sock.fileno())
        try:
            for chunk in chunks:
                messages += self.reader.feed(chunk)
        except ProtocolError as exc:
            self._send({"op": "error", "message": str(exc)})
            eof = True
        for message in messages:
            self._handle(message)
        if eof:
            self.client_gone = True
            self.sel.unregister(self.sock)
            self.outbox.clear()
            self._stop()

    def _handle(self, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "launch":
            self._launch(message)
        elif op == "cancel":
            worker = self.workers.get(message.get("key", ""))
            if worker is not None and worker.status is None:
                worker.cancelled = True
                self._terminate(worker)
        elif op == "stop":
            self._stop()
        else:
            self._send({"op": "error", "message": f"unknown operation {op!r}"})

    def _send(self, message: dict[str, Any]) -> None:
        if not self.client_gone:
            self.outbox += encode(message)
            self._flush()

    def _flush(self) -> None:
        try:
            while self.outbox:
                del self.outbox[: self.sock.send(self.outbox)]
        except BlockingIOError:
            pass
        except OSError:
            self.outbox.clear()
        if not self.client_gone:
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if self.outbox else 0)
            self.sel.modify(self.sock, events, "ctl")

    # -- workers -----------------------------------------------------------------------------------------
    def _launch(self, message: dict[str, Any]) -> None:
        key = str(message.get("key"))
        if self.stopping or key in self.workers:
            why = "the fork server is stopping" if self.stopping else f"a worker for {key!r} is still running"
            self._send_finished_error(key, why)
            return
        try:
            worker = self._fork(key, message)
        except OSError as exc:
            self._send_finished_error(key, f"cannot start the worker: {exc}")
            return
        self.workers[key] = self.by_pid[worker.pid] = worker
        self._send({"op": "started", "key": key, "pid": worker.pid})

    def _fork(self, key: str, message: dict[str, Any]) -> _Worker:
        """Start the worker of ``key``: hand the request to the spare, or fork one for it."""
        log_path = str(message["log_path"])
        os.makedirs(os.path.dirname(log_path) or ".", exist_ok=True)
        log = CappedLog(log_path, self.cap)
        try:
            spare = self._take_spare(message)
            if spare is not None:
                pid, out_r, res_r = spare.pid, spare.out_fd, spare.res_fd
            else:
                pid, out_r, res_r = self._fork_child(message)
        except BaseException:
            log.close()
            raise
        worker = _Worker(key, pid, log, out_r, res_r, None)
        if message.get("timeout") is not None:
            worker.deadline = self.clock() + float(message["timeout"])
        for fd, kind in ((out_r, "out"), (res_r, "res")):
            self.sel.register(fd, selectors.EVENT_READ, (kind, worker))
        return worker

    def _own_fds(self) -> list[int]:
        """The server's descriptors, which no child may keep (closed in every worker after the fork)."""
        own = [self.sock.fileno(), self.wake_r, self.wake_w]
        if hasattr(self.sel, "fileno"):  # epoll / kqueue
            own.append(self.sel.fileno())
        for other in self.workers.values():  # a lingering worker's pipes and log are closed already
            own += [fd for fd in (other.out_fd, other.res_fd, other.log.fd) if fd is not None]
        if self.spare is not None:
            own += [self.spare.assign_fd, self.spare.out_fd, self.spare.res_fd]
        return own

    def _fork_child(self, message: dict[str, Any] | None) -> tuple[int, int, int]:
        """Fork a worker: for ``message``'s request, or (None) a spare. Returns (pid, out_r, res_r[, assign_w])."""
        fds: list[int] = []
        try:
            out_r, out_w = os.pipe()
            res_r, res_w = os.pipe()
            fds += (out_r, out_w, res_r, res_w)
            if message is None:
                assign_r, assign_w = os.pipe()
                fds += (assign_r, assign_w)
            own = [*self._own_fds(), out_r, res_r] + ([assign_w] if message is None else [])
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            mask = signal.pthread_sigmask(signal.SIG_BLOCK, _BLOCKED)
            pid = os.fork()
            if pid == 0:
                if message is None:
                    spare_main(self.run, assign_r, out_w, res_w, own, self.pid, mask, self.warm)
                worker_main(self.run, message.get("request") or {}, out_w, res_w, own, message.get("rlimit_as"),
                            self.pid, mask)  # fmt: skip
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        except BaseException:
            for fd in fds:
                os.close(fd)
            raise
        os.close(out_w)
        os.close(res_w)
        for fd in (out_r, res_r):
            os.set_blocking(fd, False)
        if message is None:
            os.close(assign_r)
            self.spare = _Spare(pid, assign_w, out_r, res_r)
        return pid, out_r, res_r

    # -- spare -------------------------------------------------------------------------------------------
    def _replenish(self) -> None:
        """Fork a spare if there is none (once the loop has nothing else to do this turn)."""
        if self.spare is not None or self.stopping:
            return
        try:
            self._fork_child(None)
        except OSError:
            self.spare = None  # no spare now (e.g. EAGAIN): launches fork directly, the next turn retries

    def _take_spare(self, message: dict[str, Any]) -> _Spare | None:
        """The spare with ``message``'s request written to it, or None (no spare, or a large request)."""
        spare = self.spare
        if spare is None:
            return None
        data = encode({"request": message.get("request") or {}, "rlimit_as": message.get("rlimit_as")})
        if len(data) > _SPARE_MAX_REQUEST:
            return None
        self.spare = None
        try:
            os.write(spare.assign_fd, data)  # fits in the pipe: never blocks
        except OSError:
            self._discard_spare(spare)
            return None
        os.close(spare.assign_fd)
        return spare

    def _retire_spare(self) -> None:
        if self.spare is not None:
            spare, self.spare = self.spare, None
            self._discard_spare(spare)

    def _discard_spare(self, spare: _Spare) -> None:
        """End a spare that will not run a try: close its pipes (it exits on EOF), kill it, await its reaping."""
        for fd in (spare.assign_fd, spare.out_fd, spare.res_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(ProcessLookupError):
            os.kill(spare.pid, signal.SIGKILL)
        self.retired.add(spare.pid)

    def _send_finished_error(self, key: str, error: str) -> None:
        self._send({"op": "finished", "key": key, "pid": 0, "exit_code": None, "signal": None, "result": None,
                    "timed_out": False, "cancelled": False, "error": error, "log_dropped": 0})  # fmt: skip

    def _pump_output(self, worker: _Worker, limit: int = 1 << 18) -> None:
        if worker.out_fd is None:
            return
        chunks, eof = read_available(worker.out_fd, limit)
        for chunk in chunks:
            worker.log.write(chunk)
        if eof:
            self.sel.unregister(worker.out_fd)
            os.close(worker.out_fd)
            worker.out_fd = None
            self._maybe_finish_early(worker)

    def _pump_result(self, worker: _Worker, limit: int = 1 << 20) -> None:
        if worker.res_fd is None:
            return
        chunks, eof = read_available(worker.res_fd, limit)
        for chunk in chunks:
            worker.result += chunk
        if eof:
            self.sel.unregister(worker.res_fd)
            os.close(worker.res_fd)
            worker.res_fd = None
            self._maybe_finish_early(worker)

    def _maybe_finish_early(self, worker: _Worker) -> None:
        """Report a try that returned normally as soon as its log and result are complete (module doc)."""
        if worker.out_fd is not None or worker.res_fd is not None or worker.status is not None:
            return
        if (
            worker.cancelled
            or worker.timed_out
            or worker.kill_at is not None
            or self.workers.get(worker.key) is not worker
        ):
            return
        result = decode_result(bytes(worker.result))
        if result is None:
            return
        worker.log.close()
        del self.workers[worker.key]
        self.lingering[worker.pid] = worker
        self._send({"op": "finished", "key": worker.key, "pid": worker.pid, "exit_code": 0, "signal": None,
                    "result": result, "timed_out": False, "cancelled": False, "error": None,
                    "log_dropped": worker.log.dropped})  # fmt: skip

    def _terminate(self, worker: _Worker) -> None:
        """SIGTERM to the group now, SIGKILL after the grace period (idempotent)."""
        if worker.status is not None or worker.kill_at is not None:
            return
        sig = signal.SIGTERM if self.grace > 0 else signal.SIGKILL
        signal_group(worker.pid, sig)
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.pid, sig)  # before its setsid the group does not exist yet; the signal waits
        worker.kill_at = self.clock() + self.grace

    def _check_deadlines(self) -> None:
        now = self.clock()
        for worker in self.workers.values():
            if worker.status is not None or worker.killed:
                continue
            if worker.kill_at is not None and now >= worker.kill_at:
                worker.killed = True
                signal_group(worker.pid, signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGKILL)
            elif worker.kill_at is None and worker.deadline is not None and now >= worker.deadline:
                worker.timed_out = True
                self._terminate(worker)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker = self.by_pid.get(pid)
            if worker is not None and worker.status is None:
                worker.status = status
                signal_group(pid, signal.SIGKILL)
            elif self.spare is not None and pid == self.spare.pid:  # a spare that died waiting
                spare, self.spare = self.spare, None
                self._discard_spare(spare)
                signal_group(pid, signal.SIGKILL)
            if pid in self.retired:
                self.retired.discard(pid)
                signal_group(pid, signal.SIGKILL)
                self.orphan_groups.add(pid)

    def _lingering_reaped(self) -> bool:
        return any(w.status is not None for w in self.lingering.values())

    def _orphans_left(self) -> bool:
        """Kill orphans adopted from ended workers; whether any of them (or their groups) still exist."""
        running = [w.pid for w in self.workers.values() if w.status is None]
        known = set(self.by_pid) | self.retired | ({self.spare.pid} if self.spare is not None else set())
        for pid in child_pids(self.pid):
            if pid not in known and (group := kill_orphan(pid, running)) is not None:
                self.orphan_groups.add(group)
        self.orphan_groups = {g for g in self.orphan_groups if group_exists(g)}
        return bool(self.orphan_groups)

    def _settle(self) -> None:
        gone = [pid for pid, w in self.lingering.items() if w.status is not None and not group_exists(pid)]
        for pid in gone:  # finished early: forgotten once its group is gone (orphans it left are killed)
            del self.lingering[pid], self.by_pid[pid]
        if gone:
            self._orphans_left()
        ended = [w for w in self.workers.values() if w.status is not None and not group_exists(w.pid)]
        if not ended or self._orphans_left():
            return
        for worker in ended:
            self._finish(worker)

    def _finish(self, worker: _Worker) -> None:
        self._pump_output(worker, limit=1 << 24)
        self._pump_result(worker, limit=1 << 30)
        for fd in (worker.out_fd, worker.res_fd):
            if fd is not None:
                self.sel.unregister(fd)
                os.close(fd)
        worker.log.close()
        assert worker.status is not None
        exit_code, sig = wait_status(worker.status)
        del self.workers[worker.key], self.by_pid[worker.pid]
        self._send({"op": "finished", "key": worker.key, "pid": worker.pid, "exit_code": exit_code,
                    "signal": sig, "result": decode_result(bytes(worker.result)), "timed_out": worker.timed_out,
                    "cancelled": worker.cancelled, "error": None, "log_dropped": worker.log.dropped})  # fmt: skip
