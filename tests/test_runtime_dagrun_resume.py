"""``DagRunMachine.resume``: continuing a run from its stored task instances after the process driving it
died (crash recovery). Pure: hand-built descriptions, stored TIs and an injected clock.

Expected outcomes follow Airflow's rule for a task instance whose process is gone (a "zombie"): the try
that was queued/running counts as a failed try (``handle_failure``), retried while ``try_number <= retries``
with ``retry_delay`` from its end, else failed and its downstream tasks decided by their trigger rules.
"""

from __future__ import annotations

from datetime import timedelta

from studio.runtime.dagrun import DagRunMachine
from studio.runtime.dagrun_resume import StoredTI
from tests.test_runtime_dagrun_helpers import T0, FakeClock, dag, result, task

GONE = "the process running it is gone (engine pid 4242 died)"


def resumed(description, stored, clock, start=T0, **kwargs):
    m = DagRunMachine(description, clock=clock)
    launches = m.resume(stored, start_date=start, orphan_error=GONE, **kwargs)
    return m, launches


def finish_all(m, launches, outcomes=None, clock=None):
    """Run ``launches`` and whatever follows to the end (timers fire by moving ``clock``)."""
    outcomes, pending, order = outcomes or {}, list(launches), []
    while True:
        while pending:
            launch = pending.pop(0)
            order.append((launch.key, launch.try_number))
            m.on_started(launch.key)
            state = outcomes.get(launch.key, "success")
            extra = {"map_length": outcomes[launch.key + ":len"]} if launch.key + ":len" in outcomes else {}
            pending += m.on_finished(launch.key, result(state, **extra), 0 if state == "success" else 1)
        wake = m.next_wakeup()
        if wake is None or m.state != "running":
            return order
        clock.now = max(clock.now, wake)
        pending += m.due(wake)


def states(m):
    return {ti.key: (ti.state, ti.try_number) for ti in m.tis()}


def chain(retries=1):
    return dag(task("a"), task("b", ["a"], retries=retries, retry_delay=60), task("c", ["b"]))


def test_running_try_with_retries_left_is_failed_and_retried_after_retry_delay():
    clock = FakeClock(T0 + timedelta(minutes=10))
    stored = [StoredTI("a", state="success", try_number=1, end_date=T0), StoredTI("b", state="running", try_number=1,
              max_tries=1, start_date=T0), StoredTI("c")]  # fmt: skip
    m, launches = resumed(chain(), stored, clock)
    assert launches == []  # b waits for its retry_delay
    assert m.ti("b").state == "up_for_retry" and m.ti("b").try_number == 1
    ended = [c for c in m.changes() if c.key == "b"]
    assert [(c.old, c.new, c.fields.get("error")) for c in ended] == [("running", "up_for_retry", GONE)]
    assert m.next_wakeup() == clock.now + timedelta(seconds=60)  # retry_delay counted from the orphan's end
    order = finish_all(m, launches, clock=clock)
    assert order == [("b", 2), ("c", 1)]
    assert m.state == "success"
    assert m.start_date == T0  # the run keeps its start


def test_running_try_without_retries_fails_and_the_downstream_is_upstream_failed():
    clock = FakeClock(T0 + timedelta(minutes=1))
    stored = [StoredTI("a", state="success", try_number=1), StoredTI("b", state="running", try_number=1),
              StoredTI("c")]  # fmt: skip
    m, launches = resumed(chain(retries=0), stored, clock)
    assert launches == []
    assert states(m) == {"a": ("success", 1), "b": ("failed", 1), "c": ("upstream_failed", 0)}
    assert m.ti("b").error == GONE and m.ti("b").end_date == clock.now
    assert m.state == "failed"


def test_last_retry_orphaned_counts_as_the_last_failed_try():
    clock = FakeClock()
    stored = [StoredTI("a", state="success", try_number=1), StoredTI("b", state="running", try_number=3, max_tries=2),
              StoredTI("c")]  # fmt: skip
    m, _ = resumed(chain(retries=2), stored, clock)
    assert states(m)["b"] == ("failed", 3)  # try 3 > retries 2: no retry left
    assert m.state == "failed"


def test_queued_try_counts_as_failed_too_and_all_done_downstream_runs():
    clock = FakeClock()
    d = dag(task("a"), task("b"), task("c", ["a", "b"], trigger_rule="all_done"))
    stored = [StoredTI("a", state="queued", try_number=1), StoredTI("b", state="success", try_number=1), StoredTI("c")]
    m, launches = resumed(d, stored, clock)
    assert [(x.key, x.try_number) for x in launches] == [("c", 1)]
    assert states(m)["a"] == ("failed", 1)


