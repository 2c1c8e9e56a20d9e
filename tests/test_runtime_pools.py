"""Pools and parallelism in the DagRun state machine (``slots.SlotBudget``), with a fake clock.

Expected behaviour is Airflow 3.3's ``SchedulerJobRunner._executable_task_instances_to_queued`` and
``Pool.slots_stats``: a pool's open slots are its size minus the ``pool_slots`` of its queued and
running TIs; a full pool starves its other TIs; a TI needing more slots than are open waits while
lower-priority TIs that fit go; a TI of a missing pool or needing more slots than the pool has stays
``scheduled``; ``parallelism`` caps queued + running TIs of the whole engine."""

from __future__ import annotations

from datetime import timedelta

import pytest

from studio.core.diagnostics import StudioError
from studio.runtime.dagrun import DagRunMachine
from studio.runtime.slots import (
    DEFAULT_PARALLELISM,
    NO_POOL,
    NOT_ENOUGH_SLOTS,
    PARALLELISM,
    POOL_FULL,
    TOO_MANY_SLOTS,
    SlotBudget,
    parallelism_from_env,
)
from tests.test_runtime_dagrun_helpers import FakeClock, dag, result, run_all, task


def active(machine: DagRunMachine) -> set[str]:
    return {ti.key for ti in machine.tis() if ti.state in ("queued", "running")}


def finish(machine: DagRunMachine, key: str, state: str = "success") -> list[str]:
    machine.on_started(key)
    return [x.key for x in machine.on_finished(key, result(state), 0)]


# --- the budget on its own ------------------------------------------------------------------------
def test_budget_reasons_follow_airflows_pool_checks() -> None:
    budget = SlotBudget({"default_pool": 128, "p": 3, "free": -1}, parallelism=5)
    assert budget.acquire("x", "nope") == NO_POOL
    assert budget.acquire("x", "p", 4) == TOO_MANY_SLOTS  # more than the pool's size: never
    assert budget.acquire("a", "p", 2) is None
    assert budget.acquire("b", "p", 2) == NOT_ENOUGH_SLOTS  # 1 open slot, needs 2
    assert budget.acquire("c", "p", 1) is None
    assert budget.open_slots("p") == 0
    assert budget.acquire("d", "p", 1) == POOL_FULL
    assert budget.acquire("e", "free", 1000) is None  # -1: unlimited
    assert budget.acquire("f", "default_pool") is None
    assert budget.acquire("g", "default_pool") is None  # the 5th TI (a, c, e, f, g) fits parallelism 5
    assert budget.running == 5 and budget.acquire("h", "default_pool") == PARALLELISM


def test_release_frees_the_slots_once() -> None:
    budget = SlotBudget({"p": 2})
    assert budget.acquire("a", "p", 2) is None
    budget.release("a")
    budget.release("a")
    assert budget.open_slots("p") == 2 and budget.running == 0


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, DEFAULT_PARALLELISM),
        ({"AIRFLOW__CORE__PARALLELISM": "4"}, 4),
        ({"AIRFLOW__CORE__PARALLELISM": "4", "DAGSTUDIO_PARALLELISM": "7"}, 7),
        ({"DAGSTUDIO_PARALLELISM": " "}, DEFAULT_PARALLELISM),
    ],
)
def test_parallelism_from_env(environ: dict[str, str], expected: int) -> None:
    assert parallelism_from_env(environ) == expected


@pytest.mark.parametrize("value", ["0", "-3", "many", "2.5"])
def test_bad_parallelism_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(StudioError, match="DAGSTUDIO_PARALLELISM"):
        parallelism_from_env({"DAGSTUDIO_PARALLELISM": value})


# --- the machine -----------------------------------------------------------------------------------
def test_a_pool_of_two_never_has_more_than_two_queued_or_running() -> None:
    tasks = [task(f"t{i}", pool="two") for i in range(6)]
    m = DagRunMachine(dag(*tasks), clock=FakeClock(), budget=SlotBudget({"default_pool": 128, "two": 2}))
    assert [x.key for x in m.start()] == ["t0", "t1"]
    assert m.ti("t2").state == "scheduled"
    assert finish(m, "t0") == ["t2"]
    m.on_started("t1")
    assert active(m) == {"t1", "t2"}
    assert [x.key for x in m.on_finished("t1", result(), 0)] == ["t3"]
    peak = 0
    pending = ["t2", "t3"]
    while pending:
        peak = max(peak, len(active(m)))
        pending += finish(m, pending.pop(0))
    assert peak == 2 and m.state == "success"


