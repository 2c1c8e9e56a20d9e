"""Store schema: created by Alembic, equal to the tables the code uses, pragmas, upgrade of an older store,
refusal of a store written by a newer DAG Studio."""

from __future__ import annotations

import shutil
import sqlite3
import textwrap
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from studio.store import Store, StoreVersionError
from studio.store.migrate import MIGRATIONS
from studio.store.schema import SCHEMA_HEAD, metadata

NEWER = "0999"  # a revision this DAG Studio does not know
REVISION_NEWER = f'''
"""Test-only revision: adds dag.owner."""

import sqlalchemy as sa
from alembic import op

revision = "{NEWER}"
down_revision = "{SCHEMA_HEAD}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("dag", sa.Column("owner", sa.String(100), server_default="airflow"))


def downgrade() -> None:
    op.drop_column("dag", "owner")
'''


def version_of(home: Path) -> list[str]:
    with sqlite3.connect(home / "dagstudio.db") as conn:
        return [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]


@pytest.fixture
def newer_migrations(tmp_path: Path) -> Path:
    """A copy of the store's migrations plus a newer revision (as a later DAG Studio would ship)."""
    location = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, location, ignore=shutil.ignore_patterns("__pycache__"))
    (location / "versions" / f"{NEWER}_owner.py").write_text(textwrap.dedent(REVISION_NEWER))
    return location


def test_schema_head_constant_is_alembics_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_HEAD


def test_new_store_is_created_by_alembic_and_matches_the_tables(tmp_path: Path) -> None:
    with Store.open(tmp_path / "home") as store:
        assert version_of(tmp_path / "home") == [SCHEMA_HEAD]
        with store._conn.begin():
            assert compare_metadata(MigrationContext.configure(store._conn), metadata) == []
    with sqlite3.connect(tmp_path / "home" / "dagstudio.db") as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"alembic_version", "dag", "dag_run", "task_instance", "task_try", "xcom",
                      "rendered_task_instance_fields", "slot_pool", "job", "import_error",
                      "connection", "variable"}  # fmt: skip


def test_connection_pragmas(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        raw = store._conn.connection.dbapi_connection
        values = {p: raw.execute(f"PRAGMA {p}").fetchone()[0]
                  for p in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")}  # fmt: skip
    assert values == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1, "busy_timeout": 30000}


def test_opening_at_the_current_revision_does_not_import_alembic(tmp_path: Path) -> None:
    import subprocess
    import sys

    Store.open(tmp_path).close()
    code = ("import sys; from pathlib import Path; from studio.store import Store; "
            f"Store.open(Path({str(tmp_path)!r})).close(); print('alembic' in sys.modules)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])  # fmt: skip
    assert out.stdout.strip() == "False"


def test_older_store_is_upgraded_keeping_its_runs(tmp_path: Path, newer_migrations: Path) -> None:
    home = tmp_path / "home"
    with Store.open(home) as store:
        store.create_dag_run("etl", "r1", logical_date=None, task_instances=[{"task_id": "a"}])
    with Store.open(home, script_location=newer_migrations) as store:
        assert [r["run_id"] for r in store.runs()] == ["r1"]
    assert version_of(home) == [NEWER]
    with sqlite3.connect(home / "dagstudio.db") as conn:
        assert conn.execute("SELECT dag_id, owner FROM dag").fetchall() == [("etl", "airflow")]


def test_empty_file_is_created_from_scratch(tmp_path: Path) -> None:
    (tmp_path / "dagstudio.db").touch()
    with Store.open(tmp_path) as store:
        assert store.runs() == []
    assert version_of(tmp_path) == [SCHEMA_HEAD]


def test_store_of_a_newer_version_is_refused_untouched(tmp_path: Path, newer_migrations: Path) -> None:
    home = tmp_path / "home"
    Store.open(home, script_location=newer_migrations).close()
    before = (home / "dagstudio.db").read_bytes()
    with pytest.raises(StoreVersionError) as info:
        Store.open(home)
    message = str(info.value)
    assert "newer version of DAG Studio" in message and f"'{NEWER}'" in message and f"'{SCHEMA_HEAD}'" in message
    assert str(home / "dagstudio.db") in message and "--home" in message
    assert version_of(home) == [NEWER]
    assert (home / "dagstudio.db").read_bytes() == before


def test_unknown_revision_is_refused(tmp_path: Path) -> None:
    Store.open(tmp_path).close()
    with sqlite3.connect(tmp_path / "dagstudio.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'f00d'")
    with pytest.raises(StoreVersionError, match="'f00d'"):
        Store.open(tmp_path)


def _schema(db: Path) -> tuple[dict[str, list[tuple]], set[str], list[tuple], list[tuple], list[tuple]]:
    """Columns (name, type, notnull, default, pk) per table, index names, seeded pools, revision, seeded
    connections."""
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        columns = {t: [tuple(c[1:]) for c in conn.execute(f"PRAGMA table_info({t})")] for t in tables}
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        pools = conn.execute("SELECT pool, slots, description, include_deferred FROM slot_pool").fetchall()
        version = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        connections = conn.execute("SELECT * FROM connection ORDER BY id").fetchall()
    return columns, indexes, pools, version, connections


def test_a_new_store_without_alembic_equals_the_one_the_migrations_build(tmp_path: Path) -> None:
    """The fast path (``migrate.create_fresh``) and replaying every migration give the same store."""
    copy = tmp_path / "migrations"  # another script location: the Alembic path is taken
    shutil.copytree(MIGRATIONS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    Store.open(tmp_path / "fast").close()
    Store.open(tmp_path / "alembic", script_location=copy).close()
    fast, migrated = _schema(tmp_path / "fast" / "dagstudio.db"), _schema(tmp_path / "alembic" / "dagstudio.db")
    assert fast[0].keys() == migrated[0].keys()
    for table in fast[0]:
        by_name = lambda cols: sorted(cols)  # noqa: E731  (batch-added columns may come in another order)
        assert by_name(fast[0][table]) == by_name(migrated[0][table]), table
    assert fast[1:] == migrated[1:]
    assert fast[2] == [("default_pool", 128, "Default pool", 0)] and fast[3] == [(SCHEMA_HEAD,)]
    assert "fs_default" in {row[1] for row in fast[4]}
