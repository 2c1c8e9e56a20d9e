"""The DagRun state machine: launches, try numbers, retries, failures, run state, skips and the
ready queue, on hand-built descriptions with a fake clock."""

from __future__ import annotations

from datetime import timedelta

from studio.runtime.dagrun import DagRunMachine
from studio.runtime.retries import retry_delay
from tests.test_runtime_dagrun_helpers import T0, FakeClock, dag, result, run_all, task


def states(machine) -> dict:
    return {ti.key: ti.state for ti in machine.tis()}


def test_chain_runs_in_order_and_succeeds():
    clock = FakeClock()
    m = DagRunMachine(dag(task("a"), task("b", ["a"]), task("c", ["b"])), clock=clock)
    assert m.state == "queued"
    launches = m.start()
    assert [(x.key, x.try_number) for x in launches] == [("a", 1)]
    assert m.state == "running" and m.start_date == T0
    assert m.ti("b").state is None
    m.on_started("a", clock.advance(1))
    assert m.ti("a").state == "running" and m.ti("a").start_date == T0 + timedelta(seconds=1)
    clock.advance(2)
    assert [x.key for x in m.on_finished("a", result(), 0)] == ["b"]
    assert m.ti("a").end_date == T0 + timedelta(seconds=3)
    assert run_all_from(m, ["b"]) == ["b", "c"]
    assert m.state == "success"
    assert states(m) == {"a": "success", "b": "success", "c": "success"}
    assert all(ti.try_number == 1 for ti in m.tis())


def run_all_from(m, keys):
    """Finish the given keys and everything they launch, all with success."""
    order, pending = [], list(keys)
    while pending:
        key = pending.pop(0)
        order.append(key)
        m.on_started(key)
        pending += [x.key for x in m.on_finished(key, result(), 0)]
    return order


def test_changes_record_every_transition():
    m = DagRunMachine(dag(task("a"), task("b", ["a"])), clock=FakeClock())
    run_all(m, {"a": "failed"})
    changes = [(c.key, c.old, c.new, c.try_number) for c in m.changes()]
    assert changes == [
        ("a", None, "scheduled", 1),
        ("a", "scheduled", "queued", 1),
        ("a", "queued", "running", 1),
        ("a", "running", "failed", 1),
        ("b", None, "upstream_failed", 0),
    ]
    assert m.changes() == []  # drained
    assert m.state == "failed"


def test_upstream_failed_propagates_and_fails_the_run_through_a_leaf():
    d = dag(task("a"), task("b", ["a"]), task("c", ["b"]), task("ok"))
    m = DagRunMachine(d, clock=FakeClock())
    run_all(m, {"a": "failed"})
    assert states(m) == {"a": "failed", "b": "upstream_failed", "c": "upstream_failed", "ok": "success"}
    assert m.state == "failed"


def test_failed_task_that_is_not_a_leaf_does_not_fail_the_run():
    # a fails, its downstream (all_done) succeeds: the only leaf succeeded -> run success (Airflow)
    m = DagRunMachine(dag(task("a"), task("cleanup", ["a"], trigger_rule="all_done")), clock=FakeClock())
    run_all(m, {"a": "failed"})
    assert states(m) == {"a": "failed", "cleanup": "success"}
    assert m.state == "success"


def test_skipped_result_skips_all_success_downstream_and_the_run_succeeds():
    d = dag(task("a"), task("b", ["a"]), task("c", ["a"], trigger_rule="none_skipped"), task("d", ["b"]))
    m = DagRunMachine(d, clock=FakeClock())
    run_all(m, {"a": "skipped"})
    assert states(m) == {"a": "skipped", "b": "skipped", "c": "skipped", "d": "skipped"}
    assert m.state == "success"


def test_retries_with_delay_and_try_numbers():
    clock = FakeClock()
    m = DagRunMachine(dag(task("a", retries=2, retry_delay=60), task("b", ["a"])), clock=clock)
    assert [x.try_number for x in m.start()] == [1]
    m.on_started("a")
    clock.advance(5)
    assert m.on_finished("a", result("failed", error="boom"), 1) == []
    ti = m.ti("a")
    assert (ti.state, ti.try_number, ti.max_tries, ti.error) == ("up_for_retry", 1, 2, "boom")
    assert m.next_wakeup() == T0 + timedelta(seconds=65)
    assert m.due(T0 + timedelta(seconds=64)) == []
    launches = m.due(T0 + timedelta(seconds=65))
    assert [(x.key, x.try_number) for x in launches] == [("a", 2)]
    m.on_started("a")
    m.on_finished("a", None, -11)  # died without a result: a failed try, still retried
    assert m.ti("a").state == "up_for_retry"
    assert "exit code -11" in m.ti("a").error
    clock.now = m.next_wakeup()
    assert [x.try_number for x in m.due()] == [3]
    m.on_started("a")
    m.on_finished("a", result("failed"), 1)
    assert (m.ti("a").state, m.ti("a").try_number) == ("failed", 3)
    assert m.ti("b").state == "upstream_failed"
    assert m.state == "failed" and m.next_wakeup() is None


