"""Inside the fork server process: prepare once, then fork, watch and reap workers (see ``forkserver``).

One single-threaded selector loop over the control socket, a SIGCHLD wake-up pipe and two pipes per worker
(its stdout/stderr, copied into the capped log, and its result). The server never blocks: what it sends
to the engine is buffered and written when the socket is writable, and a flood of output is read a bounded
amount per turn, so one misbehaving worker cannot starve the others.

Spare worker: the server keeps one worker forked and set up ahead of need (``procs.spare_main``: own
session, signals, stdout/stderr pipe), blocked on an assignment pipe. A launch hands it the request, so
neither the fork nor the set-up is on a try's critical path; a new spare is forked once the loop has
handled what came in. A launch that finds no spare (a burst), or whose request is large, forks directly.

A worker's end (reaping, its group, orphans, the early end): ``forkserver_ends``.
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
from typing import TYPE_CHECKING, Any, NoReturn

from studio.runtime.forkserver_ends import Spare, Worker, WorkerEnds
from studio.runtime.procs import (
    CappedLog,
    read_available,
    set_child_subreaper,
    spare_main,
    worker_main,
)
from studio.runtime.protocol import MessageReader, ProtocolError, encode

if TYPE_CHECKING:
    from studio.runtime.forkserver import ForkServer

_BLOCKED = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
_SETTLE_RECHECK = 0.005
_SPARE_MAX_REQUEST = 1 << 15  # a larger assignment could fill the pipe before the spare reads it


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


class _Loop(WorkerEnds):
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
        self.workers: dict[str, Worker] = {}
        self.by_pid: dict[int, Worker] = {}
        self.lingering: dict[int, Worker] = {}  # finished early (result and log complete), not yet gone
        self.spare: Spare | None = None
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

    def _fork(self, key: str, message: dict[str, Any]) -> Worker:
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
        worker = Worker(key, pid, log, out_r, res_r, None)
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
            self.spare = Spare(pid, assign_w, out_r, res_r)
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

    def _take_spare(self, message: dict[str, Any]) -> Spare | None:
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

    def _discard_spare(self, spare: Spare) -> None:
        """End a spare that will not run a try: close its pipes (it exits on EOF), kill it, await its reaping."""
        for fd in (spare.assign_fd, spare.out_fd, spare.res_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(ProcessLookupError):
            os.kill(spare.pid, signal.SIGKILL)
        self.retired.add(spare.pid)
