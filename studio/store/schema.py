"""The store's tables (SQLAlchemy Core) with Airflow's column names, and the UTC timestamp type.

Migrations (``studio/store/migrations/versions``) create exactly these tables; a test compares the two.
Times are stored as fixed-width ISO 8601 text in UTC (``2024-01-01T00:00:00.000000+00:00``) so they sort
as text and any SQLite client can read them; Python code gets timezone-aware ``datetime`` objects back.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Dialect,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

# Keep in step with the newest file in migrations/versions (a test checks it): opening a store whose
# revision is this one needs no Alembic import at all.
SCHEMA_HEAD = "0004"

metadata = MetaData()


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware datetime stored as UTC ISO text; naive datetimes are refused (they would be ambiguous)."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> str | None:
        return to_text(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> dt.datetime | None:
        return None if value is None else dt.datetime.fromisoformat(value)


def to_text(value: dt.datetime | None) -> str | None:
    """The stored form of a timestamp (UTC, microseconds, explicit offset)."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}: {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} given to the store; pass a timezone-aware one")
    utc = value.astimezone(dt.UTC)
    return dt.datetime(*utc.timetuple()[:6], utc.microsecond, tzinfo=dt.UTC).isoformat(timespec="microseconds")


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """``value`` exactly as the store gives it back (UTC, microseconds)."""
    text = to_text(value)
    return None if text is None else dt.datetime.fromisoformat(text)


def _ti_key() -> list[Column[Any]]:
    return [
        Column("dag_id", String(250), nullable=False),
        Column("run_id", String(250), nullable=False),
        Column("task_id", String(250), nullable=False),
        Column("map_index", Integer, nullable=False, server_default="-1"),
    ]


dag = Table(
    "dag",
    metadata,
    Column("dag_id", String(250), primary_key=True),
    Column("fileloc", Text),
    Column("last_seen", UTCDateTime),
    Column("is_paused", Boolean, nullable=False, server_default="0"),
)

dag_run = Table(
    "dag_run",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dag_id", String(250), nullable=False),
    Column("run_id", String(250), nullable=False),
    Column("logical_date", UTCDateTime),
    Column("run_after", UTCDateTime, nullable=False),
    Column("data_interval_start", UTCDateTime),
    Column("data_interval_end", UTCDateTime),
    Column("run_type", String(50), nullable=False),
    Column("conf", Text, nullable=False, server_default="{}"),
    Column("state", String(50), nullable=False),
    Column("queued_at", UTCDateTime),
    Column("start_date", UTCDateTime),
    Column("end_date", UTCDateTime),
    Column("creating_job_id", Integer),
    ForeignKeyConstraint(["dag_id"], ["dag.dag_id"], name="dag_run_dag_fkey", ondelete="CASCADE"),
    UniqueConstraint("dag_id", "run_id", name="dag_run_dag_id_run_id_key"),
    UniqueConstraint("dag_id", "logical_date", name="dag_run_dag_id_logical_date_key"),
    Index("idx_dag_run_run_after", "dag_id", "run_after"),
)

_RUN_FK = {"refcolumns": ["dag_run.dag_id", "dag_run.run_id"], "ondelete": "CASCADE"}
_TI_COLS = ["dag_id", "run_id", "task_id", "map_index"]
_TI_REFS = [f"task_instance.{c}" for c in _TI_COLS]

task_instance = Table(
    "task_instance",
    metadata,
    *_ti_key(),
    Column("state", String(20)),
    Column("try_number", Integer, nullable=False, server_default="0"),
    Column("max_tries", Integer, nullable=False, server_default="0"),
    Column("start_date", UTCDateTime),
    Column("end_date", UTCDateTime),
    Column("duration", Float),
    Column("pid", Integer),
    Column("hostname", String(1000)),
    Column("queued_dttm", UTCDateTime),
    Column("priority_weight", Integer, nullable=False, server_default="1"),
    Column("pool", String(256), nullable=False, server_default="default_pool"),
    Column("pool_slots", Integer, nullable=False, server_default="1"),
    Column("operator", String(1000)),
    Column("updated_at", UTCDateTime),
    PrimaryKeyConstraint(*_TI_COLS, name="task_instance_pkey"),
    ForeignKeyConstraint(["dag_id", "run_id"], name="task_instance_dag_run_fkey", **_RUN_FK),
)

