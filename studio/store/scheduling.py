"""What the scheduler keeps in the store: paused DAGs, engine jobs and their heartbeat, import errors,
and the runs it reads to decide the next one (Airflow's ``DagModel.is_paused``, ``Job``,
``ParseImportError``, ``DagRun``).

Mixed into :class:`studio.store.store.Store` (``SchedulingStore``); each method is one transaction.
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects.sqlite import insert

from studio.store.queries import run_record
from studio.store.records import DagRunRecord
from studio.store.schema import dag, dag_run, import_error, job, task_instance, xcom

JOB_RUNNING, JOB_SUCCESS, JOB_FAILED = "running", "success", "failed"
ACTIVE_RUN_STATES = ("queued", "running")


@dataclass(frozen=True, slots=True)
class JobRecord:
    """One engine process (``job_type`` ``scheduler`` or ``run``)."""

    id: int
    job_type: str
    state: str
    hostname: str | None
    pid: int | None
    start_date: dt.datetime | None
    end_date: dt.datetime | None
    latest_heartbeat: dt.datetime | None


@dataclass(frozen=True, slots=True)
class ImportErrorRecord:
    """The last failure to load a DAG file."""

    filename: str
    line: int | None
    stacktrace: str
    timestamp: dt.datetime


_SEL_JOB = select(job.c.id, job.c.job_type, job.c.state, job.c.hostname, job.c.pid, job.c.start_date,
                  job.c.end_date, job.c.latest_heartbeat)  # fmt: skip
_SEL_RUN = select(*(c for c in dag_run.c))


class SchedulingStore:
    """The scheduling methods of the store (needs its ``_reading`` / ``_writing`` and ``_clock``)."""

    if TYPE_CHECKING:
        _clock: Any

        def _reading(self) -> AbstractContextManager[Connection]: ...
        def _writing(self, what: str = "") -> AbstractContextManager[Connection]: ...

    # -- DAGs ----------------------------------------------------------------------------------------------
    def register_dag(self, dag_id: str, fileloc: str | None, *, paused_upon_creation: bool) -> bool:
        """Make sure the DAG has its row (a new DAG is paused if ``paused_upon_creation``, as Airflow's
        ``is_paused_upon_creation``); returns whether it is paused now."""
        with self._writing(f"register DAG {dag_id!r}") as conn:
            stmt = insert(dag).values(dag_id=dag_id, fileloc=fileloc, last_seen=self._clock(),
                                      is_paused=paused_upon_creation)  # fmt: skip
            conn.execute(stmt.on_conflict_do_update(
                index_elements=["dag_id"], set_={"fileloc": stmt.excluded.fileloc, "last_seen": stmt.excluded.last_seen}
            ))  # fmt: skip
            return bool(conn.execute(select(dag.c.is_paused).where(dag.c.dag_id == dag_id)).scalar_one())

    def set_paused(self, dag_id: str, paused: bool) -> None:
        """Pause or unpause a DAG (its row is created if it has none yet)."""
        with self._writing(f"pause DAG {dag_id!r}") as conn:
            stmt = insert(dag).values(dag_id=dag_id, is_paused=paused)
            conn.execute(stmt.on_conflict_do_update(index_elements=["dag_id"], set_={"is_paused": paused}))

    def paused_dags(self) -> set[str]:
        with self._reading() as conn:
            return set(conn.execute(select(dag.c.dag_id).where(dag.c.is_paused.is_(True))).scalars())

    def is_paused(self, dag_id: str) -> bool | None:
        """Whether the DAG is paused; None when the store has never seen it."""
        with self._reading() as conn:
            value = conn.execute(select(dag.c.is_paused).where(dag.c.dag_id == dag_id)).scalar_one_or_none()
        return None if value is None else bool(value)

    # -- runs the scheduler reads --------------------------------------------------------------------------
    def last_automated_run(self, dag_id: str) -> DagRunRecord | None:
        """The DAG's newest scheduled or backfill run, by logical date: the one ``next_dagrun_info``
        continues from (Airflow's ``_get_latest_runs_stmt`` in dag_processing/collection.py)."""
        stmt = (_SEL_RUN.where(dag_run.c.dag_id == dag_id, dag_run.c.run_type.in_(("scheduled", "backfill")))
                .order_by(dag_run.c.logical_date.desc()).limit(1))  # fmt: skip
        with self._reading() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else run_record(row)

    def dag_runs(self, dag_id: str) -> list[DagRunRecord]:
        """Every run of the DAG, oldest logical date first (runs without one last)."""
        stmt = _SEL_RUN.where(dag_run.c.dag_id == dag_id).order_by(dag_run.c.logical_date.is_(None),
                                                                   dag_run.c.logical_date, dag_run.c.id)  # fmt: skip
        with self._reading() as conn:
            return [run_record(row) for row in conn.execute(stmt)]

    def run_at(self, dag_id: str, logical_date: dt.datetime) -> DagRunRecord | None:
        """The DAG's run for ``logical_date`` (at most one: the unique constraint), or None."""
        stmt = _SEL_RUN.where(dag_run.c.dag_id == dag_id, dag_run.c.logical_date == logical_date)
        with self._reading() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else run_record(row)

    def clear_dag_run(self, dag_id: str, run_id: str, *, retries: dict[str, int], run_type: str | None = None) -> None:
        """Airflow's ``clear_task_instances`` for a whole finished run (``dag.clear(run_id=...)``, what a
        backfill does to a failed run it re-runs): every task instance back to no status with its try number
        kept (the next try continues from it) and ``max_tries = try_number + the task's retries``
        (``retries`` per task_id; a task the DAG no longer has keeps ``max(max_tries, try_number)``), its
        XCom deleted, and the run ``queued`` again with a new ``start_date`` / ``queued_at`` and no
        ``end_date``; ``run_type`` (e.g. ``backfill``) replaces the run's type. One transaction."""
        now = self._clock()
        key = (task_instance.c.dag_id == dag_id) & (task_instance.c.run_id == run_id)
        with self._writing(f"clear run {run_id!r} of DAG {dag_id!r}") as conn:
            rows = conn.execute(select(task_instance.c.task_id, task_instance.c.map_index, task_instance.c.try_number,
                                       task_instance.c.max_tries).where(key)).all()  # fmt: skip
            for task_id, map_index, try_number, max_tries in rows:
                tries = try_number + retries[task_id] if task_id in retries else max(max_tries, try_number)
                conn.execute(
                    task_instance.update().where(key, task_instance.c.task_id == task_id,
                                                 task_instance.c.map_index == map_index),
                    {"state": None, "max_tries": tries, "updated_at": now},
                )  # fmt: skip
            conn.execute(xcom.delete().where(xcom.c.dag_id == dag_id, xcom.c.run_id == run_id))
            values: dict[str, Any] = {"state": "queued", "start_date": now, "end_date": None, "queued_at": now}
            if run_type is not None:
                values["run_type"] = run_type
            conn.execute(dag_run.update().where(dag_run.c.dag_id == dag_id, dag_run.c.run_id == run_id), values)

    def count_active_runs(self, dag_id: str, *, exclude_backfill: bool = False) -> int:
        """How many runs of the DAG are queued or running (Airflow's ``DagRun.active_runs_of_dags``)."""
        stmt = select(func.count()).where(dag_run.c.dag_id == dag_id, dag_run.c.state.in_(ACTIVE_RUN_STATES))
        if exclude_backfill:
            stmt = stmt.where(dag_run.c.run_type != "backfill")
        with self._reading() as conn:
            return int(conn.execute(stmt).scalar_one())

    def active_runs(self, dag_id: str | None = None) -> list[DagRunRecord]:
        """Runs queued or running (of one DAG, or all), oldest logical date first."""
        stmt = _SEL_RUN.where(dag_run.c.state.in_(ACTIVE_RUN_STATES))
        if dag_id is not None:
            stmt = stmt.where(dag_run.c.dag_id == dag_id)
        with self._reading() as conn:
            return [run_record(row) for row in conn.execute(stmt.order_by(dag_run.c.logical_date))]

    # -- jobs ----------------------------------------------------------------------------------------------
    def start_job(self, job_type: str, hostname: str, pid: int) -> int:
        """Record a live engine process; returns its job id."""
        now = self._clock()
        with self._writing("start job") as conn:
            result = conn.execute(job.insert(), {"job_type": job_type, "state": JOB_RUNNING, "hostname": hostname,
                                                  "pid": pid, "start_date": now, "latest_heartbeat": now})  # fmt: skip
            return int(result.inserted_primary_key[0])

    def heartbeat(self, job_id: int) -> None:
        with self._writing("job heartbeat") as conn:
            conn.execute(job.update().where(job.c.id == job_id), {"latest_heartbeat": self._clock()})

    def end_job(self, job_id: int, state: str = JOB_SUCCESS) -> None:
        now = self._clock()
        with self._writing("end job") as conn:
            conn.execute(job.update().where(job.c.id == job_id),
                         {"state": state, "end_date": now, "latest_heartbeat": now})  # fmt: skip

    def running_jobs(self) -> list[JobRecord]:
        with self._reading() as conn:
            return [JobRecord(*row) for row in conn.execute(_SEL_JOB.where(job.c.state == JOB_RUNNING))]

    def runs_of_job(self, job_id: int) -> list[DagRunRecord]:
        """The runs a job created that are still queued or running."""
        stmt = _SEL_RUN.where(dag_run.c.creating_job_id == job_id, dag_run.c.state.in_(ACTIVE_RUN_STATES))
        with self._reading() as conn:
            return [run_record(row) for row in conn.execute(stmt)]

    # -- import errors -------------------------------------------------------------------------------------
    def record_import_error(self, filename: str, message: str, line: int | None = None) -> None:
        """Keep the newest failure to load ``filename`` (replacing an older one)."""
        with self._writing("record import error") as conn:
            stmt = insert(import_error).values(filename=filename, line=line, stacktrace=message,
                                               timestamp=self._clock())  # fmt: skip
            conn.execute(stmt.on_conflict_do_update(
                index_elements=["filename"],
                set_={"line": stmt.excluded.line, "stacktrace": stmt.excluded.stacktrace,
                      "timestamp": stmt.excluded.timestamp},
            ))  # fmt: skip

    def clear_import_error(self, filename: str) -> None:
        with self._writing("clear import error") as conn:
            conn.execute(import_error.delete().where(import_error.c.filename == filename))

    def import_errors(self) -> list[ImportErrorRecord]:
        stmt = select(import_error.c.filename, import_error.c.line, import_error.c.stacktrace, import_error.c.timestamp)
        with self._reading() as conn:
            return [ImportErrorRecord(*row) for row in conn.execute(stmt.order_by(import_error.c.filename))]

    def count_runs(self, dag_id: str) -> int:
        with self._reading() as conn:
            return int(conn.execute(select(func.count()).where(dag_run.c.dag_id == dag_id)).scalar_one())
