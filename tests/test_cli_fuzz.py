"""Property tests: any mutation of a valid project DAG file makes ``dagstudio validate`` exit 0 or 2 with
messages naming the file — never an internal error or a traceback.

Most examples run the in-process ``main()`` for speed; a few fixed mutations run the real entry point.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.cli import main
from studio.core.jsonfile import dumps
from studio.core.model import Dag, Edge, Project, Task, TaskGroup
from studio.core.serialization import dag_to_json, write_project
from studio.core.values import CallableRef, XComRef
from tests.test_cli import run
from tests.test_workspace import etl_dag


def rich_dag() -> Dag:
    dag = etl_dag()
    dag.args.update(default_args={"retries": 2, "trigger_rule": "all_done"}, tags=["etl"], params={"n": 1})
    dag.groups.append(TaskGroup("load.inner", "load"))
    dag.tasks.append(Task("load.inner.t", "@task", {"python_callable": CallableRef("extract")}, group_id="load.inner"))
    dag.tasks.append(Task("m", "BashOperator", {"env": {"X": XComRef("extract")}}, expand={"bash_command": ["a"]}))
    dag.tasks.append(Task("c", "custom", {"k": [1, {"a": None}]}, class_path="pkg.Op", position=(10, 20)))
    dag.edges += [Edge("extract", "m"), Edge("m", "c", "label")]
    return dag


BASE = dag_to_json(rich_dag())

INTERESTING: list[Any] = [
    None,
    True,
    0,
    -1,
    10**30,
    1e308,
    math.inf,
    math.nan,
    "",
    "@daily",
    "@nope",
    "0 25 * * *",
    "a b",
    "x" * 300,
    "extract",
    "load",
    "load.copy",
    "\x00",
    "\ud800",
    [],
    {},
    ["a"],
    ["extract", "extract"],
    {"$type": "timedelta", "seconds": 1e308},
    {"$type": "timedelta", "seconds": math.nan},
    {"$type": "timedelta", "seconds": 10**20},
    {"$type": "datetime", "iso": "2024-13-01T00:00:00"},
    {"$type": "datetime", "iso": "2024-01-01T00:00:00", "tz": "Mars/X"},
    {"$type": "datetime", "iso": "2024-01-01T00:00:00", "tz": "../../etc"},
    {"$type": "callable", "name": "not_there"},
    {"$type": "callable", "name": ""},
    {"$type": "xcom", "task_id": "ghost"},
    {"$type": "param"},
    {"$type": "param", "schema": []},
    {"$type": "code", "source": "1 +"},
    {"$type": "what"},
    {"$type": None},
    {"$type": 3},
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
replacement = st.one_of(st.sampled_from(INTERESTING), json_values)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.extend(paths(item, (*prefix, i)))
    return out


ALL_PATHS = paths(BASE)


def replaced(data: Any, path: tuple[Any, ...], new: Any, delete: bool) -> Any:
    if not path:
        return new
    data = json.loads(json.dumps(data))
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return data


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz")
    write_project(Project("fuzz", [rich_dag()]), folder)
    return folder


def check_validate(project: Path, content: bytes) -> None:
    file = project / "dags" / "etl.json"
    file.write_bytes(content)
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(["validate", str(project)])
    stderr = err.getvalue()
    assert code in (0, 2), stderr
    assert "internal error" not in stderr and "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    if code == 2:
        errors = [line for line in lines if line.startswith("error: ")]
        assert errors, stderr
        for line in errors:
            assert line.startswith(f"error: {file}") or line.startswith(f"error: {file.with_suffix('.py')}"), line
    else:
        assert all(line.startswith("warning: ") for line in lines), stderr
        assert out.getvalue().startswith("ok: ")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(ALL_PATHS), new=replacement, delete=st.booleans())
def test_any_value_mutation_is_reported_cleanly(project: Path, path: tuple[Any, ...], new: Any, delete: bool) -> None:
    mutated = replaced(BASE, path, new, delete and bool(path))
    try:
        text = dumps(mutated)
    except (ValueError, TypeError):
        text = json.dumps(mutated)
    check_validate(project, text.encode("utf-8", "surrogatepass"))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cuts=st.lists(
        st.tuples(st.floats(0, 1), st.integers(0, 6), st.text(string.printable + '{}[]",:é\x00', max_size=4)),
        max_size=3,
    ),
    raw=st.binary(max_size=3),
)
def test_any_text_mutation_is_reported_cleanly(project: Path, cuts: list[tuple[float, int, str]], raw: bytes) -> None:
    text = dumps(BASE)
    for where, length, insert in cuts:
        at = int(where * len(text))
        text = text[:at] + insert + text[at + length :]
    check_validate(project, text.encode("utf-8", "surrogatepass") + raw)


SPOTS = [
    (),
    ("args",),
    ("args", "schedule"),
    ("args", "default_args"),
    ("args", "params", "n"),
    ("groups", 1, "parent"),
    ("tasks", 0, "task_id"),
    ("tasks", 1, "args", "bash_command"),
    ("tasks", 4, "group"),
    ("tasks", 5, "expand"),
    ("tasks", 6, "position"),
    ("edges", 0),
]


@pytest.mark.parametrize("spot", SPOTS, ids=lambda p: ".".join(map(str, p)) or "root")
def test_interesting_values_at_key_spots(project: Path, spot: tuple[Any, ...]) -> None:
    for new in INTERESTING:
        mutated = replaced(BASE, spot, new, False)
        check_validate(project, json.dumps(mutated, ensure_ascii=False).encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\xff\xfe not utf-8",
        b"[1, 2, 3]",
        b'{"dag_id": "etl", "tasks": [{"task_id": "a", "operator": "BashOperator", "args": {"retries": "x"}}]}',
        json.dumps(replaced(BASE, ("args", "schedule"), "0 25 * * *", False)).encode(),
    ],
)
def test_garbage_through_the_real_entry_point(project: Path, content: bytes, tmp_path: Path) -> None:
    folder = tmp_path / "p"
    write_project(Project("p", [rich_dag()]), folder)
    (folder / "dags" / "etl.json").write_bytes(content)
    proc = run("validate", "p", cwd=tmp_path)
    assert proc.returncode == 2
    assert all(line.startswith("error: p/dags/etl.json") for line in proc.stderr.splitlines()), proc.stderr
