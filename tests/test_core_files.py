"""Project files: deterministic JSON, line locator, atomic project writes, errors naming file and line."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from studio.core.diagnostics import StudioError
from studio.core.jsonfile import dumps, locate_lines, nearest_line
from studio.core.model import Dag, Edge, Project, Task, TaskGroup
from studio.core.serialization import (
    dag_from_json_text,
    dag_to_json,
    project_files,
    project_to_json,
    read_project,
    write_project,
)
from studio.core.values import CallableRef, DateTime


def make_dag() -> Dag:
    return Dag(
        "etl",
        args={
            "schedule": "@daily",
            "start_date": DateTime(dt.datetime(2024, 1, 1), "Europe/Amsterdam"),
            "default_args": {"retries": 2, "retry_delay": dt.timedelta(minutes=5)},
        },
        groups=[TaskGroup("load", None, {"tooltip": "Load steps"})],
        tasks=[
            Task("extract", "PythonOperator", {"python_callable": CallableRef("extract")}, position=(0, 0)),
            Task("load.copy", "BashOperator", {"bash_command": "cp a b"}, group_id="load", position=(200, 0)),
        ],
        edges=[Edge("extract", "load.copy", "rows")],
        module_code="def extract():\n    return 1\n",
    )


def test_dag_json_round_trip_and_determinism():
    dag = make_dag()
    text = dumps(dag_to_json(dag))
    again = dag_from_json_text(text, "etl.json")
    assert dag_to_json(again) == dag_to_json(dag)
    assert dumps(dag_to_json(again)) == text


def test_short_leaves_are_inlined_for_readable_diffs():
    text = dumps(dag_to_json(make_dag()))
    assert '["extract", "load.copy", "rows"]' in text
    assert '"position": [200, 0]' in text
    assert text.endswith("\n") and "\t" not in text


def test_locator_maps_paths_to_lines():
    text = '{\n  "a": 1,\n  "b": [\n    {"c": 2},\n    3\n  ],\n  "d e": {"f": null}\n}\n'
    lines = locate_lines(text)
    assert lines["$.a"] == 2
    assert lines["$.b"] == 3
    assert lines["$.b[0].c"] == 4
    assert lines["$.b[1]"] == 5
    assert lines['$["d e"].f'] == 7
    assert nearest_line(lines, "$.b[0].missing") == 4


def test_errors_name_file_line_and_json_path():
    text = dumps(dag_to_json(make_dag())).replace('"cp a b"', '{"$type": "nope"}')
    with pytest.raises(StudioError) as info:
        dag_from_json_text(text, "dags/etl.json")
    (diag,) = info.value.diagnostics
    expected_line = next(i for i, line in enumerate(text.splitlines(), 1) if '"nope"' in line)
    assert (diag.file, diag.line, diag.json_path) == ("dags/etl.json", expected_line, "$.tasks[1].args.bash_command")
    assert str(diag).startswith(
        f"error: dags/etl.json:{expected_line}: $.tasks[1].args.bash_command: unknown value type"
    )


def test_invalid_json_names_the_line():
    with pytest.raises(StudioError) as info:
        dag_from_json_text('{\n  "dag_id": "x",\n  "tasks": [,]\n}', "x.json")
    assert info.value.diagnostics[0].line == 3


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        ({"dag_id": 3}, "$.dag_id"),
        ({"dag_id": "x", "tasks": {}}, "$.tasks"),
        ({"dag_id": "x", "tasks": [{"task_id": "a"}]}, "$.tasks[0].operator"),
        ({"dag_id": "x", "tasks": [], "edges": [["a"]]}, "$.edges[0]"),
        ({"dag_id": "x", "tasks": [], "extra": 1}, "$.extra"),
        ({"dag_id": "x", "dagstudio": 99}, "$.dagstudio"),
        (
            {"dag_id": "x", "tasks": [{"task_id": "a", "operator": "EmptyOperator", "position": [1]}]},
            "$.tasks[0].position",
        ),
    ],
)
def test_wrong_shapes_are_reported_with_their_path(doc, path):
    with pytest.raises(StudioError) as info:
        dag_from_json_text(json.dumps(doc, indent=2), "d.json")
    assert any(d.json_path == path for d in info.value.diagnostics), info.value.diagnostics


def test_project_write_read_round_trip(tmp_path):
    project = Project("Demo", [make_dag()], target="airflow2")
    write_project(project, tmp_path)
    assert sorted(p.name for p in (tmp_path / "dags").iterdir()) == ["etl.json", "etl.py"]
    again = read_project(tmp_path)
    assert project_to_json(again) == project_to_json(project)
    assert project_files(again) == project_files(project)


def test_write_removes_files_of_deleted_dags_only(tmp_path):
    project = Project("Demo", [make_dag(), Dag("other", tasks=[Task("t", "EmptyOperator")])])
    write_project(project, tmp_path)
    (tmp_path / "dags" / "helpers.py").write_text("X = 1\n")
    project.dags.pop()
    write_project(project, tmp_path)
    assert sorted(p.name for p in (tmp_path / "dags").iterdir()) == ["etl.json", "etl.py", "helpers.py"]


def test_all_malformed_files_are_reported_together(tmp_path):
    write_project(Project("Demo", [make_dag(), Dag("b")]), tmp_path)
    (tmp_path / "dags" / "b.json").write_text("{oops")
    (tmp_path / "dags" / "etl.json").write_text('{"dag_id": 1}')
    with pytest.raises(StudioError) as info:
        read_project(tmp_path, display_root=tmp_path)
    assert {d.file for d in info.value.diagnostics} == {"dags/b.json", "dags/etl.json"}


def test_bad_toml_names_the_line(tmp_path):
    (tmp_path / "dagstudio.toml").write_text('[project]\nname = "x"\ntarget = \n')
    with pytest.raises(StudioError) as info:
        read_project(tmp_path)
    assert info.value.diagnostics[0].line == 3


def test_unknown_target_is_refused(tmp_path):
    (tmp_path / "dagstudio.toml").write_text('[project]\nname = "x"\ntarget = "airflow9"\n')
    with pytest.raises(StudioError, match="airflow9") as info:
        read_project(tmp_path)
    assert info.value.diagnostics[0].line == 3