def test_priority_weight_orders_the_pool_starved_queue() -> None:
    weights = [1, 5, 3, 5, 2]
    tasks = [task(f"t{i}", priority_weight=w, pool="one") for i, w in enumerate(weights)]
    m = DagRunMachine(dag(*tasks), clock=FakeClock(), budget=SlotBudget({"one": 1}))
    order = run_all(m)
    assert order == ["t1", "t3", "t2", "t4", "t0"]  # weight desc, ties in DAG order, one at a time


def test_a_ti_needing_more_slots_than_open_waits_while_smaller_ones_go() -> None:
    # Airflow: "Though we can execute tasks with lower priority if there's enough room"
    tasks = [task("big", priority_weight=9, pool="p", pool_slots=3), task("small", pool="p"),
             task("hog", priority_weight=10, pool="p")]  # fmt: skip
    m = DagRunMachine(dag(*tasks), clock=FakeClock(), budget=SlotBudget({"p": 3}))
    assert [x.key for x in m.start()] == ["hog", "small"]
    assert m.ti("big").state == "scheduled"
    assert finish(m, "hog") == []  # 2 open, big needs 3
    assert finish(m, "small") == ["big"]


def test_a_full_pool_does_not_hold_back_other_pools() -> None:
    tasks = [task("a", priority_weight=5, pool="p"), task("b", priority_weight=4, pool="p"), task("c")]
    m = DagRunMachine(dag(*tasks), clock=FakeClock(), budget=SlotBudget({"p": 1, "default_pool": 128}))
    assert [x.key for x in m.start()] == ["a", "c"]


def test_max_active_tasks_still_applies_with_pools() -> None:
    tasks = [task(f"t{i}") for i in range(4)]
    m = DagRunMachine(dag(*tasks, max_active_tasks=1), clock=FakeClock(), budget=SlotBudget({"default_pool": 128}))
    assert [x.key for x in m.start()] == ["t0"]


def test_a_missing_pool_leaves_the_ti_scheduled_and_ends_the_run_failed() -> None:
    tasks = [task("a"), task("b", pool="missing"), task("c", ["b"]), task("d", ["a"])]
    m = DagRunMachine(dag(*tasks), clock=FakeClock(), budget=SlotBudget({"default_pool": 128}))
    assert run_all(m) == ["a", "d"]
    assert {ti.key: ti.state for ti in m.tis()} == {"a": "success", "b": "scheduled", "c": None, "d": "success"}
    assert m.state == "failed"
    assert list(m.waiting_on_pool()) == ["b"] and "'missing' does not exist" in m.waiting_on_pool()["b"]


def test_pool_slots_above_the_pool_size_never_run() -> None:
    m = DagRunMachine(dag(task("a", pool="p", pool_slots=3)), clock=FakeClock(), budget=SlotBudget({"p": 2}))
    assert m.start() == []
    assert m.state == "failed" and m.ti("a").state == "scheduled"
    assert "needs 3 slots" in m.waiting_on_pool()["a"] and "has only 2" in m.waiting_on_pool()["a"]


def test_without_a_budget_pools_are_not_checked() -> None:
    m = DagRunMachine(dag(task("a", pool="anything", pool_slots=500)), clock=FakeClock())
    assert run_all(m) == ["a"] and m.state == "success"


def test_parallelism_is_shared_by_the_machines_of_one_budget() -> None:
    budget = SlotBudget({"default_pool": 128}, parallelism=3)
    first = DagRunMachine(dag(*[task(f"a{i}") for i in range(3)], dag_id="one"), clock=FakeClock(), budget=budget)
    second = DagRunMachine(dag(*[task(f"b{i}") for i in range(3)], dag_id="two"), clock=FakeClock(), budget=budget)
    assert [x.key for x in first.start()] == ["a0", "a1", "a2"]
    assert second.start() == [] and second.state == "running"
    assert finish(first, "a0") == []  # nothing left in the first run; a slot is free for the second
    assert [x.key for x in second.launch_ready()] == ["b0"]
    assert budget.running == 3


def test_pool_slots_are_shared_by_the_machines_of_one_budget() -> None:
    budget = SlotBudget({"p": 2})
    first = DagRunMachine(dag(task("a", pool="p", pool_slots=2)), clock=FakeClock(), budget=budget)
    second = DagRunMachine(dag(task("b", pool="p")), clock=FakeClock(), budget=budget)
    assert [x.key for x in first.start()] == ["a"]
    assert second.start() == []
    finish(first, "a")
    assert [x.key for x in second.launch_ready()] == ["b"]


