"""The DagRun state machine's control flow: branching, short circuit and dynamic task mapping."""

from __future__ import annotations

from studio.runtime.dagrun import DagRunMachine
from studio.runtime.dagrun_graph import TaskGraph
from tests.test_runtime_dagrun_helpers import FakeClock, dag, result, task


def states(machine) -> dict:
    return {ti.key: ti.state for ti in machine.tis()}


def finish(m, key, res=None):
    m.on_started(key)
    return [x.key for x in m.on_finished(key, res or result(), 0)]


def branch_dag():
    # b >> [x, y, join]; x >> join; y >> z
    return dag(
        task("b", branch=True),
        task("x", ["b"]),
        task("y", ["b"]),
        task("z", ["y"]),
        task("join", ["b", "x"], trigger_rule="none_failed_min_one_success"),
    )


def test_branch_skips_the_other_direct_downstream_and_keeps_the_join():
    m = DagRunMachine(branch_dag(), clock=FakeClock())
    m.start()
    assert finish(m, "b", result(follow_branches=["x"])) == ["x"]
    assert states(m)["y"] == "skipped" and states(m)["z"] == "skipped"
    assert m.ti("join").state is None  # waits for x
    assert finish(m, "x") == ["join"]
    assert finish(m, "join") == []
    assert m.state == "success"


def test_branch_to_the_join_itself_skips_both_arms():
    m = DagRunMachine(branch_dag(), clock=FakeClock())
    m.start()
    # skip_all_except skips x and y; join (b success, x skipped) runs: none_failed_min_one_success
    assert finish(m, "b", result(follow_branches=["join"])) == ["join"]
    assert states(m) == {"b": "success", "x": "skipped", "y": "skipped", "z": "skipped", "join": "queued"}


def test_branch_following_nothing_skips_everything_downstream():
    m = DagRunMachine(branch_dag(), clock=FakeClock())
    m.start()
    assert finish(m, "b", result(follow_branches=[])) == []
    assert set(states(m).values()) == {"success", "skipped"}
    assert m.state == "success"


def short_circuit_dag(ignore: bool):
    return dag(
        task("c", short_circuit=True, ignore_downstream_trigger_rules=ignore),
        task("a", ["c"]),
        task("b", ["a"]),
        task("done", ["a"], trigger_rule="all_done"),
    )


def test_short_circuit_skips_everything_downstream():
    d = short_circuit_dag(True)
    m = DagRunMachine(d, clock=FakeClock())
    m.start()
    to_skip = TaskGraph(d).short_circuit_skips("c")
    assert to_skip == ["a", "b", "done"]
    assert finish(m, "c", result(skip_downstream=to_skip)) == []
    assert states(m) == {"c": "success", "a": "skipped", "b": "skipped", "done": "skipped"}
    assert m.state == "success"


def test_short_circuit_respecting_trigger_rules_skips_only_direct_downstream():
    d = short_circuit_dag(False)
    m = DagRunMachine(d, clock=FakeClock())
    m.start()
    to_skip = TaskGraph(d).short_circuit_skips("c")
    assert to_skip == ["a"]
    assert finish(m, "c", result(skip_downstream=to_skip)) == ["done"]  # all_done still runs
    assert states(m)["b"] == "skipped"
    finish(m, "done")
    assert m.state == "success"


def test_truthy_short_circuit_skips_nothing():
    m = DagRunMachine(short_circuit_dag(True), clock=FakeClock())
    m.start()
    assert finish(m, "c", result(skip_downstream=None)) == ["a"]


def mapped_dag(**mapped_fields):
    return dag(
        task("make"),
        task("m", ["make"], is_mapped=True, **mapped_fields),
        task("after", ["m"]),
        task("any", ["m"], trigger_rule="one_failed"),
    )


def test_mapping_over_an_upstream_result():
    m = DagRunMachine(mapped_dag(retries=1, retry_delay=0), clock=FakeClock())
    m.start()
    assert finish(m, "make", result(map_length=3)) == ["m[0]", "m[1]", "m[2]"]
    expanded = [c for c in m.changes() if c.key == "m" and c.fields.get("expanded_to")]
    assert [c.fields["expanded_to"] for c in expanded] == [3]
    assert [ti.key for ti in m.tis()] == ["make", "m[0]", "m[1]", "m[2]", "after", "any"]
    assert finish(m, "m[0]") == []
    assert finish(m, "m[1]", result("failed")) == []  # retried, not failed yet
    assert [x.key for x in m.due()] == ["m[1]"]
    assert finish(m, "m[1]", result("failed")) == ["any"]  # one_failed fires at once
    # all_success decides at the first failure, without waiting for m[2] (Airflow's early decision)
    assert m.ti("m[1]").try_number == 2 and m.ti("after").state == "upstream_failed"
    assert finish(m, "m[2]") == []
    finish(m, "any")
    assert m.state == "failed"


