"""Pools in the store: revision 0002 (``slot_pool`` with Airflow's ``default_pool`` of 128 slots),
list / get / set / delete with Airflow's rules, an older store upgraded, and the queued/running TIs of
runs in progress that occupy slots."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path

import pytest

from studio.store import Store, StoreError, TIKey
from studio.store.migrate import MIGRATIONS
from studio.store.pools import PoolNotFound, PoolRecord

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def test_a_new_store_has_airflows_default_pool(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        assert store.pools() == [PoolRecord("default_pool", 128, "Default pool", False)]
        assert store.pool("default_pool") == PoolRecord("default_pool", 128, "Default pool", False)
        assert store.pool("other") is None


def test_set_creates_then_updates_and_keeps_the_description(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        assert store.set_pool("db", 2, "the database") == PoolRecord("db", 2, "the database")
        assert store.set_pool("db", 5) == PoolRecord("db", 5, "the database")
        store.set_pool("gpu", -1)
        assert [p.pool for p in store.pools()] == ["default_pool", "db", "gpu"]
    with Store.open(tmp_path) as store:  # durable
        assert store.pool("db") == PoolRecord("db", 5, "the database")
        assert store.pool("gpu") == PoolRecord("gpu", -1, None)


@pytest.mark.parametrize(("name", "slots"), [("", 1), ("  ", 1), ("x" * 257, 1), ("p", -2), ("p", True), ("p", 1.5)])
def test_bad_pools_are_refused_and_nothing_is_written(tmp_path: Path, name: str, slots: object) -> None:
    with Store.open(tmp_path) as store:
        with pytest.raises(StoreError):
            store.set_pool(name, slots)  # type: ignore[arg-type]
        assert [p.pool for p in store.pools()] == ["default_pool"]


def test_delete_follows_airflow(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        store.set_pool("db", 2)
        assert store.delete_pool("db") == PoolRecord("db", 2)
        with pytest.raises(PoolNotFound, match="Pool 'db' doesn't exist"):
            store.delete_pool("db")
        with pytest.raises(StoreError, match="default_pool cannot be deleted"):
            store.delete_pool("default_pool")
        assert store.pool("default_pool") is not None


def test_a_store_of_revision_0001_gets_the_pools_and_keeps_its_runs(tmp_path: Path) -> None:
    only_0001 = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, only_0001, ignore=shutil.ignore_patterns("__pycache__", "0002_*", "0003_*", "0004_*"))
    home = tmp_path / "home"
    Store.open(home, script_location=only_0001).close()
    with sqlite3.connect(home / "dagstudio.db") as conn:  # a run written by that older version
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
        conn.execute("INSERT INTO dag (dag_id) VALUES ('etl')")
        conn.execute(
            "INSERT INTO dag_run (dag_id, run_id, logical_date, run_after, run_type, state) "
            "VALUES ('etl', 'r1', ?, ?, 'manual', 'success')",
            (T0.isoformat(timespec="microseconds"), T0.isoformat(timespec="microseconds")),
        )
    with Store.open(home) as store:
        assert [r["run_id"] for r in store.runs()] == ["r1"]
        assert store.pools() == [PoolRecord("default_pool", 128, "Default pool", False)]


def test_active_task_instances_are_the_queued_and_running_tis_of_runs_in_progress(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        rows = [{"task_id": t, "pool": "p", "pool_slots": 2} for t in ("a", "b", "c", "d")]
        store.create_dag_run("etl", "live", logical_date=T0, state="running", task_instances=rows)
        store.create_dag_run("etl", "done", logical_date=T0 + dt.timedelta(days=1), state="failed",
                             task_instances=rows)  # fmt: skip
        store.start_try(TIKey("etl", "live", "a"), 1, start_date=T0, pid=123, hostname="h", queued_dttm=T0)
        store.queue_try(TIKey("etl", "live", "b"), 1, T0)
        store.update_ti(TIKey("etl", "live", "c"), state="success")
        store.start_try(TIKey("etl", "done", "a"), 1, start_date=T0, pid=9, hostname="h")  # run not in progress
        found = {
            (ti.run_id, ti.task_id): (ti.state, ti.pool, ti.pool_slots, ti.pid) for ti in store.active_task_instances()
        }
    assert found == {("live", "a"): ("running", "p", 2, 123), ("live", "b"): ("queued", "p", 2, None)}