task_try = Table(
    "task_try",
    metadata,
    *_ti_key(),
    Column("try_number", Integer, nullable=False),
    Column("state", String(20)),
    Column("queued_dttm", UTCDateTime),
    Column("start_date", UTCDateTime),
    Column("end_date", UTCDateTime),
    Column("duration", Float),
    Column("pid", Integer),
    Column("exit_code", Integer),
    Column("hostname", String(1000)),
    Column("log_path", Text),
    Column("error", Text),
    PrimaryKeyConstraint(*_TI_COLS, "try_number", name="task_try_pkey"),
    ForeignKeyConstraint(_TI_COLS, _TI_REFS, name="task_try_ti_fkey", ondelete="CASCADE"),
)

xcom = Table(
    "xcom",
    metadata,
    *_ti_key(),
    Column("key", String(512), nullable=False),
    Column("value", Text, nullable=False),
    Column("timestamp", UTCDateTime, nullable=False),
    PrimaryKeyConstraint(*_TI_COLS, "key", name="xcom_pkey"),
    ForeignKeyConstraint(_TI_COLS, _TI_REFS, name="xcom_ti_fkey", ondelete="CASCADE"),
)

rendered_task_instance_fields = Table(
    "rendered_task_instance_fields",
    metadata,
    *_ti_key(),
    Column("try_number", Integer, nullable=False),
    Column("rendered_fields", Text, nullable=False),
    PrimaryKeyConstraint(*_TI_COLS, name="rendered_task_instance_fields_pkey"),
    ForeignKeyConstraint(_TI_COLS, _TI_REFS, name="rtif_ti_fkey", ondelete="CASCADE"),
)

# Airflow's ``slot_pool`` (without ``team_name``): ``slots`` -1 means unlimited. Revision 0002 creates it with
# ``default_pool`` (128 slots, Airflow's ``[core] default_pool_task_slot_count``).
slot_pool = Table(
    "slot_pool",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pool", String(256), nullable=False),
    Column("slots", Integer, nullable=False, server_default="0"),
    Column("description", Text),
    Column("include_deferred", Boolean, nullable=False, server_default="0"),
    UniqueConstraint("pool", name="slot_pool_pool_uq"),
)

# Revision 0003. Airflow's ``Job``: one row per engine process (a scheduler or a ``dagstudio run``); while
# it lives it updates ``latest_heartbeat``; a ``running`` job whose process is gone left its runs orphaned.
job = Table(
    "job",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_type", String(30), nullable=False),
    Column("state", String(20), nullable=False),
    Column("hostname", String(500)),
    Column("pid", Integer),
    Column("start_date", UTCDateTime),
    Column("end_date", UTCDateTime),
    Column("latest_heartbeat", UTCDateTime),
    Index("idx_job_state_heartbeat", "state", "latest_heartbeat"),
)

# Airflow's ``ParseImportError``: the last failure to load a DAG file (one row per file, replaced).
import_error = Table(
    "import_error",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("filename", Text, nullable=False),
    Column("line", Integer),
    Column("stacktrace", Text, nullable=False),
    Column("timestamp", UTCDateTime, nullable=False),
    UniqueConstraint("filename", name="import_error_filename_uq"),
)

# Revision 0004. Airflow's ``Connection`` and ``Variable`` (without ``team_name``): ``password``, ``extra`` and
# ``val`` are Fernet tokens when ``is_encrypted`` / ``is_extra_encrypted`` say so (studio/store/secrets.py);
# the default connections seeded by 0004 are not encrypted (public placeholders, as in Airflow's source).
connection = Table(
    "connection",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conn_id", String(250), nullable=False),
    Column("conn_type", String(500), nullable=False),
    Column("description", String(5000)),
    Column("host", String(500)),
    Column("schema", String(500)),
    Column("login", Text),
    Column("password", Text),
    Column("port", Integer),
    Column("is_encrypted", Boolean, nullable=False, server_default="0"),
    Column("is_extra_encrypted", Boolean, nullable=False, server_default="0"),
    Column("extra", Text),
    UniqueConstraint("conn_id", name="connection_conn_id_uq"),
)

variable = Table(
    "variable",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(250), nullable=False),
    Column("val", Text),
    Column("description", Text),
    Column("is_encrypted", Boolean, nullable=False, server_default="0"),
    UniqueConstraint("key", name="variable_key_uq"),
)
