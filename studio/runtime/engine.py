"""The local engine: the DAG runs of one DAG file, driven by events from the fork server.

``LocalRun(path, home)`` forks the fork server first (``prepare``: it imports the DAG file and sends
the DAG descriptions) and only then opens the store, so the fork server — and every worker forked from
it — never carries SQLAlchemy. ``begin`` creates a run (``engine_run.DagRunExecution``: its state
machine ``dagrun.DagRunMachine`` and its store writes) and ``step`` advances every run in progress:
launches go to the fork server (keys ``"<run number>/<task key>"``), its Started/Finished events go back
to their run, and every state change is written to the store before it is announced to ``on_change``:
the events of one wake-up are handled in ONE transaction, announced after its commit, and the tries
they made ready are launched after it. ``execute`` is ``begin`` + ``step`` until that run is done
(``dagstudio run``); a scheduler begins runs as they come due and steps them all (``fileno`` and
``next_wakeup`` let it wait on several files at once). No polling: a step blocks on the fork server's
socket until an event arrives or the next retry / reschedule / timeout / start write is due.

Hot path (a 200-task chain, see bench/run_chain_200.py): the fork server's ``worker.prepare`` also
imports and warms what a try needs, so no forked worker pays for it again; the server keeps a spare
worker forked ahead of need and reports a try as soon as its result and log are complete
(``forkserver_loop``). The engine imports SQLAlchemy while the fork server prepares. A launched try is
not written on its own: its ``scheduled``/``queued`` changes are held (neither written nor announced),
and so is ``running`` for up to ``START_WRITE_DELAY``: a try that ends within it is recorded — queued,
running and its end — in ONE transaction (``store.batch()``), a longer one gets its start written (and
announced) when the delay is up and its end later. Changes already covered by the try records are never
written twice, and nothing is announced before it is durable. A try's end is committed before the next
launch: the next worker may read its XCom from the store.

depends_on_past / wait_for_downstream: before the run is created the engine reads the DAG's previous
run (by logical date) from the store and hands its TI states to the machine, which keeps a task that
Airflow's ``PrevDagrunDep`` would not pass with no status. Airflow never ends such a run by itself:
``DagRun.update_state`` skips its deadlock check while an unfinished TI has ``depends_on_past``, so the
scheduler (and ``dag.test()``, which logs "No tasks to run" and loops) keeps the run running until the
previous run changes. A local run has no scheduler to come back, so it ends when nothing else can
run: the run is recorded failed, the blocked TIs keep no status (so a later run that depends on them
waits too, as in Airflow), and the result's ``waiting_on_past`` says which tasks waited and why.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from studio.core.diagnostics import StudioError, error
from studio.runtime.dagrun_state import Launch, StateChange
from studio.runtime.engine_run import START_WRITE_DELAY, TIMEOUT_GRACE, DagRunExecution
from studio.runtime.forkserver import Finished, ForkServerError, Started
from studio.runtime.params import resolve_params
from studio.runtime.slots import SlotBudget, parallelism_from_env, store_loader
from studio.runtime.workers import executor_for
from studio.store.paths import db_path

__all__ = ["START_WRITE_DELAY", "TIMEOUT_GRACE", "DagRunExecution", "LocalRun", "utcnow"]

OnChange = Callable[[StateChange], None]
JOB_HEARTBEAT = 5.0  # seconds between the heartbeats of a job the LocalRun owns (``dagstudio run``)
ORPHAN_ERROR = "the process running it is gone"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class LocalRun:
    """Runs DAGs of one DAG file locally. Use as a context manager; ``close()`` stops every process."""

    def __init__(
        self, path: Path, home: Path, *, clock: Callable[[], dt.datetime] = utcnow, budget: SlotBudget | None = None
    ) -> None:
        parallelism = parallelism_from_env()  # bad value: StudioError before anything starts
        self.path = Path(path)
        self.home = Path(home)
        self.clock = clock
        self.server = executor_for(
            "studio.runtime.worker:prepare", "studio.runtime.worker:run", warm="studio.runtime.worker:warm_spare"
        )
        self.server.begin({"path": str(self.path), "db_path": str(db_path(self.home))})
        try:
            from studio.store import Store  # after the fork (workers never import SQLAlchemy), during prepare
        except BaseException:
            self.server.close()
            raise
        prepared = self.server.wait_ready()
        if "error" in prepared:
            problem = prepared["error"]
            self.server.close()
            raise StudioError(error(problem["message"], problem.get("file") or str(path), problem.get("line")))
        self.dags: dict[str, dict[str, Any]] = prepared["dags"]
        try:
            self.store = Store.open(self.home)
        except BaseException:
            self.server.close()
            raise
        self.budget = budget or SlotBudget(parallelism=parallelism, external=store_loader(self.store))
        self.hostname = socket.gethostname()
        self.runs: dict[str, DagRunExecution] = {}  # by run number (the prefix of their worker keys)
        self._numbers = iter(range(1, 1 << 62))
        self._deferred: list[tuple[OnChange | None, StateChange]] | None = None
        self.job_id: int | None = None  # the engine job (scheduler) whose runs these are, if any
        self._job_owned, self._beat = False, 0.0  # a job this LocalRun started itself (_own_job)

    def __enter__(self) -> LocalRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.server.close()
        if self._job_owned and self.job_id is not None:
            with contextlib.suppress(Exception):
                self.store.end_job(self.job_id)
        self.store.close()

    # -- runs ----------------------------------------------------------------------------------------------
    def execute(
        self,
        dag_id: str,
        *,
        conf: dict[str, Any] | None = None,
        logical_date: dt.datetime | None = None,
        on_change: OnChange | None = None,
    ) -> dict[str, Any]:
        """Run ``dag_id`` to the end; returns the run in ``dagstudio run --json``'s shape.

        ``conf`` is first merged over the DAG's params and validated (``params.resolve_params``): an
        invalid value raises ``ParamError`` (a ``StudioError``) before anything is written. Any exception
        (Ctrl-C) cancels every run in progress and is raised again."""
        run = self.begin(dag_id, conf=conf, logical_date=logical_date, on_change=on_change)
        try:
            while not run.done:
                self.step(JOB_HEARTBEAT)
                self._own_job()
        except BaseException:
            self.cancel_all()
            raise
        return run.result()

    def begin(
        self,
        dag_id: str,
        *,
        conf: dict[str, Any] | None = None,
        logical_date: dt.datetime | None = None,
        run_id: str | None = None,
        run_type: str = "manual",
        data_interval: tuple[dt.datetime, dt.datetime] | None = None,
        run_after: dt.datetime | None = None,
        on_change: OnChange | None = None,
    ) -> DagRunExecution:
        """Create a run of ``dag_id`` in the store and launch its first tries; ``step`` advances it."""
        resolve_params(self.dags[dag_id].get("params") or {}, conf or {})
        self._own_job()
        run = DagRunExecution(
            self, dag_id, conf or {}, logical_date=logical_date, run_id=run_id, run_type=run_type,
            data_interval=data_interval, run_after=run_after, on_change=on_change,
        )  # fmt: skip
        run.number = str(next(self._numbers))
        self.runs[run.number] = run
        try:
            run.start()
            run.after_step()
        except BaseException:
            self.runs.pop(run.number, None)
            raise
        return run

    # -- crash recovery (runtime.recovery) ------------------------------------------------------------------
    def resume(
        self, dag_id: str, run_id: str, *, orphan_error: str = ORPHAN_ERROR, on_change: OnChange | None = None
    ) -> DagRunExecution:
        """Continue a stored run of ``dag_id`` whose process died (``DagRunExecution.resume``): its
        orphaned tries end failed (retried under the task's retries), then ``step`` advances it."""
        record = self.store.dag_run(dag_id, run_id)
        if record is None:
            raise KeyError(f"no run {run_id!r} of DAG {dag_id!r}")
        interval = None
        if record.data_interval_start is not None and record.data_interval_end is not None:
            interval = (record.data_interval_start, record.data_interval_end)
        run = DagRunExecution(
            self, dag_id, record.conf, logical_date=record.logical_date, run_id=run_id, run_type=record.run_type,
            data_interval=interval, run_after=record.run_after, on_change=on_change,
        )  # fmt: skip
        run.number = str(next(self._numbers))
        self.runs[run.number] = run
        try:
            run.resume(record, orphan_error)
            run.after_step()
        except BaseException:
            self.runs.pop(run.number, None)
            raise
        return run

    def _own_job(self) -> None:
        """A LocalRun nobody gave a job (``dagstudio run``, a backfill) records itself as a ``run`` job,
        so a later scheduler can tell its runs were orphaned if this process dies (``runtime.recovery``)."""
        if self.job_id is None:
            self.job_id = self.store.start_job("run", self.hostname, os.getpid())
            self._job_owned = True
            self._beat = time.monotonic()
        elif self._job_owned and time.monotonic() - self._beat >= JOB_HEARTBEAT:
            self._beat = time.monotonic()
            self.store.heartbeat(self.job_id)

    def cancel_all(self) -> None:
        """Stop every worker and record every run in progress as failed (also when the executor is dead:
        its workers died with it, the runs are still recorded)."""
        for key in list(self.server.running):
            try:
                self.server.cancel(key)
            except ForkServerError:  # the executor is gone (SpawnServerError is one too)
                break
        for run in list(self.runs.values()):
            if not run.ended:
                run.cancel_remaining()
        self.runs.clear()

    # -- the loop ------------------------------------------------------------------------------------------
    def fileno(self) -> int:
        """Readable when the fork server has events (for a caller waiting on several files)."""
        return self.server.fileno()

    def next_wakeup(self) -> dt.datetime | None:
        """The earliest timer of the runs in progress (None: only events can advance them)."""
        times = [t for run in self.runs.values() if (t := run.next_wakeup()) is not None]
        return min(times) if times else None

    def step(self, timeout: float | None = None) -> list[DagRunExecution]:
        """Wait for events (at most ``timeout`` seconds, or until the next timer), handle them in ONE
        transaction, then launch what they made ready — after the commit, since the new workers may read
        the XCom just written. Returns the runs that ended in this step (and forgets them)."""
        wakeup = self.next_wakeup()
        if wakeup is not None:
            until = max(0.0, (wakeup - self.clock()).total_seconds())
            timeout = until if timeout is None else min(timeout, until)
        events = self.server.events(timeout)
        launches: dict[str, list[Launch]] = {}
        with self.batch():
            for event in events:
                number, _, key = event.key.partition("/")
                run = self.runs.get(number)
                if run is None:
                    continue
                if isinstance(event, Started):
                    run.started(Started(key, event.pid))
                elif isinstance(event, Finished):
                    launches.setdefault(number, []).extend(run.finished(_local(event, key)))
            now = self.clock()
            for number, run in self.runs.items():
                launches.setdefault(number, []).extend(run.tick(now))
        ended = []
        for number, run in list(self.runs.items()):
            run.launch(launches.get(number, []))
            run.after_step()
            if run.done:
                ended.append(self.runs.pop(number))
        return ended

    def launch(self, run: DagRunExecution, key: str, request: dict[str, Any], log: Path, timeout: float | None) -> None:
        self.server.launch(f"{run.number}/{key}", request, log, timeout=timeout)

    def cancel(self, run: DagRunExecution, key: str) -> None:
        self.server.cancel(f"{run.number}/{key}")

    @contextmanager
    def batch(self) -> Iterator[None]:
        """The store writes inside are one transaction; the changes they record are announced once it
        has committed (and not at all if it fails)."""
        self._deferred = []
        try:
            with self.store.batch():
                yield
            deferred, self._deferred = self._deferred, None
            for on_change, change in deferred:
                if on_change is not None:
                    on_change(change)
        finally:
            self._deferred = None

    def announce(self, on_change: OnChange | None, change: StateChange) -> None:
        """Announce ``change`` to ``on_change`` now, or after the commit of the open ``batch``."""
        if self._deferred is not None:
            self._deferred.append((on_change, change))
        elif on_change is not None:
            on_change(change)


def _local(event: Finished, key: str) -> Finished:
    """The event with the run-local key."""
    return dataclasses.replace(event, key=key)
