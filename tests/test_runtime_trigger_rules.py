"""Trigger rules without Airflow: the subtle cases by hand, mapped upstreams, and the graph relations
(relevant setups, teardown scope, branch and short-circuit skips, effective leaves) they rely on.
The full table against real Airflow is tests/test_runtime_trigger_airflow.py."""

from __future__ import annotations

import pytest

from studio.core.trigger_rules import TRIGGER_RULES
from studio.runtime import trigger_rules as tr
from studio.runtime.dagrun_deps import decide
from studio.runtime.dagrun_graph import TaskGraph


def ups(*states, setups=0):
    """UpstreamStates of the given TI states; the first ``setups`` of them are setup tasks."""
    return tr.UpstreamStates.count((s, i < setups) for i, s in enumerate(states))


@pytest.mark.parametrize(
    ("rule", "states", "expected"),
    [
        ("all_success", ["success", "success"], "run"),
        ("all_success", ["success", None], "wait"),
        ("all_success", ["skipped", None], "skipped"),
        ("all_success", ["failed", "skipped"], "upstream_failed"),
        ("all_success", ["removed", "success"], "run"),
        ("all_failed", ["failed", "upstream_failed"], "run"),
        ("all_failed", ["failed", "success"], "skipped"),
        ("all_done", ["failed", "skipped", "success"], "run"),
        ("all_done", ["failed", "running"], "wait"),
        ("one_success", ["success", "running"], "run"),  # early: does not wait for the rest
        ("one_success", ["skipped", "skipped"], "skipped"),
        ("one_success", ["failed", "skipped"], "upstream_failed"),
        ("one_failed", ["upstream_failed", None], "run"),  # early
        ("one_failed", ["success", "skipped"], "skipped"),
        ("one_done", ["failed", None], "run"),
        ("one_done", ["skipped", "upstream_failed"], "skipped"),
        ("none_failed", ["success", "skipped"], "run"),
        ("none_failed", ["upstream_failed", None], "upstream_failed"),
        ("none_failed_min_one_success", ["skipped", "skipped"], "skipped"),
        ("none_failed_min_one_success", ["skipped", "success"], "run"),
        ("none_failed_min_one_success", ["skipped", "removed"], "upstream_failed"),
        ("none_skipped", ["success", "failed"], "run"),
        ("none_skipped", ["skipped", None], "skipped"),
        ("all_skipped", ["skipped", "skipped"], "run"),
        ("all_skipped", ["skipped", "success"], "skipped"),
        ("all_done_min_one_success", ["failed", "success"], "run"),
        ("all_done_min_one_success", ["failed", "upstream_failed"], "upstream_failed"),
        ("all_done_min_one_success", ["success", "skipped"], "skipped"),
        ("always", ["failed", None], "run"),
    ],
)
def test_direct_decisions(rule, states, expected):
    assert tr.evaluate(rule, ups(*states)) == expected


def test_no_upstream_always_runs():
    for rule in TRIGGER_RULES:
        assert tr.evaluate(rule, ups()) == "run"


def test_all_done_setup_success():
    rule = "all_done_setup_success"
    assert tr.evaluate(rule, ups("success", "failed", setups=1)) == "run"
    assert tr.evaluate(rule, ups("failed", "success", setups=1)) == "upstream_failed"
    assert tr.evaluate(rule, ups("skipped", "success", setups=1)) == "skipped"
    assert tr.evaluate(rule, ups("skipped", "success", "success", setups=2)) == "run"
    assert tr.evaluate(rule, ups("success", None, setups=1)) == "wait"
    assert tr.evaluate(rule, ups("failed", "skipped")) == "run"  # no setups: plain all_done


