"""SQLite specifics of the store: the connection setup (WAL, ``synchronous=FULL``, foreign keys, busy
timeout, ``BEGIN IMMEDIATE`` for writers) and the write statements, built once at import time.

Statement parameters named ``b_*`` are the WHERE/expression binds; the other keys passed at execution
become the SET columns (SQLAlchemy derives them from the parameters), so one statement serves every set
of updated columns.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, create_engine, event, func, update
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.pool import NullPool

from studio.store.queries import ti_where
from studio.store.records import StoreError
from studio.store.schema import UTCDateTime, dag, dag_run, rendered_task_instance_fields, task_instance, task_try, xcom

BUSY_TIMEOUT_MS = 30_000
_TS = UTCDateTime()
TI_KEY = ("dag_id", "run_id", "task_id", "map_index")
TI_FIELDS = frozenset(task_instance.c.keys()) - set(TI_KEY)
RUN_FIELDS = frozenset({"queued_at", "start_date", "end_date", "creating_job_id"})  # creating_job_id: adoption
TRY_FIELDS = frozenset(task_try.c.keys()) - {*TI_KEY, "try_number"}

UPSERT_DAG = insert(dag)
UPSERT_DAG = UPSERT_DAG.on_conflict_do_update(
    index_elements=["dag_id"],
    set_={
        "fileloc": func.coalesce(UPSERT_DAG.excluded.fileloc, dag.c.fileloc),
        "last_seen": UPSERT_DAG.excluded.last_seen,
    },
)
INSERT_RUN = insert(dag_run)
UPDATE_RUN = update(dag_run).where(dag_run.c.dag_id == bindparam("b_dag_id"), dag_run.c.run_id == bindparam("b_run_id"))
UPDATE_TI = update(task_instance).where(ti_where(task_instance))
_END = bindparam("b_end", type_=_TS)


def _seconds_since(column: Any) -> Any:
    return func.round((func.julianday(_END) - func.julianday(column)) * 86400.0, 3)


FINISH_TI = UPDATE_TI.values(end_date=_END, duration=_seconds_since(task_instance.c.start_date))
FINISH_TRY = (
    update(task_try)
    .where(ti_where(task_try), task_try.c.try_number == bindparam("b_try"))
    .values(end_date=_END, duration=_seconds_since(task_try.c.start_date))
)
DELETE_XCOM = xcom.delete().where(ti_where(xcom))
DELETE_TI = task_instance.delete().where(ti_where(task_instance))
UPSERT_XCOM = insert(xcom)
UPSERT_XCOM = UPSERT_XCOM.on_conflict_do_update(
    index_elements=[*TI_KEY, "key"],
    set_={"value": UPSERT_XCOM.excluded.value, "timestamp": UPSERT_XCOM.excluded.timestamp},
)
_RTIF = rendered_task_instance_fields
UPSERT_RTIF = insert(_RTIF)
UPSERT_RTIF = UPSERT_RTIF.on_conflict_do_update(
    index_elements=list(TI_KEY),
    set_={"try_number": UPSERT_RTIF.excluded.try_number, "rendered_fields": UPSERT_RTIF.excluded.rendered_fields},
)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def make_engine(path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"{path}: SQLite refused WAL mode (journal_mode is {mode!r})")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # Writers take the write lock up front (waits on busy_timeout instead of failing mid-way).
        # Straight on the DB-API connection: a statement through SQLAlchemy costs ~40 µs more.
        dbapi_conn = conn.connection.dbapi_connection
        assert dbapi_conn is not None
        dbapi_conn.execute("BEGIN" if conn.info.get("read") else "BEGIN IMMEDIATE")

    return engine
