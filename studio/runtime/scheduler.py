"""The scheduler: creates DAG runs when their time comes and drives them (the only APScheduler import).

``Scheduler(files, home).run()`` is ``dagstudio scheduler PATH`` (the GUI's Run ▸ Scheduler starts that
command as a child process: it forks, which a process running Qt's threads must not do; embedders may run
``run()`` in a thread of a process without Qt). It takes the home's scheduler lock (``store.lock.HomeLock``: one scheduler per home), records
itself as a ``job`` (heartbeat every ``HEARTBEAT`` seconds), loads each DAG file in its own ``LocalRun``
(one fork server per file) and then loops:

* **When is a run due?** Airflow's timetables (``runtime.timetables``): the next ``DagRunInfo`` comes
  from ``next_dagrun_info(description, data interval of the last scheduled or backfill run)``, the first
  one from the DAG's restriction (start_date, end_date, catchup). A run is created once its
  ``run_after`` has passed — the missed ones after a pause or while the app was closed too (all of them
  with ``catchup=True``, only the latest without) — with the timetable's logical date, data interval and
  run id (``scheduled__<run_after>``). No run is created while ``max_active_runs`` runs of the DAG are
  queued or running — backfill runs aside, manual ones (``dagstudio run`` in another process) included,
  as Airflow's ``exceeds_max_non_backfill``; when one of this scheduler's runs ends the next due run
  starts (one of another process ending is noticed within ``PAUSE_POLL`` seconds). Exactly one run per
  (DAG, logical date): the store's unique constraint refuses a second, which the scheduler then skips.
* **Waking up on time**: one APScheduler job per DAG (a ``DateTrigger`` at the next ``run_after``, set on
  the wall clock even when ``clock`` is injected) wakes the loop through a self-pipe, so a run starts
  within milliseconds of its time (bench/scheduler_latency.py: p95 ≈ 12 ms to the first task running) —
  no polling loop.
* **Running**: ``LocalRun.begin`` creates the run, ``LocalRun.step`` advances all runs of a file; the loop
  waits on every fork server's socket and the wake-up pipe at once (``selectors``).
* **Edited DAG files** (``watch=`` sources, ``resolve=`` the current files): re-read in a new engine, the
  last good schedule kept when a file no longer loads (its import error recorded): ``scheduler_files``.
* **Paused DAGs** (``dag.is_paused`` in the store, ``is_paused_upon_creation`` honoured for a new DAG, else
  ``AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION``, default false for a desktop scheduler the user started
  on purpose) are re-read every ``PAUSE_POLL`` seconds.
* **Stopping** (``stop()``, SIGTERM/SIGINT in the CLI): no new runs; running tasks may finish for
  ``stop_grace`` seconds, then they are cancelled and their runs recorded failed; the job is ended and
  the lock released. A stop signal sent to the whole process group also kills the fork servers (maybe
  a moment before this process sees it): a fork server that dies while a stop is requested (or comes
  within ``GROUP_SIGNAL_WAIT``) ends the runs of its file as failed at once instead of failing the
  scheduler.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import queue
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.core.diagnostics import StudioError
from studio.runtime import timetables
from studio.runtime.engine import DagRunExecution, LocalRun, utcnow
from studio.runtime.forkserver import ForkServerError
from studio.runtime.scheduler_files import FileReloading, digest

HEARTBEAT = 5.0  # seconds between job heartbeats
PAUSE_POLL = 2.0  # seconds between reads of the paused flags
STOP_GRACE = 30.0  # seconds running tasks may take to finish after stop()
GROUP_SIGNAL_WAIT = 1.0  # seconds a dead fork server waits for the stop signal that may have killed it too
JOB_TYPE = "scheduler"


def paused_at_creation_default() -> bool:
    """Airflow's ``[core] dags_are_paused_at_creation`` from the environment (default False here)."""
    text = os.environ.get("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "").strip().lower()
    return text in ("1", "true", "yes", "on")


@dataclass(eq=False)
class ScheduledDag:
    """One DAG the scheduler drives: its file's engine, its description and its runs in progress."""

    local: LocalRun
    dag_id: str
    description: dict[str, Any]
    active: list[DagRunExecution] = field(default_factory=list)
    paused: bool = False
    next_run_after: dt.datetime | None = None
    blocked: bool = False  # a run is due but max_active_runs runs are active

    @property
    def key(self) -> str:
        return f"{self.local.path}::{self.dag_id}"


class Scheduler(FileReloading):
    """Schedules and runs the DAGs of ``files`` with the store in ``home``. ``run()`` blocks until ``stop()``."""

    def __init__(
        self,
        files: list[Path],
        home: Path,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        log: Callable[[str], None] | None = None,
        stop_grace: float = STOP_GRACE,
        watch: list[Path] | None = None,
        resolve: Callable[[], list[Path]] | None = None,
    ) -> None:
        self.files = [Path(f) for f in files]
        self.watch_sources = watch  # re-read the DAG files when these change (None: no watching)
        self.resolve = resolve  # the current DAG files of the PATH (e.g. a project's regenerated files)
        self.loaded: dict[Path, str | None] = {}
        self.failing: set[Path] = set()
        self.retiring: list[LocalRun] = []
        self.selector: selectors.BaseSelector | None = None
        self._sources_changed = threading.Event()
        self.home = Path(home)
        self.clock = clock
        self.log = log or (lambda message: None)
        self.stop_grace = stop_grace
        self.locals: list[LocalRun] = []
        self.dags: dict[str, ScheduledDag] = {}
        self._due: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._stop_requested = threading.Event()
        self._stop_deadline: float | None = None
        self.ready = threading.Event()  # set once the DAGs are loaded and the first runs are created
        self.store: Any = None
        self.job_id: int | None = None

    # -- public ----------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask ``run()`` to end (thread-safe; also from a signal handler)."""
        self._stop_requested.set()
        self._wake()

    def run(self) -> int:
        """Take the lock, load the files, schedule until ``stop()``; returns 0 (or raises StudioError)."""
        from apscheduler.schedulers.background import BackgroundScheduler

        from studio.store import Store
        from studio.store.lock import HomeLock, LockHeldError

        lock = HomeLock(self.home, kind=JOB_TYPE)
        try:
            lock.acquire()
        except LockHeldError as exc:
            from studio.core.diagnostics import error

            raise StudioError(error(str(exc))) from None
        self.store = Store.open(self.home, clock=self.clock)
        self.job_id = self.store.start_job(JOB_TYPE, socket.gethostname(), os.getpid())
        self.timers = BackgroundScheduler(timezone=dt.UTC, job_defaults={"misfire_grace_time": None, "coalesce": True})
        self.timers.start()
        state = "failed"
        try:
            self._load()
            from studio.runtime.recovery import recover  # crash recovery: runs a dead engine left (ENGINE.md)

            for run in recover(self.locals, self.store, own_job=self.job_id, log=self.log):
                self.dags[f"{run.owner.path}::{run.dag_id}"].active.append(run)
            for sched in self.dags.values():
                self._schedule(sched)
            watcher = self._start_watching()
            self.ready.set()
            try:
                self._loop()
            finally:
                if watcher is not None:
                    watcher.stop()
            state = "success"
        finally:
            self.timers.shutdown(wait=False)
            self.locals += self.retiring
            for local in self.locals:
                local.cancel_all()  # also when its fork server is gone: the runs are still recorded
                with contextlib.suppress(ForkServerError, OSError):
                    local.close()
            self.store.end_job(self.job_id, state)
            self.store.close()
            lock.release()
            self._wake_r.close()
            self._wake_w.close()
            self.log("scheduler stopped")
        return 0

    # -- loading ---------------------------------------------------------------------------------------
    def _load(self) -> None:
        for path in self.files:
            if self._stop_requested.is_set():
                return
            self.loaded[path] = digest(path)
            local = self._open(path)
            if local is not None:
                self.locals.append(local)
                self._register(local)

    def _open(self, path: Path) -> LocalRun | None:
        """A ``LocalRun`` for ``path`` (its import error cleared), or None (the error recorded)."""
        try:
            local = LocalRun(path, self.home, clock=self.clock)
        except ForkServerError:  # killed while it loaded: by a stop signal to the process group?
            if self._stop_requested.wait(GROUP_SIGNAL_WAIT):
                return None
            raise
        except StudioError as exc:
            problem = exc.diagnostics[0]
            self.store.record_import_error(str(path), problem.message, problem.line)
            self.log(f"import error: {path}: {problem.message}")
            return None
        self.store.clear_import_error(str(path))
        local.job_id = self.job_id
        return local

    def _register(self, local: LocalRun) -> list[ScheduledDag]:
        """Register the DAGs of a loaded file (paused state from the store) and return them."""
        default_paused = paused_at_creation_default()
        found = []
        for dag_id, description in local.dags.items():
            creation = description.get("is_paused_upon_creation")
            paused = self.store.register_dag(
                dag_id, str(local.path), paused_upon_creation=default_paused if creation is None else bool(creation)
            )
            sched = ScheduledDag(local, dag_id, description, paused=paused)
            self.dags[sched.key] = sched
            found.append(sched)
            self.log(f"loaded {dag_id} from {local.path.name} (schedule {description.get('schedule')}, "
                     f"{'paused' if paused else 'active'})")  # fmt: skip
        return found

    # -- deciding runs ---------------------------------------------------------------------------------
    def _schedule(self, sched: ScheduledDag) -> None:
        """Create every run of ``sched`` that is due (within max_active_runs), then set its timer."""
        sched.next_run_after = None
        sched.blocked = False
        with contextlib.suppress(Exception):
            self.timers.remove_job(sched.key)
        if sched.paused or self._stop_requested.is_set():
            return
        desc = sched.description
        limit = int(desc.get("max_active_runs") or 16)
        last = self.store.last_automated_run(sched.dag_id)
        interval = None
        if last is not None and last.data_interval_start is not None and last.data_interval_end is not None:
            interval = timetables.DataInterval(last.data_interval_start, last.data_interval_end)
        while True:
            now = self.clock()
            info = timetables.next_dagrun_info(desc, interval, now=now)
            if info is None or info.data_interval is None:
                return
            if info.run_after > now:
                sched.next_run_after = info.run_after
                fire_at = utcnow() + (info.run_after - now)  # APScheduler keeps wall time; ``now`` may be injected
                self.timers.add_job(self._fire, "date", run_date=fire_at, args=[sched.key], id=sched.key,
                                    replace_existing=True)  # fmt: skip
                return
            if max(len(sched.active), self.store.count_active_runs(sched.dag_id, exclude_backfill=True)) >= limit:
                sched.blocked = True  # the next run starts when an active one ends (_ended, or the poll)
                return
            interval = info.data_interval
            self._begin(sched, info)

    def _begin(self, sched: ScheduledDag, info: Any) -> None:
        from studio.store import DagRunExistsError

        start, end = info.data_interval
        logical_date = dt.datetime.fromisoformat(start.isoformat())
        run_after = dt.datetime.fromisoformat(info.run_after.isoformat())
        run_id = timetables.run_id(info.run_after)
        try:
            run = sched.local.begin(
                sched.dag_id, logical_date=logical_date, run_id=run_id, run_type="scheduled",
                data_interval=(logical_date, dt.datetime.fromisoformat(end.isoformat())), run_after=run_after,
            )  # fmt: skip
        except DagRunExistsError:
            self.log(f"{sched.dag_id}: a run for {logical_date.isoformat()} exists already; skipped")
            return
        except StudioError as exc:  # e.g. params the DAG's defaults do not satisfy: this run only
            self.log(f"{sched.dag_id}: run {run_id} not created: {exc.diagnostics[0].message}")
            return
        sched.active.append(run)
        self.log(f"{sched.dag_id}: run {run_id} started")

    def _fire(self, key: str) -> None:
        """APScheduler's job (in its thread): hand the due DAG to the loop."""
        self._due.put(key)
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    # -- the loop --------------------------------------------------------------------------------------
    def _loop(self) -> None:
        selector = self.selector = selectors.DefaultSelector()
        selector.register(self._wake_r, selectors.EVENT_READ, None)
        for local in self.locals:
            selector.register(local.fileno(), selectors.EVENT_READ, local)
        beat = pause_poll = time.monotonic()
        while True:
            if self._stop_requested.is_set() and self._stop_deadline is None:
                self._stop_deadline = time.monotonic() + self.stop_grace
                self.timers.remove_all_jobs()
                self.log("stopping: no new runs; waiting for running tasks")
            if self._stop_deadline is not None:
                if not any(local.runs for local in [*self.locals, *self.retiring]):
                    return
                if time.monotonic() >= self._stop_deadline:
                    self.log("stop grace period over: cancelling running tasks")
                    for local in [*self.locals, *self.retiring]:
                        local.cancel_all()
                    return
            now_mono = time.monotonic()
            timeout = min(beat + HEARTBEAT, pause_poll + PAUSE_POLL) - now_mono
            wakeups = [w for local in [*self.locals, *self.retiring] if (w := local.next_wakeup()) is not None]
            if wakeups:
                timeout = min(timeout, (min(wakeups) - self.clock()).total_seconds())
            if self._stop_deadline is not None:
                timeout = min(timeout, self._stop_deadline - now_mono)
            selector.select(max(0.0, timeout))
            with contextlib.suppress(BlockingIOError):
                while self._wake_r.recv(4096):
                    pass
            for local in [*self.locals, *self.retiring]:
                try:
                    ended = local.step(0)
                except ForkServerError:
                    if not self._stop_requested.wait(GROUP_SIGNAL_WAIT):
                        raise
                    # SIGTERM sent to the whole process group (``timeout``, a service manager) ended the
                    # fork server too, maybe a moment before this process: its tasks are gone, so its
                    # runs end failed at once
                    self.log(f"{local.path.name}: fork server stopped with the scheduler")
                    local.cancel_all()
                    continue
                for run in ended:
                    self._ended(run)
            self.close_idle_retired()
            if self._sources_changed.is_set() and self._stop_deadline is None:
                self._sources_changed.clear()
                self.reload_sources()
            while True:
                try:
                    key = self._due.get_nowait()
                except queue.Empty:
                    break
                if key in self.dags:
                    self._schedule(self.dags[key])
            if time.monotonic() - beat >= HEARTBEAT:
                beat = time.monotonic()
                self.store.heartbeat(self.job_id)
            if time.monotonic() - pause_poll >= PAUSE_POLL:
                pause_poll = time.monotonic()
                self._refresh_paused()
                for sched in self.dags.values():
                    if sched.blocked:  # maybe a run of another process ended
                        self._schedule(sched)

    def _start_watching(self) -> Any:
        """Watch the PATH's sources (if asked): a change is re-read by the loop (``reload_sources``)."""
        if not self.watch_sources:
            return None
        from studio.runtime.watch import SourceWatcher

        def changed(_sources: set[Path]) -> None:  # in the watcher's thread
            self._sources_changed.set()
            self._wake()

        watcher = SourceWatcher(self.watch_sources, changed)
        watcher.start()
        return watcher

    def _ended(self, run: DagRunExecution) -> None:
        for sched in self.dags.values():
            if run in sched.active:
                sched.active.remove(run)
                self.log(f"{run.dag_id}: run {run.run_id} {run.machine.state}")
                if run.run_type == "scheduled":
                    self._schedule(sched)

    def _refresh_paused(self) -> None:
        paused = self.store.paused_dags()
        for sched in self.dags.values():
            now_paused = sched.dag_id in paused
            if now_paused != sched.paused:
                sched.paused = now_paused
                self.log(f"{sched.dag_id}: {'paused' if now_paused else 'unpaused'}")
                self._schedule(sched)