def test_finished_tis_keep_their_state_and_stored_retry_keeps_its_due_time():
    clock = FakeClock(T0 + timedelta(seconds=30))
    d = dag(task("a", retries=2, retry_delay=100), task("b"))
    stored = [StoredTI("a", state="up_for_retry", try_number=1, max_tries=2, end_date=T0),
              StoredTI("b", state="success", try_number=1)]  # fmt: skip
    m, launches = resumed(d, stored, clock)
    assert launches == [] and m.ti("b").state == "success"
    assert m.next_wakeup() == T0 + timedelta(seconds=100)
    assert finish_all(m, launches, clock=clock) == [("a", 2)]
    assert m.state == "success"


def test_scheduled_ti_is_launched_with_its_stored_try_number_and_no_status_ones_are_evaluated():
    clock = FakeClock()
    d = dag(task("a", retries=1), task("b"), task("c", ["b"]))
    stored = [StoredTI("a", state="scheduled", try_number=2, max_tries=1), StoredTI("b", state="success", try_number=1),
              StoredTI("c")]  # fmt: skip
    _m, launches = resumed(d, stored, clock)
    assert sorted((x.key, x.try_number) for x in launches) == [("a", 2), ("c", 1)]


def test_everything_finished_but_the_run_row_said_running():
    clock = FakeClock()
    ok = [StoredTI("a", state="success", try_number=1), StoredTI("b", state="success", try_number=1),
          StoredTI("c", state="success", try_number=1)]  # fmt: skip
    m, launches = resumed(chain(), ok, clock)
    assert launches == [] and m.state == "success" and m.end_date == clock.now
    failed = [*ok[:2], StoredTI("c", state="failed", try_number=1)]
    m, launches = resumed(chain(), failed, clock)
    assert launches == [] and m.state == "failed"


def test_mapped_task_expanded_before_the_crash():
    clock = FakeClock()
    d = dag(task("make"), task("m", ["make"], is_mapped=True, retries=1, retry_delay=5), task("after", ["m"]))
    stored = [StoredTI("make", state="success", try_number=1),
              StoredTI("m", 0, "success", 1, 1), StoredTI("m", 1, "running", 1, 1), StoredTI("m", 2, "queued", 2, 1),
              StoredTI("after")]  # fmt: skip
    m, launches = resumed(d, stored, clock, pushes={"m": 1})
    assert launches == []
    assert states(m) == {"make": ("success", 1), "m[0]": ("success", 1), "m[1]": ("up_for_retry", 1),
                         "m[2]": ("failed", 2), "after": ("upstream_failed", 0)}  # fmt: skip
    assert finish_all(m, launches, clock=clock) == [("m[1]", 2)]
    assert m.state == "failed"


def test_mapped_task_expands_after_resume_from_a_source_that_succeeded_before_the_crash():
    clock = FakeClock()
    d = dag(task("src"), task("b", retries=1, retry_delay=0), task("m", ["src", "b"], is_mapped=True,
            map_sources=["src"]))  # fmt: skip
    stored = [StoredTI("src", state="success", try_number=1), StoredTI("b", state="running", try_number=1, max_tries=1),
              StoredTI("m")]  # fmt: skip
    m, launches = resumed(d, stored, clock, map_lengths={"src": 3})
    order = finish_all(m, launches, clock=clock)
    assert order == [("b", 2), ("m[0]", 1), ("m[1]", 1), ("m[2]", 1)]
    assert m.state == "success"


def test_orphaned_map_source_is_retried_and_its_new_length_expands_the_mapped_task():
    clock = FakeClock()
    d = dag(task("make", retries=1, retry_delay=0), task("m", ["make"], is_mapped=True))
    stored = [StoredTI("make", state="running", try_number=1, max_tries=1), StoredTI("m")]
    m, launches = resumed(d, stored, clock)
    order = finish_all(m, launches, {"make:len": 2}, clock=clock)
    assert order == [("make", 2), ("m[0]", 1), ("m[1]", 1)]


def test_dagrun_timeout_continues_from_the_stored_start():
    clock = FakeClock(T0 + timedelta(hours=2))
    d = dag(task("a"), task("b", ["a"], retries=1), dagrun_timeout=3600)
    stored = [StoredTI("a", state="success", try_number=1), StoredTI("b", state="running", try_number=1)]
    m, launches = resumed(d, stored, clock)
    assert launches == [] and m.state == "failed" and m.timed_out
    assert states(m) == {"a": ("success", 1), "b": ("skipped", 1)}  # up for retry when the run timed out
    clock.now = T0 + timedelta(minutes=30)
    stored = [StoredTI("a", state="running", try_number=1), StoredTI("b")]
    m, _ = resumed(dag(task("a", retries=1, retry_delay=7200), task("b", ["a"]), dagrun_timeout=3600), stored, clock)
    assert m.next_wakeup() == T0 + timedelta(hours=1)  # the timeout comes before the retry
    m.due(T0 + timedelta(hours=1))
    assert m.state == "failed" and m.ti("a").state == "skipped"


def test_a_resumed_machine_only_resumes_once():
    clock = FakeClock()
    m, _ = resumed(chain(), [StoredTI("a", state="running", try_number=1)], clock)
    assert m.resume([], start_date=T0) == []
    assert m.start() == []
