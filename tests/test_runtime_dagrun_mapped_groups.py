"""The DagRun state machine on mapped task groups and on mapping over a mapped task's output, on
hand-built descriptions (docs/ENGINE.md's ``map_groups``) with a fake clock.

Expected outcomes follow Airflow 3.3's rules (``TriggerRuleDep._get_relevant_upstream_map_indexes``,
``taskinstance._get_relevant_map_indexes``, ``TaskMap.expand_mapped_task``, ``get_task_map_length``);
the same situations run against real Airflow in tests/run_corpus/mapgroup_*.py.
"""

from __future__ import annotations

from typing import Any

from studio.runtime.dagrun import DagRunMachine
from studio.runtime.dagrun_deps import literal_map_length, map_length, relevant_map_indexes
from studio.runtime.dagrun_graph import TaskGraph
from tests.test_runtime_dagrun_helpers import FakeClock, dag, result, task

RETURN = [{"key": "return_value", "value": 1}]


def in_group(task_id: str, upstream=(), sources=(3,), group: str = "g", **fields: Any) -> dict[str, Any]:
    return task(task_id, upstream, map_groups=[{"group_id": group, "map_sources": list(sources)}], **fields)


def drive(machine: DagRunMachine, results: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """Run to the end; ``results[key or task_id]`` is the worker result (default: success pushing a value)."""
    results = results or {}
    order: list[str] = []
    pending = list(machine.start())
    while pending:
        launch = pending.pop(0)
        order.append(launch.key)
        machine.on_started(launch.key)
        outcome = results.get(launch.key, results.get(launch.task_id, result(xcom=RETURN)))
        pending += machine.on_finished(launch.key, outcome, 0)
    return order


def states(machine: DagRunMachine) -> dict[str, tuple[str | None, int]]:
    return {ti.key: (ti.state, ti.try_number) for ti in machine.tis()}


def test_literal_group_creates_every_map_index_at_start():
    m = DagRunMachine(dag(in_group("g.a"), in_group("g.b", ["g.a"])), clock=FakeClock())
    assert [ti.key for ti in m.tis()] == ["g.a[0]", "g.a[1]", "g.a[2]", "g.b[0]", "g.b[1]", "g.b[2]"]
    assert [x.key for x in m.start()] == ["g.a[0]", "g.a[1]", "g.a[2]"]


def test_trigger_rules_inside_a_group_read_the_same_map_index():
    description = dag(
        in_group("g.check"),
        in_group("g.after", ["g.check"]),
        in_group("g.on_fail", ["g.check"], trigger_rule="one_failed"),
        in_group("g.cleanup", ["g.check"], trigger_rule="all_done"),
        task("summary", ["g.after", "g.on_fail", "g.cleanup"], trigger_rule="all_done"),
    )
    m = DagRunMachine(description, clock=FakeClock())
    drive(m, {"g.check[1]": result("failed")})
    got = states(m)
    assert got["g.after[0]"] == got["g.after[2]"] == ("success", 1)
    assert got["g.after[1]"] == ("upstream_failed", 0)
    assert got["g.on_fail[1]"] == ("success", 1)
    assert got["g.on_fail[0]"] == got["g.on_fail[2]"] == ("skipped", 0)
    assert all(got[f"g.cleanup[{i}]"] == ("success", 1) for i in range(3))
    assert got["summary"] == ("success", 1)
    assert m.state == "success"  # the only leaf, summary, succeeded


def test_group_over_an_xcom_expands_when_the_source_reports_its_length():
    description = dag(task("src"), in_group("g.a", ["src"], ["src"]), in_group("g.b", ["g.a"], ["src"]))
    m = DagRunMachine(description, clock=FakeClock())
    assert [ti.key for ti in m.tis()] == ["src", "g.a", "g.b"]
    order = drive(m, {"src": result(map_length=2, xcom=RETURN)})
    assert order == ["src", "g.a[0]", "g.a[1]", "g.b[0]", "g.b[1]"]
    assert m.state == "success"


def test_group_over_an_empty_list_is_skipped_as_a_whole():
    description = dag(
        task("src"),
        in_group("g.a", ["src"], ["src"]),
        in_group("g.b", ["g.a"], ["src"]),
        task("after", ["g.b"]),
        task("always", ["g.b"], trigger_rule="all_done"),
    )
    m = DagRunMachine(description, clock=FakeClock())
    drive(m, {"src": result(map_length=0, xcom=[{"key": "return_value", "value": []}])})
    assert states(m) == {
        "src": ("success", 1),
        "g.a": ("skipped", 0),
        "g.b": ("skipped", 0),
        "after": ("skipped", 0),
        "always": ("success", 1),
    }
    assert m.state == "success"


def test_mapping_over_a_mapped_task_counts_the_values_it_pushed():
    first = task("first", is_mapped=True, map_sources=[4])
    second = task("second", ["first"], is_mapped=True, map_sources=["first"])
    m = DagRunMachine(dag(first, second), clock=FakeClock())
    drive(m, {"first[2]": result()})  # map index 2 returned None: no XCom
    assert [k for k in states(m) if k.startswith("second")] == ["second[0]", "second[1]", "second[2]"]
    assert m.state == "success"


def test_an_expanded_mapped_source_that_partly_failed_still_feeds_an_all_done_consumer():
    first = task("first", is_mapped=True, map_sources=[3])
    strict = task("strict", ["first"], is_mapped=True, map_sources=["first"])
    lenient = task("lenient", ["first"], is_mapped=True, map_sources=["first"], trigger_rule="all_done")
    m = DagRunMachine(dag(first, strict, lenient), clock=FakeClock())
    drive(m, {"first[1]": result("failed")})
    got = states(m)
    assert got["strict"] == ("upstream_failed", 0)
    assert got["lenient[0]"] == got["lenient[1]"] == ("success", 1) and "lenient[2]" not in got


def test_lengths_multiply_over_the_task_and_its_groups():
    mapped_in_group = task("g.t", is_mapped=True, map_sources=[2], map_groups=[{"group_id": "g", "map_sources": [3]}])
    assert literal_map_length(mapped_in_group) == 6
    over_xcom = in_group("g.u", sources=["src", 2])
    assert literal_map_length(over_xcom) is None
    assert map_length(over_xcom, [], {"src": 5}) == 10
    assert map_length(over_xcom, [], {}) is None


def test_relevant_map_indexes_follow_airflow():
    graph = TaskGraph(
        dag(
            task("outside"),
            in_group("g.a", ["outside"]),
            in_group("g.b", ["g.a"]),
            in_group("g.fast", ["g.a"], trigger_rule="one_success"),
        )
    )
    lengths: dict[str, int] = {}
    assert relevant_map_indexes(graph, "g.b", 1, "g.a", lengths) == range(1, 2)
    assert relevant_map_indexes(graph, "g.b", 1, "outside", lengths) is None  # no common mapped group
    assert relevant_map_indexes(graph, "g.b", -1, "g.a", lengths) == range(0)  # only unexpanded TIs
    assert relevant_map_indexes(graph, "g.fast", -1, "g.a", lengths) is None  # fast rule: all of them
    assert relevant_map_indexes(graph, "outside", 0, "g.a", lengths) is None


def test_a_mapped_short_circuit_skips_only_the_same_map_index_of_mapped_children():
    gate = task("gate", is_mapped=True, map_sources=[2], short_circuit=True, can_skip_downstream=True)
    mapped_child = task("after", ["gate"], is_mapped=True, map_sources=[2])
    plain_child = task("single", ["gate"])
    m = DagRunMachine(dag(gate, mapped_child, plain_child), clock=FakeClock())
    drive(m, {"gate[0]": result(skip_downstream=["after", "single"])})
    got = states(m)
    assert got["after[0]"] == ("skipped", 0) and got["after[1]"] == ("success", 1)
    assert got["single"] == ("success", 1)  # it reads the skip mark of map index -1, which is absent


def test_a_mapped_decorated_short_circuit_is_not_read_by_the_scheduler():
    gate = task("gate", is_mapped=True, map_sources=[2], short_circuit=True, can_skip_downstream=False)
    m = DagRunMachine(dag(gate, task("after", ["gate"], is_mapped=True, map_sources=[2])), clock=FakeClock())
    drive(m, {"gate[0]": result(skip_downstream=["after"])})
    assert states(m)["after[0]"] == ("success", 1)


def test_a_branch_inside_a_mapped_group_skips_nothing():
    description = dag(
        in_group("g.choose", sources=[2], branch=True),
        in_group("g.left", ["g.choose"], sources=[2]),
        in_group("g.right", ["g.choose"], sources=[2]),
    )
    m = DagRunMachine(description, clock=FakeClock())
    drive(m, {"g.choose": result(follow_branches=["g.left"], xcom=RETURN)})
    assert all(state == ("success", 1) for state in states(m).values())


def test_depends_on_past_keeps_a_group_task_waiting():
    description = dag(in_group("g.a", sources=[2], depends_on_past=True))
    m = DagRunMachine(description, clock=FakeClock(), previous={"g.a": ["success", "failed"]})
    assert m.start() == []
    assert "g.a" in m.past_blocked and m.state == "failed"  # nothing else can run