def test_slots_come_back_on_retry_skip_and_cancel() -> None:
    budget = SlotBudget({"p": 1})
    tasks = [task("a", pool="p", retries=1, retry_delay=10, priority_weight=3), task("b", pool="p")]
    clock = FakeClock()
    m = DagRunMachine(dag(*tasks), clock=clock, budget=budget)
    assert [x.key for x in m.start()] == ["a"]
    assert finish(m, "a", "failed") == ["b"]  # up_for_retry gives the slot back
    assert m.ti("a").state == "up_for_retry" and budget.open_slots("p") == 0
    m.on_started("b")
    assert m.cancel() == ["b"]
    assert budget.open_slots("p") == 1 and budget.running == 0


def test_a_branch_skipping_a_queued_ti_frees_its_slot() -> None:
    tasks = [task("br", branch=True), task("x", ["br"], pool="p"), task("y", ["br"], pool="p"), task("z", pool="p")]
    budget = SlotBudget({"default_pool": 128, "p": 1})
    m = DagRunMachine(dag(*tasks), clock=FakeClock(), budget=budget)
    assert [x.key for x in m.start()] == ["br", "z"]
    m.on_started("br")
    launched = m.on_finished("br", result(follow_branches=["x"]), 0)
    assert launched == [] and m.ti("y").state == "skipped"
    assert [x.key for x in m.on_finished("z", result(), 0)] == ["x"]


def test_slots_held_by_other_processes_are_polled() -> None:
    external = {"used": {"p": 1}, "running": 1}

    def load(own_runs: set) -> tuple[dict, dict, int]:
        return {"p": 1}, dict(external["used"]), external["running"]

    clock = FakeClock()
    budget = SlotBudget(external=load)
    m = DagRunMachine(dag(task("a", pool="p")), clock=clock, budget=budget)
    assert m.start() == [] and m.state == "running"
    assert m.next_wakeup() == clock.now + timedelta(seconds=1)
    clock.advance(1)
    assert m.due(clock.now) == []  # still held elsewhere
    external.update(used={}, running=0)
    clock.advance(1)
    assert [x.key for x in m.due(clock.now)] == ["a"]
    assert m.next_wakeup() is None


def test_the_store_loader_counts_live_tis_of_other_runs_only(tmp_path) -> None:
    import datetime as dt
    import os
    import socket
    import subprocess
    import sys

    from studio.runtime.slots import store_loader
    from studio.store import Store, TIKey

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid, host, t0 = int(dead.stdout), socket.gethostname(), dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    with Store.open(tmp_path) as store:
        store.set_pool("p", 4)
        for n, run_id in enumerate(("other", "crashed", "mine")):
            rows = [{"task_id": "a", "pool": "p", "pool_slots": 2}]
            store.create_dag_run(
                "d", run_id, logical_date=t0 + dt.timedelta(days=n), state="running", task_instances=rows
            )
        alive = {"other": os.getpid(), "crashed": dead_pid, "mine": os.getpid()}
        for run_id, pid in alive.items():
            store.start_try(TIKey("d", run_id, "a"), 1, start_date=t0, pid=pid, hostname=host)
        budget = SlotBudget(external=store_loader(store))
        assert budget.external_used == {"p": 4} and budget.external_running == 2  # "mine" not claimed yet
        budget.claim("d", "mine")
        budget.refresh()
        assert budget.pools == {"default_pool": 128, "p": 4}
        assert budget.external_used == {"p": 2} and budget.external_running == 1
        assert budget.open_slots("p") == 2


def test_a_never_queueable_ti_at_the_head_blocks_a_run_of_max_active_tasks_one() -> None:
    # Airflow examines only the first max_active_tasks candidates per query and stops when that query
    # was not full: t2 (weight 44, needs 2 of default_pool's 1 slot) keeps t1 (p0, free) from running.
    # (Airflow queues nothing here: case 1 of tests/test_runtime_pools_airflow.py's generator, seed 4.)
    tasks = [task("t0", pool="p2", priority_weight=32), task("t1", pool="p0", priority_weight=43),
             task("t2", pool_slots=2, priority_weight=44)]  # fmt: skip
    budget = SlotBudget({"default_pool": 1, "p0": 2, "p1": 3, "p2": 1})
    m = DagRunMachine(dag(*tasks, max_active_tasks=1), clock=FakeClock(), budget=budget)
    assert m.start() == []
    assert m.state == "failed" and {ti.state for ti in m.tis()} == {"scheduled"}
    assert "needs 2 slots" in m.waiting_on_pool()["t2"]
    assert m.waiting_on_pool()["t1"] == "queued behind TIs that can never get a pool slot"