def test_zero_length_map_is_skipped():
    m = DagRunMachine(mapped_dag(), clock=FakeClock())
    m.start()
    assert finish(m, "make", result(map_length=0)) == []
    assert states(m) == {"make": "success", "m": "skipped", "after": "skipped", "any": "skipped"}
    assert m.state == "success"


def test_literal_and_upstream_lengths_multiply():
    m = DagRunMachine(mapped_dag(map_sources=[2, "make"]), clock=FakeClock())
    m.start()
    assert len(finish(m, "make", result(map_length=3))) == 6


def test_literal_map_without_upstream_expands_at_start():
    d = dag(task("lit", is_mapped=True, map_sources=[2], priority_weight=3), task("other"))
    m = DagRunMachine(d, clock=FakeClock())
    assert [(x.key, x.map_index, x.try_number) for x in m.start()] == [
        ("lit[0]", 0, 1),
        ("lit[1]", 1, 1),
        ("other", -1, 1),
    ]


def test_unknown_map_length_is_upstream_failed():
    m = DagRunMachine(mapped_dag(), clock=FakeClock())
    m.start()
    finish(m, "make", result(map_length=None))
    assert m.ti("m").state == "upstream_failed" and "length" in m.ti("m").error
    assert m.ti("after").state == "upstream_failed"


def test_unexpanded_mapped_task_takes_the_upstream_state():
    m = DagRunMachine(mapped_dag(), clock=FakeClock())
    m.start()
    finish(m, "make", result("failed"))
    assert states(m) == {"make": "failed", "m": "upstream_failed", "after": "upstream_failed", "any": "queued"}


def test_branch_skips_an_unexpanded_mapped_task():
    d = dag(
        task("src"),
        task("b", ["src"], branch=True),
        task("m", ["b", "src"], is_mapped=True, map_sources=["src"]),
        task("x", ["b"]),
    )
    m = DagRunMachine(d, clock=FakeClock())
    m.start()
    finish(m, "src", result(map_length=3))
    assert finish(m, "b", result(follow_branches=["x"])) == ["x"]
    assert (m.ti("m").state, m.ti("m").try_number) == ("skipped", 0)


def test_branch_skips_the_map_indexes_of_a_literal_map():
    # Mapped over literals, the TIs exist from the start; Airflow's direct skip aims at map index -1
    # and misses them, NotPreviouslySkippedDep skips them when they are evaluated (try_number 0).
    d = dag(
        task("b", branch=True),
        task("m", ["b"], is_mapped=True, map_sources=[3], trigger_rule="always"),
        task("x", ["b"]),
    )
    m = DagRunMachine(d, clock=FakeClock())
    assert [x.key for x in m.start()] == ["b", "m[0]", "m[1]", "m[2]"]  # always: no wait
    m = DagRunMachine(
        dag(task("b", branch=True), task("m", ["b"], is_mapped=True, map_sources=[3]), task("x", ["b"])),
        clock=FakeClock(),
    )
    assert [ti.key for ti in m.tis()] == ["b", "m[0]", "m[1]", "m[2]", "x"]
    m.start()
    assert finish(m, "b", result(follow_branches=["x"])) == ["x"]
    assert {(ti.key, ti.state, ti.try_number) for ti in m.tis() if ti.task_id == "m"} == {
        ("m[0]", "skipped", 0),
        ("m[1]", "skipped", 0),
        ("m[2]", "skipped", 0),
    }


def test_branch_skips_a_queued_task_but_not_a_running_one():
    # x and y (always) are launched with the branch; y already runs when the branch skips both
    d = dag(task("b", branch=True), task("x", ["b"], trigger_rule="always"), task("y", ["b"], trigger_rule="always"))
    m = DagRunMachine(d, clock=FakeClock())
    assert [x.key for x in m.start()] == ["b", "x", "y"]
    m.on_started("y")
    assert finish(m, "b", result(follow_branches=[])) == []
    assert m.stops() == ["x"]  # queued: skipped, its worker must not run
    assert (m.ti("x").state, m.ti("y").state) == ("skipped", "running")
    assert m.on_finished("y", result(), 0) == []
    assert m.state == "success"
