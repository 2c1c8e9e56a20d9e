"""Crash recovery: continue the DAG runs whose engine process died (docs/ENGINE.md "Crash recovery").

Every engine process is a ``job`` in the store (a scheduler, or a ``dagstudio run`` / backfill: a
``LocalRun`` nobody gave a job starts its own) and every run records its ``creating_job_id``. When a
scheduler starts (``Scheduler.run``, after loading the DAG files and before scheduling anything):

1. ``orphaned_runs``: jobs still ``running`` whose process is gone — on this host, no live process with
   the job's pid that was created before the job started (pid reuse); on another host, no heartbeat for
   ``3 × HEARTBEAT`` — are marked ``failed``; the runs still queued/running whose creating job is not a
   live one are orphaned (a run with no creating job, written by an older engine, only when no try of it
   has a live process and nothing of it changed for ``LEGACY_STALE``).
2. ``kill_leftovers``: each queued/running try of those runs recorded on this host whose worker process
   (the leader of its own process group) still exists — created before the try started, so not a
   reused pid, and not this process — has its whole process group killed (SIGKILL), and is awaited.
   Normally there is nothing left: the dead engine's fork server sees its control socket end (EOF) and
   stops its workers, and workers die with their fork server (``PR_SET_PDEATHSIG``); this catches what
   escaped (a fork server killed with its engine leaves its workers' children, whose group lives on).
3. ``recover``: each orphaned run is resumed in the ``LocalRun`` that loaded its DAG
   (``LocalRun.resume``): the orphaned tries end failed — "the process running it is gone (engine pid N
   died)" — and are retried under the task's retries, and the run goes on under the new job.
   Runs of DAGs no loaded file has stay as they are (a later scheduler with that file resumes them).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from studio.core import states as S

if TYPE_CHECKING:
    from studio.runtime.engine import DagRunExecution, LocalRun

HEARTBEAT = 5.0  # the scheduler's heartbeat period (scheduler.HEARTBEAT); another host's job is gone after 3×
LEGACY_STALE = dt.timedelta(minutes=10)  # a run with no creating job: orphaned once untouched this long
PID_SLACK = 1.0  # seconds: process create times are read with jiffy precision
KILL_WAIT = 5.0  # seconds to wait for a killed process group to be gone


@dataclass(frozen=True)
class OrphanedRun:
    """A run whose engine process is gone, and that process's pid (None: unknown)."""

    record: Any  # the store's DagRunRecord
    dead_pid: int | None

    @property
    def reason(self) -> str:
        pid = f"pid {self.dead_pid}" if self.dead_pid is not None else "process"
        return f"the process running it is gone (engine {pid} died)"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def process_alive(pid: int | None, created_before: dt.datetime | None = None) -> bool:
    """Whether a (non-zombie) process ``pid`` exists on this host — created before ``created_before``
    (plus ``PID_SLACK``) when given, so a pid reused later does not count."""
    import psutil

    if not pid or pid <= 0:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return created_before is None or proc.create_time() <= created_before.timestamp() + PID_SLACK
    except psutil.Error:
        return False


def orphaned_runs(
    store: Any,
    hostname: str | None = None,
    *,
    now: dt.datetime | None = None,
    heartbeat: float = HEARTBEAT,
    own_job: int | None = None,
) -> list[OrphanedRun]:
    """Mark the running jobs whose process is gone ``failed`` and return the runs left queued/running
    by a process that is no longer alive (oldest logical date first)."""
    hostname = hostname or socket.gethostname()
    now = now or _utcnow()
    jobs = {job.id: job for job in store.running_jobs()}
    pids = {job.id: job.pid for job in jobs.values()}
    for job in list(jobs.values()):
        if job.id == own_job:
            continue
        if job.hostname == hostname:
            gone = not process_alive(job.pid, job.start_date)
        else:
            gone = job.latest_heartbeat is None or now - job.latest_heartbeat > dt.timedelta(seconds=3 * heartbeat)
        if gone:
            store.end_job(job.id, "failed")
            del jobs[job.id]
    found = []
    for run in store.active_runs():
        creator = run.creating_job_id
        if creator is not None and creator in jobs:
            continue
        if creator is None and not _legacy_orphan(store, run, hostname, now):
            continue
        found.append(OrphanedRun(run, pids.get(creator) if creator is not None else None))
    return found


