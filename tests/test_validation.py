"""Validation of structure: ids, groups, edges, XCom references, cycles, duplicate DAGs, locations.

Each DAG is written as a real project (``write_project``) and read back, so every diagnostic is checked
against the file, line and JSON path a user would open.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from studio.core.diagnostics import Diagnostic
from studio.core.model import Dag, Edge, Project, SourceMap, Task, TaskGroup
from studio.core.serialization import read_project, write_project
from studio.core.validation import validate_dag, validate_project
from studio.core.values import XComRef


def bash(task_id: str, group: str | None = None, **args: object) -> Task:
    return Task(task_id, "BashOperator", {"bash_command": "echo hi", **args}, group_id=group)


def load(tmp_path: Path, *dags: Dag) -> tuple[Project, dict[str, str]]:
    """Write ``dags`` as a project, read it back; returns the project and each DAG file's text."""
    write_project(Project("p", list(dags)), tmp_path)
    project = read_project(tmp_path, tmp_path)
    texts = {d.dag_id: (tmp_path / "dags" / f"{d.dag_id}.json").read_text() for d in dags}
    return project, texts


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) >= occurrence, f"{needle!r} not in the file"
    return hits[occurrence - 1]


def find(diagnostics: list[Diagnostic], fragment: str) -> Diagnostic:
    hits = [d for d in diagnostics if fragment in d.message]
    assert len(hits) == 1, f"expected one diagnostic with {fragment!r}, got {[str(d) for d in diagnostics]}"
    return hits[0]


def check(tmp_path: Path, dag: Dag) -> tuple[list[Diagnostic], str]:
    project, texts = load(tmp_path, dag)
    return validate_dag(project.dags[0]), texts[dag.dag_id]


def test_a_sound_dag_has_no_problems(tmp_path: Path) -> None:
    dag = Dag(
        "etl",
        groups=[
            TaskGroup("load"),
            TaskGroup("load.inner", "load"),
            TaskGroup("flat", None, {"prefix_group_id": False}),
        ],
        tasks=[bash("extract"), bash("load.copy", "load"), bash("load.inner.check", "load.inner"), bash("x", "flat")],
        edges=[Edge("extract", "load.copy"), Edge("load.copy", "load.inner.check"), Edge("extract", "x")],
    )
    found, _ = check(tmp_path, dag)
    assert found == []


def test_cycle_names_the_tasks_in_order_and_points_at_an_edge(tmp_path: Path) -> None:
    dag = Dag(
        "cyc",
        tasks=[bash("start"), bash("a"), bash("b"), bash("c")],
        edges=[Edge("start", "a"), Edge("a", "b"), Edge("b", "c"), Edge("c", "a")],
    )
    found, text = check(tmp_path, dag)
    d = find(found, "cycle")
    assert d.severity == "error"
    assert "cycle: a -> b -> c -> a" in d.message
    assert d.file == "dags/cyc.json"
    assert d.json_path == "$.edges[3]"  # the edge that closes the loop
    assert d.line == line_of(text, '["c", "a"]')


def test_self_loop_is_a_cycle(tmp_path: Path) -> None:
    found, _ = check(tmp_path, Dag("loop", tasks=[bash("a")], edges=[Edge("a", "a")]))
    assert "cycle: a -> a" in find(found, "cycle").message


def test_two_separate_cycles_are_both_reported(tmp_path: Path) -> None:
    dag = Dag(
        "two",
        tasks=[bash(t) for t in "abcd"],
        edges=[Edge("a", "b"), Edge("b", "a"), Edge("c", "d"), Edge("d", "c")],
    )
    found, _ = check(tmp_path, dag)
    cycles = [d.message for d in found if "cycle" in d.message]
    assert any("a -> b -> a" in m for m in cycles) and any("c -> d -> c" in m for m in cycles)


def test_duplicate_task_ids(tmp_path: Path) -> None:
    found, text = check(tmp_path, Dag("dup", tasks=[bash("a"), bash("b"), bash("a")]))
    d = find(found, "is used by 2 tasks")
    assert d.severity == "error" and d.task_id == "a"
    assert d.line in (line_of(text, '"task_id": "a"', 1), line_of(text, '"task_id": "a"', 2))


