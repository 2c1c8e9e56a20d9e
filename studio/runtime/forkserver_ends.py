"""The end of a fork server worker: its pipes, deadlines, reaping, process group and orphans.

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
import os
import signal
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from studio.runtime.procs import (
    CappedLog,
    child_pids,
    decode_result,
    group_exists,
    kill_orphan,
    read_available,
    signal_group,
    wait_status,
)

if TYPE_CHECKING:
    import selectors
    from collections.abc import Callable


@dataclass(eq=False)
class Worker:
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
class Spare:
    """A worker forked and set up ahead of need, waiting for its request on ``assign_fd``."""

    pid: int
    assign_fd: int
    out_fd: int
    res_fd: int


class WorkerEnds:
    """The worker-end half of the fork server's loop (mixed into ``forkserver_loop._Loop``)."""

    if TYPE_CHECKING:
        workers: dict[str, Worker]
        by_pid: dict[int, Worker]
        lingering: dict[int, Worker]
        spare: Spare | None
        retired: set[int]
        orphan_groups: set[int]
        sel: selectors.BaseSelector
        grace: float
        clock: Callable[[], float]
        pid: int

        def _send(self, message: dict[str, Any]) -> None: ...
        def _discard_spare(self, spare: Spare) -> None: ...

    def _send_finished_error(self, key: str, error: str) -> None:
        self._send({"op": "finished", "key": key, "pid": 0, "exit_code": None, "signal": None, "result": None,
                    "timed_out": False, "cancelled": False, "error": error, "log_dropped": 0})  # fmt: skip

    def _pump_output(self, worker: Worker, limit: int = 1 << 18) -> None:
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

    def _pump_result(self, worker: Worker, limit: int = 1 << 20) -> None:
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

    def _maybe_finish_early(self, worker: Worker) -> None:
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

    def _terminate(self, worker: Worker) -> None:
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

    def _finish(self, worker: Worker) -> None:
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