def test_fail_fast_result_is_not_retried_but_a_timeout_is():
    clock = FakeClock()
    m = DagRunMachine(dag(task("a", retries=3), task("t", retries=1, retry_delay=0)), clock=clock)
    m.start()
    m.on_started("a")
    m.on_finished("a", result("failed", fail_fast=True), 1)
    assert (m.ti("a").state, m.ti("a").try_number) == ("failed", 1)
    m.on_started("t")
    m.on_finished("t", None, -15, timed_out=True)
    assert m.ti("t").state == "up_for_retry"
    assert m.ti("t").error == "execution_timeout exceeded"
    assert [x.key for x in m.due(clock.now)] == ["t"]


def test_exponential_backoff_matches_airflows_formula():
    t = task("a", retries=5, retry_delay=10, retry_exponential_backoff=True, max_retry_delay=100)
    delays = [retry_delay(t, dag_id="d", try_number=n, logical_date=T0).total_seconds() for n in range(1, 6)]
    # Airflow: min_backoff = ceil(10 * 2 ** (try - 1)); delay in [min_backoff, 2 * min_backoff)
    for n, delay in enumerate(delays, start=1):
        low = 10 * 2 ** (n - 1)
        assert min(low, 100) <= delay < 2 * low or delay == 100
    assert delays[-1] == 100  # capped by max_retry_delay
    assert delays == [
        retry_delay(t, dag_id="d", try_number=n, logical_date=T0).total_seconds() for n in range(1, 6)
    ]  # deterministic
    plain = task("a", retry_delay=7, retry_exponential_backoff=1.0)
    assert retry_delay(plain, dag_id="d", try_number=4, logical_date=None) == timedelta(seconds=7)
    zero = task("a", retry_delay=0, retry_exponential_backoff=3)
    assert retry_delay(zero, dag_id="d", try_number=1, logical_date=None) == timedelta(seconds=1)


def test_max_active_tasks_and_priority_weight_order_the_queue():
    tasks = [task(f"t{i}", priority_weight=w) for i, w in enumerate([1, 5, 3, 5, 2])]
    m = DagRunMachine(dag(*tasks, max_active_tasks=2), clock=FakeClock())
    first = m.start()
    assert [x.key for x in first] == ["t1", "t3"]  # highest weight first, ties in DAG order
    assert m.ti("t2").state == "scheduled"
    m.on_started("t1")
    assert [x.key for x in m.on_finished("t1", result(), 0)] == ["t2"]
    m.on_started("t3")
    m.on_started("t2")
    assert [x.key for x in m.on_finished("t3", result(), 0)] == ["t4"]
    assert [x.key for x in m.on_finished("t2", result(), 0)] == ["t0"]


def test_sensor_reschedule_keeps_the_try_number_and_first_start():
    clock = FakeClock()
    sensor = {"mode": "reschedule", "poke_interval": 30, "timeout": 600, "soft_fail": False}
    m = DagRunMachine(dag(task("s", sensor=sensor), task("b", ["s"])), clock=clock)
    m.start()
    m.on_started("s")
    clock.advance(1)
    at = (T0 + timedelta(seconds=31)).isoformat()
    assert m.on_finished("s", result("up_for_reschedule", reschedule_at=at), 0) == []
    assert (m.ti("s").state, m.ti("s").try_number) == ("up_for_reschedule", 1)
    assert m.next_wakeup() == T0 + timedelta(seconds=31)
    clock.now = m.next_wakeup()
    assert [(x.key, x.try_number) for x in m.due()] == [("s", 1)]
    m.on_started("s", clock.advance(1))
    assert m.ti("s").start_date == T0  # the first poke's start
    assert [x.key for x in m.on_finished("s", result(), 0)] == ["b"]
    assert m.ti("s").try_number == 1