@pytest.mark.parametrize(
    ("task_id", "fragment"),
    [
        ("has space", "invalid task_id 'has space'"),
        ("semi;colon", "invalid task_id 'semi;colon'"),
        ("x" * 251, "is 251 characters long; Airflow allows at most 250"),
    ],
)
def test_invalid_task_ids(tmp_path: Path, task_id: str, fragment: str) -> None:
    found, text = check(tmp_path, Dag("ids", tasks=[bash(task_id)]))
    d = find(found, fragment)
    assert d.severity == "error"
    assert d.json_path == "$.tasks[0].task_id"
    assert d.line == line_of(text, '"task_id"')


def test_valid_unusual_ids_pass(tmp_path: Path) -> None:
    found, _ = check(tmp_path, Dag("ok.dag-1", tasks=[bash("x" * 250), bash("dotted.id-2"), bash("ünïcode_ok")]))
    assert found == []


def test_invalid_dag_id(tmp_path: Path) -> None:
    dag = Dag("bad/id", tasks=[bash("a")])
    dag.source = SourceMap(file="dags/x.json", lines={"dag": 3}, json_paths={"dag": "$.dag_id"})
    d = find(validate_dag(dag), "invalid dag_id 'bad/id'")
    assert (d.file, d.line, d.json_path, d.severity) == ("dags/x.json", 3, "$.dag_id", "error")


def test_group_ids_follow_airflows_group_key_rule(tmp_path: Path) -> None:
    dag = Dag(
        "groups",
        groups=[TaskGroup("a.b", None, {"prefix_group_id": False}), TaskGroup("g" * 201)],
        tasks=[bash("t", "a.b")],
    )
    found, text = check(tmp_path, dag)
    d = find(found, "invalid group_id 'a.b'")
    assert "dashes and underscores" in d.message and "dots" not in d.message
    assert d.json_path == "$.groups[0].group_id" and d.line == line_of(text, '"group_id": "a.b"')
    assert find(found, "201 characters long; Airflow allows at most 200").severity == "error"


def test_group_reference_problems(tmp_path: Path) -> None:
    dag = Dag(
        "refs",
        groups=[TaskGroup("orphan", "nowhere"), TaskGroup("p", "q"), TaskGroup("q", "p")],
        tasks=[bash("t", "missing"), bash("u")],
        edges=[Edge("t", "ghost"), Edge("phantom", "u")],
    )
    found, text = check(tmp_path, dag)
    d = find(found, "has parent 'nowhere', which is not a group")
    assert d.json_path == "$.groups[0].parent" and d.line == line_of(text, '"group_id": "orphan"')
    assert "groups are nested in a cycle: " in find(found, "nested in a cycle").message
    d = find(found, "is in group 'missing', which is not a group")
    assert d.json_path == "$.tasks[0].group" and d.line == line_of(text, '"task_id": "t"')
    d = find(found, "edge t -> ghost refers to 'ghost'")
    assert d.json_path == "$.edges[0]" and d.line == line_of(text, '["t", "ghost"]')
    assert find(found, "edge phantom -> u refers to 'phantom'").severity == "error"


def test_task_in_prefixed_group_must_carry_the_prefix(tmp_path: Path) -> None:
    dag = Dag(
        "prefix",
        groups=[TaskGroup("outer"), TaskGroup("outer.inner", "outer"), TaskGroup("bad", "outer")],
        tasks=[bash("inner_task", "outer.inner"), bash("outer.inner.fine", "outer.inner")],
    )
    found, text = check(tmp_path, dag)
    d = find(found, "task 'inner_task' is in group 'outer.inner'")
    assert "must start with 'outer.inner.'" in d.message
    assert d.line == line_of(text, '"task_id": "inner_task"')
    assert "its id must start with 'outer.'" in find(found, "group 'bad' is inside group 'outer'").message


def test_task_and_group_sharing_an_id(tmp_path: Path) -> None:
    dag = Dag("clash", groups=[TaskGroup("g")], tasks=[bash("g"), bash("g.t", "g")])
    found, _ = check(tmp_path, dag)
    assert find(found, "is also the id of a TaskGroup").severity == "error"