def _legacy_orphan(store: Any, run: Any, hostname: str, now: dt.datetime) -> bool:
    """A run with no creating job (an engine before jobs existed): orphaned when no try of it has a live
    process here and none of its TIs changed for ``LEGACY_STALE``."""
    tis = store.task_instances(run.dag_id, run.run_id)
    times = [t for ti in tis for t in (ti.updated_at, ti.start_date, ti.end_date) if t is not None]
    times += [t for t in (run.start_date, run.queued_at) if t is not None]
    if times and now - max(times) < LEGACY_STALE:
        return False
    for ti in tis:
        if ti.state in (S.QUEUED, S.RUNNING) and ti.hostname == hostname and process_alive(ti.pid, ti.start_date):
            return False
    return True


def leftover_tries(store: Any, runs: Iterable[OrphanedRun], hostname: str) -> list[tuple[int, dt.datetime]]:
    """``(pid, start)`` of the queued/running tries of ``runs`` recorded on this host."""
    out = []
    for orphan in runs:
        run = orphan.record
        for ti in store.task_instances(run.dag_id, run.run_id):
            if ti.state not in (S.QUEUED, S.RUNNING):
                continue
            for attempt in store.tries(ti.key):
                if attempt.state in (S.QUEUED, S.RUNNING) and attempt.pid and attempt.hostname == hostname:
                    out.append((attempt.pid, attempt.start_date or ti.start_date or _utcnow()))
    return out


def kill_leftovers(store: Any, runs: Iterable[OrphanedRun], hostname: str | None = None) -> list[int]:
    """SIGKILL the process group of every queued/running try of ``runs`` still alive on this host
    (see the module doc); returns the pids of the killed groups' processes, once they are gone."""
    import psutil

    hostname = hostname or socket.gethostname()
    tries = leftover_tries(store, runs, hostname)
    if not tries:
        return []
    groups = _process_groups()
    victims: list[Any] = []
    for pgid, start in tries:
        members = groups.get(pgid)
        if members and _is_try_group(pgid, start):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)  # the whole group, also a member forked since the scan
            victims += members
    psutil.wait_procs(victims, timeout=KILL_WAIT)
    return sorted(p.pid for p in victims)


def _process_groups() -> dict[int, list[Any]]:
    """The live (non-zombie) processes by process group, without this process's own group."""
    import psutil

    mine = os.getpgid(0)
    groups: dict[int, list[Any]] = {}
    for proc in psutil.process_iter():
        try:
            pgid = os.getpgid(proc.pid)
            if pgid not in (mine, 0, 1) and proc.pid != os.getpid() and proc.status() != psutil.STATUS_ZOMBIE:
                groups.setdefault(pgid, []).append(proc)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return groups


def _is_try_group(pgid: int, started: dt.datetime) -> bool:
    """Whether group ``pgid`` is the try's (its worker was the leader): a live leader must have been
    created before the try started, else the pid was reused; with the leader gone, its group is what it left."""
    import psutil

    try:
        return psutil.Process(pgid).create_time() <= started.timestamp() + PID_SLACK
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False


def recover(
    locals_: Iterable[LocalRun],
    store: Any,
    *,
    own_job: int | None = None,
    log: Callable[[str], None] | None = None,
) -> list[DagRunExecution]:
    """Find the orphaned runs, kill their leftover processes and resume each in the ``LocalRun`` that
    loaded its DAG; returns the resumed runs (their ``LocalRun.step`` advances them)."""
    log = log or (lambda message: None)
    hostname = socket.gethostname()
    runs = orphaned_runs(store, hostname, own_job=own_job)
    if not runs:
        return []
    started = time.monotonic()
    killed = kill_leftovers(store, runs, hostname)
    if killed:
        log(f"recovery: killed leftover task processes {killed} ({time.monotonic() - started:.2f} s)")
    by_dag = {dag_id: local for local in locals_ for dag_id in local.dags}
    resumed = []
    for orphan in runs:
        run = orphan.record
        local = by_dag.get(run.dag_id)
        if local is None:
            log(f"recovery: {run.dag_id}: run {run.run_id} left by a dead engine; its DAG is not loaded here")
            continue
        resumed.append(local.resume(run.dag_id, run.run_id, orphan_error=orphan.reason))
        log(f"recovery: {run.dag_id}: run {run.run_id} resumed ({orphan.reason})")
    return resumed