def test_indirect_setup_and_teardown_scope():
    direct = ups("success")
    assert tr.evaluate("all_done", direct, indirect_setups=ups("failed", setups=1)) == "upstream_failed"
    assert tr.evaluate("all_done", direct, indirect_setups=ups("skipped", setups=1)) == "skipped"
    assert tr.evaluate("all_done", direct, indirect_setups=ups(None, setups=1)) == "wait"
    assert tr.evaluate("always", direct, indirect_setups=ups("failed", setups=1)) == "run"
    # a direct failure decides even while the indirect setup still runs
    assert tr.evaluate("all_success", ups("failed"), indirect_setups=ups(None)) == "upstream_failed"
    teardown = ups("success", setups=1)
    rule = "all_done_setup_success"
    assert tr.evaluate(rule, teardown, is_teardown=True, teardown_scope=ups(None, "failed")) == "wait"
    assert tr.evaluate(rule, teardown, is_teardown=True, teardown_scope=ups("failed", "skipped")) == "run"


def test_mapped_upstream_counts_every_map_index():
    graph = TaskGraph(
        {
            "dag_id": "d",
            "tasks": [
                {"task_id": "m", "upstream": [], "is_mapped": True},
                {"task_id": "t", "upstream": ["m"], "trigger_rule": "all_success"},
                {"task_id": "o", "upstream": ["m"], "trigger_rule": "one_failed"},
            ],
        }
    )
    mapped = {"m": ["success", "success", None]}
    assert decide(graph, "t", mapped.__getitem__) == "wait"
    mapped["m"][2] = "success"
    assert decide(graph, "t", mapped.__getitem__) == "run"
    assert decide(graph, "o", mapped.__getitem__) == "skipped"
    mapped["m"] = ["success", "failed", None]
    assert decide(graph, "t", mapped.__getitem__) == "upstream_failed"
    assert decide(graph, "o", mapped.__getitem__) == "run"


def test_unknown_rule_is_an_error():
    with pytest.raises(ValueError, match="unknown trigger rule"):
        tr.evaluate("sometimes", ups("success"))


def _graph(edges, setups=(), teardowns=(), **extra):
    ids = sorted({x for e in edges for x in e} | set(setups) | set(teardowns) | set(extra))
    tasks = []
    for tid in ids:
        task = {"task_id": tid, "upstream": sorted(u for u, d in edges if d == tid)}
        task.update(is_setup=tid in setups, is_teardown=tid in teardowns, **extra.get(tid, {}))
        tasks.append(task)
    return TaskGraph({"dag_id": "g", "tasks": tasks})


def test_relevant_setups_and_scope():
    # s1 >> w >> t >> td1, s1 >> td1; s2 (no teardown) >> w; s3 >> td3 (td3 not downstream of t)
    g = _graph(
        [("s1", "w"), ("w", "t"), ("t", "td1"), ("s1", "td1"), ("s2", "w"), ("s3", "td3"), ("s3", "w")],
        setups={"s1", "s2", "s3"},
        teardowns={"td1", "td3"},
    )
    assert g.relevant_setups("t") == {"s1", "s2"}
    assert g.indirect_setups("t") == {"s1", "s2"}
    assert g.indirect_setups("w") == frozenset()  # direct upstream setups are not "indirect"
    assert g.teardown_scope("td1") == {"w"}
    assert g.indirect_setups("td1") == frozenset()


def test_branch_and_short_circuit_skips():
    # b >> [x, y, join]; x >> join; y >> z
    g = _graph([("b", "x"), ("b", "y"), ("b", "join"), ("x", "join"), ("y", "z")])
    assert g.branch_skips("b", ["x"]) == ["y"]  # join is downstream of the followed x: kept
    assert g.branch_skips("b", ["y"]) == ["join", "x"]
    assert g.branch_skips("b", []) == ["join", "x", "y"]
    sc = _graph([("c", "a"), ("a", "b"), ("c", "td")], teardowns={"td"}, c={})
    assert sc.short_circuit_skips("c") == ["a", "b"]
    sc.tasks["c"]["ignore_downstream_trigger_rules"] = False
    assert sc.short_circuit_skips("c") == ["a"]


def test_effective_leaves_ignore_teardowns():
    g = _graph([("s", "w"), ("w", "td"), ("s", "td")], setups={"s"}, teardowns={"td"})
    assert g.leaves() == {"w"}
    g.tasks["td"]["on_failure_fail_dagrun"] = True
    assert g.leaves() == {"td"}
