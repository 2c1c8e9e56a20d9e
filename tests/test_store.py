"""Store API: runs, task instances, tries, XCom and rendered fields, queries in the CLI's shape, reopening."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from studio.store import DagRunExistsError, Store, StoreError, TIKey, UnserializableXCom, XComReader

UTC = dt.UTC
T0 = dt.datetime(2024, 1, 1, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: dt.datetime = dt.datetime(2026, 1, 1, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(seconds=1)
        return self.now


@pytest.fixture
def store(tmp_path: Path):
    with Store.open(tmp_path / "home", clock=FakeClock()) as opened:
        yield opened


def make_run(store: Store, run_id: str = "manual__1", logical_date: dt.datetime | None = T0, **kw) -> None:
    tis = kw.pop("task_instances", [{"task_id": "a"}, {"task_id": "b", "max_tries": 2}])
    store.create_dag_run("etl", run_id, logical_date=logical_date, task_instances=tis, **kw)


def run_task(store: Store, key: TIKey, try_number: int = 1, state: str = "success", **finish) -> None:
    start = T0 + dt.timedelta(minutes=try_number)
    store.queue_try(key, try_number, start)
    store.start_try(key, try_number, start_date=start, pid=4242, hostname="box")
    store.finish_try(key, try_number, state=state, end_date=start + dt.timedelta(seconds=2.5), **finish)


def test_create_dag_run_returns_the_record_and_stores_it(store: Store) -> None:
    record = store.create_dag_run(
        "etl", "scheduled__2024", logical_date=T0, run_type="scheduled", data_interval_start=T0,
        data_interval_end=T0 + dt.timedelta(days=1), conf={"x": [1, 2]}, fileloc="/dags/etl.py",
    )  # fmt: skip
    assert record.id >= 1 and record.state == "queued" and record.conf == {"x": [1, 2]}
    assert record.run_after == T0 and record.data_interval_end == T0 + dt.timedelta(days=1)
    assert store.dag_run("etl", "scheduled__2024") == record
    assert store.dag_run("etl", "nope") is None
    with pytest.raises(StoreError, match="run conf of etl/bad is not JSON"):
        store.create_dag_run("etl", "bad", logical_date=None, conf={"x": object()})
    store.upsert_dag("etl")  # keeps the known file location
    with store._reading() as conn:
        assert conn.exec_driver_sql("SELECT fileloc FROM dag").all() == [("/dags/etl.py",)]


def test_times_are_stored_in_utc_and_naive_times_are_refused(store: Store) -> None:
    amsterdam = dt.timezone(dt.timedelta(hours=1))
    record = store.create_dag_run("etl", "r", logical_date=dt.datetime(2024, 1, 1, 1, tzinfo=amsterdam))
    assert record.logical_date == T0 and record.logical_date.tzinfo == UTC
    with pytest.raises(StoreError, match="naive datetime"):
        store.create_dag_run("etl", "r2", logical_date=dt.datetime(2024, 2, 1))
    assert store.dag_run("etl", "r2") is None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")
def test_a_store_refuses_to_work_in_a_forked_child(store: Store) -> None:
    pid = os.fork()
    if pid == 0:  # child: must refuse, never touch the parent's connection
        code = 0
        for call in (lambda: store.upsert_dag("x"), lambda: store.runs()):
            try:
                call()
                code = 1
            except StoreError as exc:
                code = code or (0 if "forked child" in str(exc) else 2)
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    store.upsert_dag("x")  # the parent goes on


def test_duplicate_run_id_and_logical_date_give_clear_errors(store: Store) -> None:
    make_run(store)
    with pytest.raises(DagRunExistsError, match="already has a run with run_id 'manual__1'"):
        make_run(store, logical_date=T0 + dt.timedelta(days=1))
    with pytest.raises(DagRunExistsError, match="already has a run with logical date 2024-01-01"):
        make_run(store, run_id="manual__2")
    # Nothing of the refused runs was written (one transaction), and other DAGs may reuse both.
    assert [r["run_id"] for r in store.runs()] == ["manual__1"]
    store.create_dag_run("other", "manual__1", logical_date=T0)
    # Runs without a logical date (Airflow 3 manual runs may have none) do not collide.
    store.create_dag_run("etl", "a", logical_date=None)
    store.create_dag_run("etl", "b", logical_date=None)


def test_runs_have_the_cli_shape_newest_first(store: Store) -> None:
    make_run(store, "old", T0, task_instances=[{"task_id": "a"}, {"task_id": "m", "map_index": 0},
                                              {"task_id": "m", "map_index": 1}, {"task_id": "z"}])  # fmt: skip
    make_run(store, "new", T0 + dt.timedelta(days=1))
    store.create_dag_run("other", "x", logical_date=T0 + dt.timedelta(days=5))
    run_task(store, TIKey("etl", "old", "m", 1))
    store.set_dag_run_state("etl", "old", "failed", end_date=T0)
    runs = store.runs("etl")
    assert [r["run_id"] for r in runs] == ["new", "old"]
    assert runs[1] == {
        "dag_id": "etl", "run_id": "old", "logical_date": "2024-01-01T00:00:00+00:00", "state": "failed",
        "tasks": {
            "a": {"state": None, "try_number": 0, "start": None, "end": None},
            "m[0]": {"state": None, "try_number": 0, "start": None, "end": None},
            "m[1]": {"state": "success", "try_number": 1, "start": "2024-01-01T00:01:00+00:00",
                     "end": "2024-01-01T00:01:02.500000+00:00"},
            "z": {"state": None, "try_number": 0, "start": None, "end": None},
        },
    }  # fmt: skip
    assert list(runs[1]["tasks"]) == ["a", "m[0]", "m[1]", "z"]  # creation (topological) order
    assert json.loads(json.dumps(runs)) == runs
    assert [r["dag_id"] for r in store.runs()] == ["other", "etl", "etl"]
    assert [r["run_id"] for r in store.runs(limit=1)] == ["x"]
    assert store.run("etl", "old") == runs[1]
    assert store.run("etl", "missing") is None


def test_runs_reads_task_instances_in_chunks(store: Store, monkeypatch) -> None:
    import studio.store.queries

    monkeypatch.setattr(studio.store.queries, "RUNS_PER_QUERY", 2)
    for n in range(5):
        make_run(store, f"r{n}", T0 + dt.timedelta(days=n), task_instances=[{"task_id": f"t{n}"}])
    runs = store.runs("etl")
    assert [(r["run_id"], list(r["tasks"])) for r in runs] == [(f"r{n}", [f"t{n}"]) for n in reversed(range(5))]


def test_set_dag_run_state(store: Store) -> None:
    make_run(store)
    store.set_dag_run_state("etl", "manual__1", "running", start_date=T0)
    store.set_dag_run_state("etl", "manual__1", "success", end_date=T0 + dt.timedelta(hours=1))
    record = store.dag_run("etl", "manual__1")
    assert (record.state, record.start_date, record.end_date) == ("success", T0, T0 + dt.timedelta(hours=1))
    with pytest.raises(StoreError, match="no run 'nope'"):
        store.set_dag_run_state("etl", "nope", "failed")
    with pytest.raises(StoreError, match="unknown fields"):
        store.set_dag_run_state("etl", "manual__1", "failed", bogus=T0)


def test_upsert_task_instances_creates_and_updates_in_bulk(store: Store) -> None:
    make_run(store, task_instances=[])
    rows = [{"task_id": f"t{i}", "priority_weight": 200 - i, "pool": "p", "operator": "PythonOperator"}
            for i in range(200)]  # fmt: skip
    store.upsert_task_instances("etl", "manual__1", rows)
    store.upsert_task_instances("etl", "manual__1", [{"task_id": "t5", "state": "removed"},
                                                     {"task_id": "m", "map_index": 3, "state": "scheduled"}])  # fmt: skip
    tis = store.task_instances("etl", "manual__1")
    assert [ti.task_id for ti in tis][:3] == ["t0", "t1", "t2"] and len(tis) == 201
    t5 = store.task_instance(TIKey("etl", "manual__1", "t5"))
    assert (t5.state, t5.priority_weight, t5.pool, t5.operator) == ("removed", 195, "p", "PythonOperator")
    assert store.task_instance(TIKey("etl", "manual__1", "m", 3)).state == "scheduled"
    with pytest.raises(StoreError, match="unknown fields"):
        store.upsert_task_instances("etl", "manual__1", [{"task_id": "x", "colour": "red"}])
    with pytest.raises(StoreError):  # no such run: the foreign key refuses it
        store.upsert_task_instances("etl", "nope", [{"task_id": "x"}])


def test_update_ti(store: Store) -> None:
    make_run(store)
    key = TIKey("etl", "manual__1", "a")
    store.update_ti(key, state="up_for_retry", try_number=1, pid=7, end_date=T0)
    ti = store.task_instance(key)
    assert (ti.state, ti.try_number, ti.pid, ti.end_date) == ("up_for_retry", 1, 7, T0)
    with pytest.raises(StoreError, match="no task instance zz"):
        store.update_ti(TIKey("etl", "manual__1", "zz"), state="failed")
    with pytest.raises(StoreError, match="unknown task instance fields"):
        store.update_ti(key, dag_id="other")


def test_tries_record_every_attempt(store: Store) -> None:
    make_run(store)
    key = TIKey("etl", "manual__1", "b")
    run_task(store, key, 1, state="up_for_retry", try_state="failed", exit_code=1, error="boom")
    run_task(store, key, 2, exit_code=0)
    tries = store.tries(key)
    assert [(t.try_number, t.state, t.exit_code, t.error) for t in tries] == [
        (1, "failed", 1, "boom"), (2, "success", 0, None)]  # fmt: skip
    first = tries[0]
    assert (first.pid, first.hostname, first.duration) == (4242, "box", 2.5)
    assert first.queued_dttm == first.start_date == T0 + dt.timedelta(minutes=1)
    ti = store.task_instance(key)
    assert (ti.state, ti.try_number, ti.duration, ti.hostname) == ("success", 2, 2.5, "box")
    assert store.tries(TIKey("etl", "manual__1", "a")) == []
    # An engine may fold "queued" into the start of the try (two commits per try instead of three).
    store.start_try(TIKey("etl", "manual__1", "a"), 1, start_date=T0, queued_dttm=T0 - dt.timedelta(seconds=1))
    folded = store.tries(TIKey("etl", "manual__1", "a"))[0]
    assert (folded.state, folded.queued_dttm, folded.start_date) == ("running", T0 - dt.timedelta(seconds=1), T0)
    assert store.task_instance(TIKey("etl", "manual__1", "a")).queued_dttm == T0 - dt.timedelta(seconds=1)


def test_log_paths_follow_airflows_layout(store: Store) -> None:
    make_run(store, task_instances=[{"task_id": "g.m", "map_index": 2}])
    key = TIKey("etl", "manual__1", "g.m", 2)
    assert store.log_path(key) is None
    returned = store.start_try(key, 1, start_date=T0)
    expected = store.home / "logs/dag_id=etl/run_id=manual__1/task_id=g.m/map_index=2/attempt=1.log"
    assert returned == expected and store.log_path(key) == expected and store.log_path(key, 1) == expected
    store.start_try(key, 2, start_date=T0, log_path=store.home / "custom.log")
    assert store.log_path(key) == store.home / "custom.log"
    assert store.log_path(key, 1) == expected and store.log_path(key, 3) is None


def test_finish_try_stores_xcom_and_rendered_fields_atomically(store: Store) -> None:
    make_run(store)
    key = TIKey("etl", "manual__1", "a")
    run_task(store, key, xcom={"return_value": {"rows": [1, 2]}, "extra": None},
             rendered_fields={"bash_command": "echo 2024-01-01", "env": {"A": "1"}})  # fmt: skip
    assert store.xcoms(key) == {"return_value": {"rows": [1, 2]}, "extra": None}
    assert store.rendered_fields(key) == {"bash_command": "echo 2024-01-01", "env": {"A": "1"}}
    # A failing write rolls the whole transaction back: state, try row and XCom stay as they were.
    other = TIKey("etl", "manual__1", "b")
    store.start_try(other, 1, start_date=T0)
    with pytest.raises(StoreError, match="unknown task instance fields"):
        store.finish_try(other, 1, state="success", end_date=T0, xcom={"k": 1}, ti_fields={"nope": 1})
    with pytest.raises(StoreError, match="no task instance"):
        store.finish_try(TIKey("etl", "manual__1", "ghost"), 1, state="success", end_date=T0, xcom={"k": 1})
    assert store.task_instance(other).state == "running" and store.xcoms(other) == {}
    assert store.tries(other)[0].state == "running"


def test_xcom_is_cleared_when_a_new_try_starts(store: Store) -> None:
    make_run(store)
    key = TIKey("etl", "manual__1", "b")
    run_task(store, key, 1, state="up_for_retry", xcom={"return_value": 1, "partial": "x"})
    assert store.xcoms(key) == {"return_value": 1, "partial": "x"}
    store.start_try(key, 2, start_date=T0)
    assert store.xcoms(key) == {}
    store.finish_try(key, 2, state="success", end_date=T0, xcom=[("return_value", 2)])
    store.start_try(key, 2, start_date=T0, clear_xcom=False)  # a reschedule poke of the same try keeps it
    assert store.xcoms(key) == {"return_value": 2}
    store.clear_xcom(key)
    assert store.xcoms(key) == {}


def test_unserializable_xcom_is_kept_as_a_tagged_repr(store: Store) -> None:
    make_run(store)
    key = TIKey("etl", "manual__1", "a")
    run_task(store, key, xcom={"return_value": {1, 2}})
    kept = store.xcoms(key)["return_value"]
    assert isinstance(kept, UnserializableXCom) and kept.type == "builtins.set" and kept.repr == "{1, 2}"


def test_a_run_survives_reopening_the_store(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with Store.open(home) as first:
        make_run(first)
        run_task(first, TIKey("etl", "manual__1", "a"), xcom={"return_value": [1]})
        first.set_dag_run_state("etl", "manual__1", "running")
        before = first.runs()
    with Store.open(home) as second:
        assert second.runs() == before
        assert second.xcoms(TIKey("etl", "manual__1", "a")) == {"return_value": [1]}
        assert len(second.tries(TIKey("etl", "manual__1", "a"))) == 1
    with XComReader(home / "dagstudio.db") as reader:
        assert reader.get("etl", "manual__1", "a") == [1]


def test_previous_run_for_depends_on_past(store: Store) -> None:
    days = [T0 + dt.timedelta(days=i) for i in range(3)]
    make_run(store, "scheduled__0", days[0], run_type="scheduled")
    make_run(store, "manual__1", days[1], run_type="manual")
    make_run(store, "scheduled__2", days[2], run_type="scheduled")
    run_task(store, TIKey("etl", "scheduled__0", "a"))
    run_task(store, TIKey("etl", "manual__1", "a"), state="failed")
    previous = store.previous_run("etl", days[2])
    assert previous.run.run_id == "manual__1"
    assert previous.ti_states == {("a", -1): "failed", ("b", -1): None}
    assert store.previous_run("etl", days[2], exclude_manual=True).run.run_id == "scheduled__0"
    assert store.previous_run("etl", days[0]) is None
    assert store.previous_run("other", days[2]) is None
    assert store.has_prior_ti("etl", "a", days[1]) and not store.has_prior_ti("etl", "a", days[0])
    assert not store.has_prior_ti("etl", "zz", days[2])


def test_expand_mapped_task_replaces_the_unexpanded_task_instance(store: Store) -> None:
    make_run(store, task_instances=[{"task_id": "a"}, {"task_id": "m", "max_tries": 3, "pool": "p",
                                                       "priority_weight": 7, "operator": "PythonOperator"}])  # fmt: skip
    store.update_ti(TIKey("etl", "manual__1", "m"), state="scheduled", try_number=1)
    keys = store.expand_mapped_task("etl", "manual__1", "m", 3)
    assert keys == [TIKey("etl", "manual__1", "m", i) for i in range(3)]
    tis = {ti.key: ti for ti in store.task_instances("etl", "manual__1")}
    assert TIKey("etl", "manual__1", "m") not in tis and set(keys) <= set(tis)
    assert {(tis[k].state, tis[k].try_number, tis[k].max_tries, tis[k].pool, tis[k].priority_weight)
            for k in keys} == {("scheduled", 1, 3, "p", 7)}  # fmt: skip
    assert list(store.run("etl", "manual__1")["tasks"]) == ["a", "m[0]", "m[1]", "m[2]"]
    with pytest.raises(StoreError, match="no unexpanded task instance m"):
        store.expand_mapped_task("etl", "manual__1", "m", 2)
    with pytest.raises(StoreError, match="length must be >= 1"):
        store.expand_mapped_task("etl", "manual__1", "a", 0)
