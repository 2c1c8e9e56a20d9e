"""Bring a store file to the schema this DAG Studio knows (Alembic), or refuse one from a newer version.

Fast paths, without importing Alembic (≈0.1 s) or replaying every revision (≈0.2 s more): the revision
stamped in ``alembic_version`` equals :data:`schema.SCHEMA_HEAD` (every run on an existing home); or the
file is new and empty — then the head schema is created from ``schema.metadata`` with the rows the
migrations seed (``default_pool``, the default connections) and stamped, in one transaction (a test checks it equals what the
migrations build). Otherwise Alembic's script directory decides: a known older revision (or an empty file) is upgraded to head in one transaction; a revision
the script directory does not know was written by a newer DAG Studio and the store is refused with
:class:`StoreVersionError` before anything is written.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from studio.store.schema import SCHEMA_HEAD

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class StoreVersionError(RuntimeError):
    """The store file was written by a newer DAG Studio (its schema revision is unknown here)."""


def current_revision(conn: Connection) -> str | None:
    """The revision stamped in the store, None for a store without one (new file)."""
    try:
        rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").fetchall()
    except OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise
    finally:
        if conn.in_transaction():
            conn.rollback()
    if len(rows) > 1:
        raise StoreVersionError(f"store has several schema revisions {sorted(r[0] for r in rows)}; cannot use it")
    return rows[0][0] if rows else None


def upgrade(conn: Connection, db_label: str, script_location: Path = MIGRATIONS) -> str:
    """Upgrade the store on ``conn`` to the newest revision in ``script_location``; return that revision.

    ``script_location`` is a parameter for tests (a script directory with a later revision)."""
    found = current_revision(conn)
    if found == SCHEMA_HEAD and script_location == MIGRATIONS:
        return found
    if found is None and script_location == MIGRATIONS and create_fresh(conn):
        return SCHEMA_HEAD

    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    config = Config()
    config.set_main_option("script_location", str(script_location))
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations in {script_location}")
    if found is not None:
        try:
            script.get_revision(found)
        except CommandError:
            raise StoreVersionError(
                f"{db_label} was written by a newer version of DAG Studio (store schema revision "
                f"{found!r}; this version knows revisions up to {head!r}). Upgrade DAG Studio, or choose "
                "another home with --home / DAGSTUDIO_HOME."
            ) from None
    if found == head:
        return head
    config.attributes["connection"] = conn
    command.upgrade(config, "head")
    if conn.in_transaction():
        conn.commit()
    return head


def create_fresh(conn: Connection) -> bool:
    """Create the head schema in an empty store file (no table at all) and stamp it; False if the file is
    not empty (another process was first, or an older store without a revision): Alembic then decides."""
    from sqlalchemy import text

    from studio.store.default_connections import default_connection_rows
    from studio.store.pools import DEFAULT_POOL, DEFAULT_POOL_SLOTS
    from studio.store.schema import connection, metadata, slot_pool

    with conn.begin():  # BEGIN IMMEDIATE: a second process creating the same file waits here, then sees it
        tables = conn.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE type = 'table'").scalar_one()
        if tables:
            return False
        metadata.create_all(conn)
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                          "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"))  # fmt: skip
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:head)"), {"head": SCHEMA_HEAD})
        conn.execute(slot_pool.insert(), {"pool": DEFAULT_POOL, "slots": DEFAULT_POOL_SLOTS,
                                          "description": "Default pool", "include_deferred": False})  # fmt: skip
        conn.execute(connection.insert(), default_connection_rows())
    return True
