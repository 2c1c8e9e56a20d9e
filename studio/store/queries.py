"""The store's read side: runs in the shape of ``dagstudio runs --json``, task instances, tries, XCom,
rendered fields, log paths and the previous run's states (``depends_on_past``/``wait_for_downstream``).

Mixed into :class:`studio.store.store.Store`; every method reads in one (deferred, snapshot) transaction
on the store's single connection. Statements are built once at import time.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, literal_column, select

from studio.store import paths
from studio.store.records import (
    DagRunRecord,
    PreviousRun,
    StoreError,
    TaskInstanceRecord,
    TIKey,
    TryRecord,
    iso,
    ti_label,
)
from studio.store.schema import UTCDateTime, dag_run, rendered_task_instance_fields, task_instance, task_try, xcom
from studio.store.xcom_reader import decode_value, unserializable

_TS = UTCDateTime()
RUNS_PER_QUERY = 500  # runs whose task instances one query of runs() fetches (SQLite's parameter limit)
_TI_ROWID = literal_column("task_instance.rowid")
_RUN_KEY = and_(dag_run.c.dag_id == bindparam("b_dag_id"), dag_run.c.run_id == bindparam("b_run_id"))


def ti_where(table: Any) -> Any:
    return and_(
        table.c.dag_id == bindparam("b_dag_id"),
        table.c.run_id == bindparam("b_run_id"),
        table.c.task_id == bindparam("b_task_id"),
        table.c.map_index == bindparam("b_map_index"),
    )


_NEWEST_FIRST = (dag_run.c.run_after.desc(), dag_run.c.id.desc())
_SEL_RUNS_ALL = select(dag_run).order_by(*_NEWEST_FIRST)
_SEL_RUNS_DAG = select(dag_run).where(dag_run.c.dag_id == bindparam("b_dag_id")).order_by(*_NEWEST_FIRST)
_SEL_RUN = select(dag_run).where(_RUN_KEY)
_TI_SUMMARY = (task_instance.c.task_id, task_instance.c.map_index, task_instance.c.state,
               task_instance.c.try_number, task_instance.c.start_date, task_instance.c.end_date)  # fmt: skip
_SEL_TIS_OF_RUNS = (
    select(task_instance.c.dag_id, task_instance.c.run_id, *_TI_SUMMARY)
    .select_from(
        dag_run.join(
            task_instance,
            and_(task_instance.c.dag_id == dag_run.c.dag_id, task_instance.c.run_id == dag_run.c.run_id),
        )
    )
    .where(dag_run.c.id.in_(bindparam("b_ids", expanding=True)))
    .order_by(task_instance.c.dag_id, task_instance.c.run_id, _TI_ROWID)  # insertion (topological) order
)
_SEL_TIS = (
    select(task_instance)
    .where(task_instance.c.dag_id == bindparam("b_dag_id"), task_instance.c.run_id == bindparam("b_run_id"))
    .order_by(_TI_ROWID)
)
SEL_TI = select(task_instance).where(ti_where(task_instance))
_SEL_TRIES = select(task_try).where(ti_where(task_try)).order_by(task_try.c.try_number)
_SEL_XCOM = select(xcom.c.key, xcom.c.value).where(ti_where(xcom)).order_by(xcom.c.timestamp, xcom.c.key)
_SEL_RTIF = select(rendered_task_instance_fields.c.rendered_fields).where(ti_where(rendered_task_instance_fields))
_SEL_PREVIOUS = (
    select(dag_run)
    .where(
        dag_run.c.dag_id == bindparam("b_dag_id"),
        dag_run.c.logical_date < bindparam("b_logical_date", type_=_TS),
        dag_run.c.run_type.not_in(bindparam("b_excluded", expanding=True)),
    )
    .order_by(dag_run.c.logical_date.desc())
    .limit(1)
)
_SEL_STATES = select(task_instance.c.task_id, task_instance.c.map_index, task_instance.c.state).where(
    task_instance.c.dag_id == bindparam("b_dag_id"), task_instance.c.run_id == bindparam("b_run_id")
)
_SEL_PRIOR_TI = (
    select(task_instance.c.task_id)
    .select_from(
        task_instance.join(
            dag_run, and_(task_instance.c.dag_id == dag_run.c.dag_id, task_instance.c.run_id == dag_run.c.run_id)
        )
    )
    .where(
        task_instance.c.dag_id == bindparam("b_dag_id"),
        task_instance.c.task_id == bindparam("b_task_id"),
        dag_run.c.logical_date < bindparam("b_logical_date", type_=_TS),
    )
    .limit(1)
)


def key_params(key: TIKey) -> dict[str, Any]:
    return {"b_dag_id": key[0], "b_run_id": key[1], "b_task_id": key[2], "b_map_index": key[3]}


def run_record(row: Row[Any]) -> DagRunRecord:
    values = row._asdict()
    values["conf"] = json.loads(values["conf"])
    return DagRunRecord(**values)


class StoreQueries:
    """Read methods of the store (needs ``self._conn`` and ``self.home`` from the :class:`Store`)."""

    _conn: Connection
    _pid: int
    home: Path

    def _check_process(self) -> None:
        if os.getpid() != self._pid:
            raise StoreError("a Store cannot be used in a forked child process; open one there (or use XComReader)")

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        self._check_process()
        conn = self._conn
        if getattr(self, "_batch_tx", None) is not None:  # inside a batch that has written: read its state
            yield conn
            return
        if conn.get_transaction() is not None:  # left by an interruption: roll it back (see Store._writing)
            conn.rollback()
        conn.info["read"] = True
        try:
            with conn.begin():
                yield conn
        finally:
            conn.info["read"] = False

    def runs(self, dag_id: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Runs newest first (by ``run_after``), each as ``{"dag_id","run_id","logical_date","state",
        "tasks": {"task_id" or "task_id[i]": {"state","try_number","start","end"}}}``."""
        with self._reading() as conn:
            if dag_id is None:
                rows = conn.execute(_SEL_RUNS_ALL if limit is None else _SEL_RUNS_ALL.limit(limit)).all()
            else:
                stmt = _SEL_RUNS_DAG if limit is None else _SEL_RUNS_DAG.limit(limit)
                rows = conn.execute(stmt, {"b_dag_id": dag_id}).all()
            result = [self._run_summary(run_record(row)) for row in rows]
            by_key = {(run["dag_id"], run["run_id"]): run["tasks"] for run in result}
            ids = [row.id for row in rows]
            for start in range(0, len(ids), RUNS_PER_QUERY):
                chunk = conn.execute(_SEL_TIS_OF_RUNS, {"b_ids": ids[start : start + RUNS_PER_QUERY]})
                for d_id, r_id, task_id, map_index, state, try_number, start_date, end_date in chunk:
                    tasks = by_key.get((d_id, r_id))
                    if tasks is not None:
                        tasks[ti_label(task_id, map_index)] = _ti_summary(state, try_number, start_date, end_date)
        return result

    def run(self, dag_id: str, run_id: str) -> dict[str, Any] | None:
        """One run in the shape of :meth:`runs`, or None."""
        with self._reading() as conn:
            row = conn.execute(_SEL_RUN, {"b_dag_id": dag_id, "b_run_id": run_id}).first()
            if row is None:
                return None
            summary = self._run_summary(run_record(row))
            for ti in conn.execute(_SEL_TIS, {"b_dag_id": dag_id, "b_run_id": run_id}):
                summary["tasks"][ti_label(ti.task_id, ti.map_index)] = _ti_summary(
                    ti.state, ti.try_number, ti.start_date, ti.end_date
                )
        return summary

    @staticmethod
    def _run_summary(record: DagRunRecord) -> dict[str, Any]:
        return {"dag_id": record.dag_id, "run_id": record.run_id, "logical_date": iso(record.logical_date),
                "state": record.state, "tasks": {}}  # fmt: skip

    def dag_run(self, dag_id: str, run_id: str) -> DagRunRecord | None:
        with self._reading() as conn:
            row = conn.execute(_SEL_RUN, {"b_dag_id": dag_id, "b_run_id": run_id}).first()
        return None if row is None else run_record(row)

    def task_instances(self, dag_id: str, run_id: str) -> list[TaskInstanceRecord]:
        """The run's task instances in the order they were created."""
        with self._reading() as conn:
            rows = conn.execute(_SEL_TIS, {"b_dag_id": dag_id, "b_run_id": run_id}).all()
        return [TaskInstanceRecord(*row) for row in rows]

    def task_instance(self, key: TIKey) -> TaskInstanceRecord | None:
        with self._reading() as conn:
            row = conn.execute(SEL_TI, key_params(key)).first()
        return None if row is None else TaskInstanceRecord(*row)

    def tries(self, key: TIKey) -> list[TryRecord]:
        """Every recorded try of the task instance, oldest first."""
        with self._reading() as conn:
            rows = conn.execute(_SEL_TRIES, key_params(key)).all()
        return [TryRecord(*row) for row in rows]

    def log_path(self, key: TIKey, try_number: int | None = None) -> Path | None:
        """The log file of one try (default: the latest recorded), None when no such try was recorded."""
        tries = self.tries(key)
        if try_number is not None:
            tries = [t for t in tries if t.try_number == try_number]
        if not tries:
            return None
        found = tries[-1]
        if found.log_path is not None:
            return Path(found.log_path)
        return paths.log_path(self.home, key.dag_id, key.run_id, key.task_id, key.map_index, found.try_number)

    def xcoms(self, key: TIKey) -> dict[str, Any]:
        """The XCom of a task instance (key -> value); a value stored as a tagged repr comes back as
        :class:`~studio.store.xcom_reader.UnserializableXCom` (for display)."""
        with self._reading() as conn:
            rows = conn.execute(_SEL_XCOM, key_params(key)).all()
        return {k: unserializable(v) or decode_value(v) for k, v in rows}

    def rendered_fields(self, key: TIKey) -> dict[str, Any] | None:
        with self._reading() as conn:
            text = conn.execute(_SEL_RTIF, key_params(key)).scalar()
        return None if text is None else json.loads(text)

    def previous_run(self, dag_id: str, logical_date: dt.datetime, exclude_manual: bool = False) -> PreviousRun | None:
        """The DAG's run with the latest logical date before ``logical_date`` and its TI states (Airflow's
        ``DagRun.get_previous_dagrun``; ``exclude_manual`` gives ``get_previous_scheduled_dagrun``,
        which ``depends_on_past`` uses when the DAG has ``catchup``)."""
        excluded = ["manual"] if exclude_manual else ["\x00none"]
        with self._reading() as conn:
            row = conn.execute(
                _SEL_PREVIOUS, {"b_dag_id": dag_id, "b_logical_date": logical_date, "b_excluded": excluded}
            ).first()
            if row is None:
                return None
            record = run_record(row)
            states = conn.execute(_SEL_STATES, {"b_dag_id": dag_id, "b_run_id": record.run_id}).all()
        return PreviousRun(record, {(task_id, map_index): state for task_id, map_index, state in states})

    def has_prior_ti(self, dag_id: str, task_id: str, logical_date: dt.datetime) -> bool:
        """Whether the task has a task instance in any run before ``logical_date``
        (``ignore_first_depends_on_past``)."""
        params = {"b_dag_id": dag_id, "b_task_id": task_id, "b_logical_date": logical_date}
        with self._reading() as conn:
            return conn.execute(_SEL_PRIOR_TI, params).first() is not None


def _ti_summary(state: str | None, try_number: int, start: dt.datetime | None, end: dt.datetime | None) -> dict:
    return {"state": state, "try_number": try_number, "start": iso(start), "end": iso(end)}