def test_dagrun_timeout_fails_the_run_and_returns_running_tasks_to_stop():
    clock = FakeClock()
    d = dag(task("slow"), task("q"), task("after", ["slow"]), dagrun_timeout=60, max_active_tasks=1)
    m = DagRunMachine(d, clock=clock)
    assert [x.key for x in m.start()] == ["slow"]
    m.on_started("slow")
    assert m.next_wakeup() == T0 + timedelta(seconds=60)
    assert m.due(clock.advance(59)) == [] and m.state == "running"
    assert m.due(clock.advance(1)) == []
    assert m.state == "failed" and m.end_date == T0 + timedelta(seconds=60)
    assert m.stops() == ["slow"]
    assert states(m) == {"slow": "skipped", "q": "skipped", "after": "skipped"}  # Airflow skips them
    assert m.on_finished("slow", None, -15) == []  # the late end of a stopped try changes nothing
    assert m.ti("slow").state == "skipped" and m.next_wakeup() is None


def test_cancel_fails_running_and_skips_the_rest():
    clock = FakeClock()
    m = DagRunMachine(dag(task("a"), task("b"), task("c", ["a"]), task("r", retries=1)), clock=clock)
    m.start()
    m.on_started("a")
    m.on_started("r")
    m.on_finished("r", result("failed"), 1)
    assert sorted(m.cancel()) == ["a", "b"]  # b was queued, a running
    assert states(m) == {"a": "failed", "b": "skipped", "c": "skipped", "r": "skipped"}
    assert m.state == "failed" and m.cancel() == [] and m.due(clock.advance(999)) == []


def test_dag_fail_fast_stops_everything_but_teardowns():
    d = dag(
        task("s", is_setup=True),
        task("bad", ["s"]),
        task("slow", ["s"]),
        task("q", ["s"]),
        task("later", ["slow"]),
        task("td", ["s", "bad", "slow", "q"], is_teardown=True, trigger_rule="all_done_setup_success"),
        fail_fast=True,
    )
    m = DagRunMachine(d, clock=FakeClock())
    m.start()
    m.on_started("s")
    assert [x.key for x in m.on_finished("s", result(), 0)] == ["bad", "slow", "q"]
    m.on_started("bad")
    m.on_started("slow")  # q stays queued
    launches = m.on_finished("bad", result("failed"), 1)
    assert m.stops() == ["slow", "q"]
    assert states(m) == {
        "s": "success", "bad": "failed", "slow": "failed", "q": "skipped", "later": "skipped",
        "td": "queued",
    }  # fmt: skip
    assert [x.key for x in launches] == ["td"]
    assert m.on_finished("q", None, -15) == []  # the stopped worker's end changes nothing
    m.on_started("td")
    m.on_finished("td", result(), 0)
    assert m.state == "failed"


def test_setup_teardown_run_state_ignores_the_teardown():
    d = dag(
        task("s", is_setup=True),
        task("w", ["s"]),
        task("td", ["s", "w"], is_teardown=True, trigger_rule="all_done_setup_success"),
    )
    m = DagRunMachine(d, clock=FakeClock())
    assert run_all(m, {"w": "failed"}) == ["s", "w", "td"]
    assert states(m) == {"s": "success", "w": "failed", "td": "success"}
    assert m.state == "failed"
    m = DagRunMachine(d, clock=FakeClock())
    run_all(m, {"td": "failed"})
    assert m.state == "success"  # a failed teardown does not fail the run by default
    m = DagRunMachine(d, clock=FakeClock())
    run_all(m, {"s": "failed"})
    assert states(m) == {"s": "failed", "w": "upstream_failed", "td": "upstream_failed"}


def test_teardown_waits_for_its_scope():
    # s >> w0 >> x >> td, s >> td; x (always) can end before w0: td still waits for w0, in its scope
    d = dag(
        task("s", is_setup=True),
        task("w0", ["s"]),
        task("x", ["w0"], trigger_rule="always"),
        task("td", ["s", "x"], is_teardown=True, trigger_rule="all_done_setup_success"),
    )
    m = DagRunMachine(d, clock=FakeClock())
    assert [x.key for x in m.start()] == ["s", "x"]
    m.on_started("x")
    assert m.on_finished("x", result(), 0) == []
    m.on_started("s")
    assert [x.key for x in m.on_finished("s", result(), 0)] == ["w0"]
    assert m.ti("td").state is None  # direct upstreams done, w0 still running
    m.on_started("w0")
    assert [x.key for x in m.on_finished("w0", result("failed"), 1)] == ["td"]
    m.on_started("td")
    m.on_finished("td", result(), 0)
    assert m.state == "success"  # the effective leaf is x (td is a teardown); w0 is no leaf
