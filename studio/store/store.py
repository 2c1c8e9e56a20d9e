"""The store: one SQLite file (WAL, ``synchronous=FULL``) behind one long-lived SQLAlchemy Core connection.

Every write method is ONE transaction (``BEGIN IMMEDIATE`` … ``COMMIT``), durable when the method returns,
so the engine can announce a state change right after; inside ``with store.batch():`` the writes join one
transaction that commits when the block ends (the engine writes a short try's start and end with one commit). Statements are built once (module level or cached
per set of columns) and executed with parameters; there is no ORM and no session per call. Reads are in
:mod:`studio.store.queries`, pools in :mod:`studio.store.pools`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.exc import IntegrityError, StatementError

from studio.store import paths
from studio.store import sqlite as sql
from studio.store.migrate import MIGRATIONS, upgrade
from studio.store.pools import PoolStore
from studio.store.queries import SEL_TI, StoreQueries, key_params
from studio.store.records import DagRunExistsError, DagRunRecord, StoreError, TIKey
from studio.store.scheduling import SchedulingStore
from studio.store.schema import as_utc, task_instance, task_try
from studio.store.xcom_reader import encode_value


class Store(StoreQueries, PoolStore, SchedulingStore):
    """The run history of one DAG Studio home. Open with :meth:`open`; not shared across threads."""

    def __init__(self, home: Path, engine: Engine, conn: Connection, clock: Callable[[], dt.datetime]) -> None:
        self.home = home
        self._engine = engine
        self._conn = conn
        self._clock = clock
        self._upserts: dict[tuple[str, tuple[str, ...]], Any] = {}
        self._pid = os.getpid()
        self._batch_depth = 0
        self._batch_tx: Any = None  # the open batch's transaction, once it has written

    @classmethod
    def open(
        cls, home: Path, *, clock: Callable[[], dt.datetime] = sql.utcnow, script_location: Path = MIGRATIONS
    ) -> Store:
        """Open (creating or upgrading) the store in ``home``; refuses a store of a newer DAG Studio."""
        home = Path(home)
        home.mkdir(parents=True, exist_ok=True)
        path = paths.db_path(home)
        engine = sql.make_engine(path)
        conn = engine.connect()
        try:
            upgrade(conn, str(path), script_location)
        except BaseException:
            conn.close()
            engine.dispose()
            raise
        return cls(home, engine, conn, clock)

    @property
    def db_path(self) -> Path:
        return paths.db_path(self.home)

    def close(self) -> None:
        self._conn.close()
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group the writes inside into ONE transaction (one commit): durable together when the block ends,
        or — if anything inside raises — none of them. The transaction begins with the first write (a
        block that writes nothing costs nothing); nested batches join the outermost one."""
        if self._batch_depth:
            self._batch_depth += 1
            try:
                yield
            finally:
                self._batch_depth -= 1
            return
        self._batch_depth = 1
        try:
            yield
            if self._batch_tx is not None:
                with self._translated("batch"):
                    self._batch_tx.commit()
        except BaseException:
            self._batch_depth, self._batch_tx = 0, None
            self._discard_transaction()
            raise
        finally:
            self._batch_depth, self._batch_tx = 0, None

    @contextmanager
    def _writing(self, what: str = "") -> Iterator[Connection]:
        """One write transaction (or a part of the open :meth:`batch`); a constraint violation becomes a
        :class:`StoreError` (rolled back)."""
        if self._batch_depth:
            if self._batch_tx is None:
                self._check_process()
                self._discard_transaction()
                self._batch_tx = self._conn.begin()
            with self._translated(what):
                yield self._conn
            return
        self._check_process()
        self._discard_transaction()
        with self._translated(what), self._conn.begin():
            yield self._conn

    def _discard_transaction(self) -> None:
        """Roll back a transaction left open by an interruption (Ctrl-C/SIGTERM during a commit), so the
        next write — e.g. recording the cancelled run — starts clean instead of failing."""
        if self._conn.get_transaction() is not None:  # also an inactive one (a commit cut short)
            with contextlib.suppress(Exception):
                self._conn.rollback()

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        """A constraint violation or a bad value becomes a :class:`StoreError`."""
        try:
            yield
        except IntegrityError as exc:
            hint = " (the run or task instance it refers to does not exist)" if "FOREIGN KEY" in str(exc.orig) else ""
            raise StoreError(f"{what or 'store write'} refused: {exc.orig}{hint}") from None
        except StatementError as exc:
            if isinstance(exc.orig, ValueError | TypeError):  # a bad value (e.g. a naive datetime)
                raise StoreError(f"{what or 'store write'} refused: {exc.orig}") from None
            raise

    def _upsert(self, table: Table, keys: tuple[str, ...], fields: tuple[str, ...]) -> Any:
        """``INSERT … ON CONFLICT (keys) DO UPDATE`` of ``fields``, built once per column set."""
        cached = self._upserts.get((table.name, fields))
        if cached is None:
            stmt = insert(table)
            updated = [f for f in fields if f not in keys]
            if updated:
                stmt = stmt.on_conflict_do_update(
                    index_elements=list(keys), set_={f: stmt.excluded[f] for f in updated}
                )
            else:
                stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
            cached = self._upserts[(table.name, fields)] = stmt
        return cached

    # --- DAGs and runs ---------------------------------------------------------------------------------

    def upsert_dag(self, dag_id: str, fileloc: str | None = None) -> None:
        with self._writing() as conn:
            conn.execute(sql.UPSERT_DAG, {"dag_id": dag_id, "fileloc": fileloc, "last_seen": self._clock()})

    def create_dag_run(
        self,
        dag_id: str,
        run_id: str,
        *,
        logical_date: dt.datetime | None,
        run_type: str = "manual",
        state: str = "queued",
        data_interval_start: dt.datetime | None = None,
        data_interval_end: dt.datetime | None = None,
        conf: Mapping[str, Any] | None = None,
        run_after: dt.datetime | None = None,
        queued_at: dt.datetime | None = None,
        start_date: dt.datetime | None = None,
        fileloc: str | None = None,
        task_instances: Iterable[Mapping[str, Any]] = (),
        creating_job_id: int | None = None,
    ) -> DagRunRecord:
        """Create a run (and its DAG row, and optionally its task instances, see
        :meth:`upsert_task_instances`) in one transaction. A run id or logical date the DAG already has
        raises :class:`DagRunExistsError`."""
        now = self._clock()
        values = {
            "dag_id": dag_id, "run_id": run_id, "logical_date": logical_date,
            "run_after": run_after or logical_date or now, "data_interval_start": data_interval_start,
            "data_interval_end": data_interval_end, "run_type": run_type, "conf": dict(conf or {}),
            "state": state, "queued_at": queued_at if queued_at is not None else now, "start_date": start_date,
            "end_date": None, "creating_job_id": creating_job_id,
        }  # fmt: skip
        try:
            conf_text = json.dumps(values["conf"])
        except (TypeError, ValueError) as exc:
            raise StoreError(f"run conf of {dag_id}/{run_id} is not JSON: {exc}") from None
        try:
            with self._writing(f"create run {run_id!r} of DAG {dag_id!r}") as conn:
                conn.execute(sql.UPSERT_DAG, {"dag_id": dag_id, "fileloc": fileloc, "last_seen": now})
                result = conn.execute(sql.INSERT_RUN, {**values, "conf": conf_text})
                self._upsert_tis(conn, dag_id, run_id, task_instances)
        except StoreError as exc:
            if "dag_run.logical_date" in str(exc):
                when = logical_date.isoformat() if logical_date else None
                raise DagRunExistsError(f"DAG {dag_id!r} already has a run with logical date {when}") from None
            if "dag_run.run_id" in str(exc):
                raise DagRunExistsError(f"DAG {dag_id!r} already has a run with run_id {run_id!r}") from None
            raise
        record = {**values, "id": result.inserted_primary_key[0]}
        for name in (
            "logical_date",
            "run_after",
            "data_interval_start",
            "data_interval_end",
            "queued_at",
            "start_date",
        ):
            record[name] = as_utc(record[name])
        return DagRunRecord(**record)

    def set_dag_run_state(self, dag_id: str, run_id: str, state: str, **fields: dt.datetime | int | None) -> None:
        """Set the run's state and optionally ``queued_at`` / ``start_date`` / ``end_date`` /
        ``creating_job_id`` (a recovering scheduler adopting the run)."""
        unknown = set(fields) - sql.RUN_FIELDS
        if unknown:
            raise StoreError(f"set_dag_run_state: unknown fields {sorted(unknown)} (allowed: {sorted(sql.RUN_FIELDS)})")
        with self._writing() as conn:
            result = conn.execute(sql.UPDATE_RUN, {"b_dag_id": dag_id, "b_run_id": run_id, "state": state, **fields})
            if result.rowcount == 0:
                raise StoreError(f"no run {run_id!r} of DAG {dag_id!r}")

    # --- task instances and tries ------------------------------------------------------------------------

    def upsert_task_instances(self, dag_id: str, run_id: str, rows: Iterable[Mapping[str, Any]]) -> None:
        """Create or update task instances of a run in one transaction. Each row has ``task_id`` and
        optionally ``map_index`` (default -1) and any task instance column (``state``, ``max_tries``,
        ``priority_weight``, ``pool``, ``pool_slots``, ``operator``...); given columns overwrite."""
        with self._writing(f"task instances of run {run_id!r} of DAG {dag_id!r}") as conn:
            self._upsert_tis(conn, dag_id, run_id, rows)

    def _upsert_tis(self, conn: Connection, dag_id: str, run_id: str, rows: Iterable[Mapping[str, Any]]) -> None:
        # Consecutive rows with the same columns go in one executemany; order is kept (it is the order
        # ``runs()`` lists the tasks in).
        batch: list[dict[str, Any]] = []
        batch_fields: tuple[str, ...] = ()
        now = self._clock()
        for row in rows:
            unknown = set(row) - sql.TI_FIELDS - {"task_id", "map_index"}
            if unknown or "task_id" not in row:
                raise StoreError(f"task instance row {dict(row)!r}: needs task_id; unknown fields {sorted(unknown)}")
            values = {"map_index": -1, **row, "dag_id": dag_id, "run_id": run_id, "updated_at": now}
            fields = tuple(sorted(values))
            if fields != batch_fields and batch:
                conn.execute(self._upsert(task_instance, sql.TI_KEY, batch_fields), batch)
                batch = []
            batch_fields = fields
            batch.append(values)
        if batch:
            conn.execute(self._upsert(task_instance, sql.TI_KEY, batch_fields), batch)

    def expand_mapped_task(
        self, dag_id: str, run_id: str, task_id: str, length: int, state: str | None = None
    ) -> list[TIKey]:
        """Replace the unexpanded task instance of a mapped task (map_index -1) by ``task_id[0..length-1]``
        with its settings and try number (and ``state`` if given), in one transaction; returns their keys.
        A length of 0 expands nothing (the engine marks the unexpanded task instance skipped)."""
        if length < 1:
            raise StoreError(f"expand_mapped_task: length must be >= 1, got {length}")
        unexpanded = TIKey(dag_id, run_id, task_id, -1)
        with self._writing(f"expanding {task_id} in run {run_id!r} of DAG {dag_id!r}") as conn:
            row = conn.execute(SEL_TI, key_params(unexpanded)).first()
            if row is None:
                raise StoreError(f"no unexpanded task instance {task_id} in run {run_id!r} of DAG {dag_id!r}")
            base = {**row._asdict(), "updated_at": self._clock()}
            if state is not None:
                base["state"] = state
            conn.execute(sql.DELETE_TI, key_params(unexpanded))
            rows = [{**base, "map_index": index} for index in range(length)]
            conn.execute(self._upsert(task_instance, sql.TI_KEY, tuple(sorted(base))), rows)
        return [TIKey(dag_id, run_id, task_id, index) for index in range(length)]

    def update_ti(self, key: TIKey, **fields: Any) -> None:
        """Set columns of one task instance (``state``, ``try_number``, ``start_date``, ``end_date``,
        ``duration``, ``pid``, ``hostname``, ``queued_dttm``...) in one transaction."""
        self._check_fields(fields, sql.TI_FIELDS, "task instance")
        with self._writing() as conn:
            self._update_ti(conn, key, fields)

    def _update_ti(self, conn: Connection, key: TIKey, fields: Mapping[str, Any], stmt: Any = sql.UPDATE_TI) -> None:
        result = conn.execute(stmt, {**key_params(key), "updated_at": self._clock(), **fields})
        if result.rowcount == 0:
            raise StoreError(f"no task instance {key.label} in run {key.run_id!r} of DAG {key.dag_id!r}")

    @staticmethod
    def _check_fields(fields: Mapping[str, Any], allowed: frozenset[str], what: str) -> None:
        unknown = set(fields) - allowed
        if unknown:
            raise StoreError(f"unknown {what} fields {sorted(unknown)} (allowed: {sorted(allowed)})")

    def queue_try(self, key: TIKey, try_number: int, queued_dttm: dt.datetime) -> None:
        """The try is queued: TI ``queued`` with its ``try_number`` and a ``task_try`` row, one transaction."""
        with self._writing() as conn:
            self._update_ti(conn, key, {"state": "queued", "try_number": try_number, "queued_dttm": queued_dttm})
            self._write_try(conn, key, try_number, {"state": "queued", "queued_dttm": queued_dttm})

    def start_try(
        self,
        key: TIKey,
        try_number: int,
        *,
        start_date: dt.datetime,
        pid: int | None = None,
        hostname: str | None = None,
        log_path: Path | None = None,
        clear_xcom: bool = True,
        queued_dttm: dt.datetime | None = None,
    ) -> Path:
        """The try is running: TI ``running`` (start, pid, hostname), the try's row, and (as Airflow does at
        the start of a try) the TI's XCom cleared, in one transaction. Returns the try's log path.
        ``queued_dttm`` records the queued time too, for an engine that skips :meth:`queue_try`."""
        if log_path is None:
            log_path = paths.log_path(self.home, key.dag_id, key.run_id, key.task_id, key.map_index, try_number)
        ti_fields = {"state": "running", "try_number": try_number, "start_date": start_date, "end_date": None,
                     "duration": None, "pid": pid, "hostname": hostname}  # fmt: skip
        try_fields = {"state": "running", "start_date": start_date, "pid": pid, "hostname": hostname,
                      "log_path": str(log_path)}  # fmt: skip
        if queued_dttm is not None:
            ti_fields["queued_dttm"] = try_fields["queued_dttm"] = queued_dttm
        with self._writing() as conn:
            self._update_ti(conn, key, ti_fields)
            self._write_try(conn, key, try_number, try_fields)
            if clear_xcom:
                conn.execute(sql.DELETE_XCOM, key_params(key))
        return log_path

    def _write_try(self, conn: Connection, key: TIKey, try_number: int, fields: Mapping[str, Any]) -> None:
        values = {**key._asdict(), "try_number": try_number, **fields}
        conn.execute(self._upsert(task_try, (*sql.TI_KEY, "try_number"), tuple(values)), values)

    def record_try(self, key: TIKey, try_number: int, **fields: Any) -> None:
        """Create or update the ``task_try`` row of one try (any of its columns) in one transaction."""
        self._check_fields(fields, sql.TRY_FIELDS, "task try")
        with self._writing() as conn:
            self._write_try(conn, key, try_number, fields)

    def finish_try(
        self,
        key: TIKey,
        try_number: int,
        *,
        state: str,
        end_date: dt.datetime,
        try_state: str | None = None,
        exit_code: int | None = None,
        error: str | None = None,
        xcom: Iterable[tuple[str, Any]] | Mapping[str, Any] = (),
        rendered_fields: Mapping[str, Any] | None = None,
        ti_fields: Mapping[str, Any] | None = None,
    ) -> None:
        """The try ended: the TI gets ``state`` (e.g. ``up_for_retry`` after a failed try), end date and
        duration; the try's row ``try_state`` (default ``state``), exit code and error; the pushed XCom
        and rendered fields are stored — all in one transaction."""
        if ti_fields:
            self._check_fields(ti_fields, sql.TI_FIELDS, "task instance")
        pushes = list(xcom.items() if isinstance(xcom, Mapping) else xcom)
        now = self._clock()
        key_values = key._asdict()
        xcom_rows = [{**key_values, "key": k, "value": encode_value(v), "timestamp": now} for k, v in pushes]
        params = {**key_params(key), "b_end": end_date}
        try_values = {"state": try_state or state, "exit_code": exit_code, "error": error}
        with self._writing() as conn:
            self._update_ti(conn, key, {"b_end": end_date, "state": state, **(ti_fields or {})}, sql.FINISH_TI)
            result = conn.execute(sql.FINISH_TRY, {**params, "b_try": try_number, **try_values})
            if result.rowcount == 0:
                self._write_try(conn, key, try_number, {**try_values, "end_date": end_date})
            if xcom_rows:
                conn.execute(sql.UPSERT_XCOM, xcom_rows)
            if rendered_fields is not None:
                text = json.dumps(rendered_fields, default=repr)
                conn.execute(sql.UPSERT_RTIF, {**key_values, "try_number": try_number, "rendered_fields": text})

    def clear_xcom(self, key: TIKey) -> None:
        """Delete every XCom of the task instance (one transaction)."""
        with self._writing() as conn:
            conn.execute(sql.DELETE_XCOM, key_params(key))
