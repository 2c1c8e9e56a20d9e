"""Properties of the DagRun state machine on random DAGs with random outcomes and finishing order:
it terminates, every TI ends finished, no task starts before its upstreams finished (unless its
trigger rule allows it), ``max_active_tasks`` holds, try numbers stay within ``retries + 1``, and the
run's state is Airflow's verdict on the effective leaves — also with branches, short circuits,
``dagrun_timeout`` and a ``cancel()`` at a random moment."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.core import states as S
from studio.core.trigger_rules import TRIGGER_RULES
from studio.runtime.dagrun import DagRunMachine
from tests.test_runtime_dagrun_helpers import FakeClock, dag, result, task

EARLY_RULES = {"one_success", "one_failed", "one_done", "always"}
OUTCOMES = ["success", "success", "failed", "skipped", "died", "reschedule"]


@st.composite
def random_dags(draw):
    n = draw(st.integers(1, 10))
    tasks = []
    for i in range(n):
        ups = sorted(draw(st.sets(st.integers(0, i - 1), max_size=3))) if i else []
        upstream = [f"t{u}" for u in ups]
        fields = {
            "trigger_rule": draw(st.sampled_from(TRIGGER_RULES)),
            "retries": draw(st.integers(0, 2)),
            "retry_delay": draw(st.sampled_from([0, 5, 60])),
            "retry_exponential_backoff": draw(st.booleans()),
            "priority_weight": draw(st.integers(1, 3)),
        }
        if not upstream and draw(st.booleans()):
            fields["is_setup"] = True
        elif any(tasks[u].get("is_setup") for u in ups) and draw(st.booleans()):
            fields.update(is_teardown=True, trigger_rule="all_done_setup_success")
        elif draw(st.integers(0, 4)) == 0:
            fields.update(is_mapped=True, map_sources=[draw(st.integers(0, 3))])
        elif draw(st.integers(0, 4)) == 0:
            fields["branch"] = True
        elif draw(st.integers(0, 5)) == 0:
            fields.update(short_circuit=True, ignore_downstream_trigger_rules=draw(st.booleans()))
        tasks.append(task(f"t{i}", upstream, **fields))
    return dag(
        *tasks,
        max_active_tasks=draw(st.integers(1, 4)),
        fail_fast=draw(st.integers(0, 5)) == 0,
        dagrun_timeout=draw(st.sampled_from([None, None, 40, 200])),
    )


def _finished(m, task_ids):
    return all(ti.state in S.FINISHED for ti in m.tis() if ti.task_id in task_ids)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(description=random_dags(), data=st.data())
def test_random_runs_terminate_with_every_ti_finished(description, data):
    clock = FakeClock()
    m = DagRunMachine(description, clock=clock)
    graph = m.graph
    active: list = []
    steps = 0

    def accept(launches):
        stopped = set(m.stops())  # killed by the engine (fail_fast, timeout, skipped while queued)
        active[:] = [a for a in active if a.key not in stopped]
        for launch in launches:
            task_id = launch.task_id
            rule = graph.tasks[task_id]["trigger_rule"]
            if rule not in EARLY_RULES:
                assert _finished(m, graph.upstream[task_id]), f"{launch.key} launched early"
            assert launch.try_number <= graph.tasks[task_id]["retries"] + 1
            m.on_started(launch.key)
            active.append(launch)
        assert len(active) <= description["max_active_tasks"]

    timed_out = False
    cancel_at = data.draw(st.sampled_from([None, None, 1, 3, 8]))
    accept(m.start())
    while m.state == S.RUN_RUNNING:
        steps += 1
        assert steps < 500, "no progress"
        if steps == cancel_at:
            assert set(m.cancel()) == {a.key for a in active}
            assert m.state == S.RUN_FAILED
            break
        if not active:
            wake = m.next_wakeup()
            assert wake is not None, "running with nothing active and no timer"
            clock.now = max(clock.now, wake)
            accept(m.due())
            timed_out = m.state == S.RUN_FAILED
            continue
        if description["dagrun_timeout"] and m.next_wakeup() and m.next_wakeup() <= clock.now:
            accept(m.due())
            timed_out = m.state == S.RUN_FAILED
            continue
        launch = active.pop(data.draw(st.integers(0, len(active) - 1)))
        clock.advance(data.draw(st.sampled_from([0, 1, 30])))
        outcome = data.draw(st.sampled_from(OUTCOMES))
        task_def = graph.tasks[launch.task_id]
        if outcome == "died":
            launches = m.on_finished(launch.key, None, -9)
        elif outcome == "reschedule":
            at = clock.now.replace(microsecond=0).isoformat()
            launches = m.on_finished(launch.key, result("up_for_reschedule", reschedule_at=at), 0)
        elif outcome == "success" and task_def.get("branch"):
            follow = data.draw(st.lists(st.sampled_from(sorted(graph.downstream[launch.task_id]) or ["x"])))
            launches = m.on_finished(launch.key, result(follow_branches=follow), 0)
        elif outcome == "success" and task_def.get("short_circuit") and data.draw(st.booleans()):
            skip = graph.short_circuit_skips(launch.task_id)
            launches = m.on_finished(launch.key, result(skip_downstream=skip), 0)
        else:
            launches = m.on_finished(launch.key, result(outcome), 0 if outcome == "success" else 1)
        accept(launches)
    assert m.state in (S.RUN_SUCCESS, S.RUN_FAILED)
    tis = m.tis()
    assert all(ti.state in S.FINISHED for ti in tis), {ti.key: ti.state for ti in tis}
    assert m.next_wakeup() is None and m.end_date is not None
    if cancel_at is None or steps < cancel_at:
        leaf_states = [ti.state for ti in tis if ti.task_id in graph.leaves()]
        failed_leaf = any(s in S.FAILED_STATES for s in leaf_states)
        assert (m.state == S.RUN_FAILED) == (failed_leaf or timed_out)