def test_xcom_references(tmp_path: Path) -> None:
    dag = Dag(
        "xcom",
        tasks=[
            bash("a"),
            bash("b", env={"X": XComRef("a")}),
            bash("c", bash_command=XComRef("nobody")),
        ],
    )
    found, text = check(tmp_path, dag)
    d = find(found, "uses the XCom of 'nobody', which is not a task")
    assert d.severity == "error" and d.line == line_of(text, '"task_id": "c"')
    w = find(found, "the edge a -> b is missing")
    assert w.severity == "warning" and w.task_id == "b"


def test_xcom_dependency_can_close_a_cycle(tmp_path: Path) -> None:
    dag = Dag("xc", tasks=[bash("a", bash_command=XComRef("b")), bash("b")], edges=[Edge("a", "b")])
    found, _ = check(tmp_path, dag)
    assert "a -> b -> a" in find(found, "cycle").message


def test_duplicate_dag_ids_in_a_project(tmp_path: Path) -> None:
    write_project(Project("p", [Dag("one", tasks=[bash("a")]), Dag("two", tasks=[bash("a")])]), tmp_path)
    text = (tmp_path / "dags" / "two.json").read_text().replace('"dag_id": "two"', '"dag_id": "one"')
    (tmp_path / "dags" / "two.json").write_text(text)
    project = read_project(tmp_path, tmp_path)
    d = find(validate_project(project), "is also defined in dags/one.json")
    assert d.file == "dags/two.json" and d.line == line_of(text, '"dag_id"') and d.json_path == "$.dag_id"


def test_py_sources_are_located_by_line() -> None:
    """DAGs read from an Airflow .py file carry line numbers only (no JSON path)."""
    dag = Dag("py", tasks=[bash("a"), bash("b")], edges=[Edge("a", "b"), Edge("b", "a")])
    dag.source = SourceMap(file="dags/etl.py", lines={"dag": 5, "task:a": 7, "task:b": 9, "edge:b>a": 12})
    d = find(validate_dag(dag), "cycle")
    assert str(d) == "error: dags/etl.py:12: cycle: a -> b -> a (Airflow: AirflowDagCycleException)"


def test_diagnostics_are_ordered_by_line(tmp_path: Path) -> None:
    dag = Dag("order", tasks=[bash("bad id"), bash("a")], edges=[Edge("a", "zzz")])
    found, _ = check(tmp_path, dag)
    lines = [d.line or 0 for d in found]
    assert lines == sorted(lines) and len(found) == 2


def test_long_cycles_are_shortened_and_the_shortest_loop_is_named() -> None:
    ids = [f"t{i}" for i in range(30)]
    edges = [Edge(a, b) for a, b in itertools.pairwise(ids)] + [Edge("t29", "t0"), Edge("t3", "t0")]
    d = find(validate_dag(Dag("long", tasks=[bash(t) for t in ids], edges=edges)), "cycle")
    assert "cycle: t0 -> t1 -> t2 -> t3 -> t0 (" in d.message  # not the 30-task loop
    ring = Dag("ring", tasks=[bash(t) for t in ids], edges=[*edges[:29], Edge("t29", "t0")])
    message = find(validate_dag(ring), "cycle").message
    assert (
        "t0 -> t1 -> t2 -> t3 -> t4 -> t5 -> t6 -> t7 -> ... (18 more) ... -> t26 -> t27 -> t28 -> t29 -> t0" in message
    )


def test_a_group_without_prefix_does_not_pass_its_parents_prefix_on(tmp_path: Path) -> None:
    """Airflow's TaskGroup.child_id: inside ``flat`` (prefix_group_id=False) ids are bare, even in ``outer``."""
    dag = Dag(
        "nested",
        groups=[
            TaskGroup("outer"),
            TaskGroup("outer.flat", "outer", {"prefix_group_id": False}),
            TaskGroup("deep", "outer.flat"),
        ],
        tasks=[bash("outer.first", "outer"), bash("c", "outer.flat"), bash("deep.d", "deep")],
        edges=[Edge("outer.first", "c"), Edge("outer.first", "deep.d")],
    )
    found, _ = check(tmp_path, dag)
    assert found == []
    dag.tasks.append(bash("d2", "deep"))
    found, _ = check(tmp_path, dag)
    assert "must start with 'deep.'" in find(found, "task 'd2' is in group 'deep'").message
