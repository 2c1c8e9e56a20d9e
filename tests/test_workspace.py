"""The workspace service: the four PATH kinds, validation, export and import (nothing written on errors)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from studio import workspace
from studio.core.diagnostics import StudioError
from studio.core.model import Dag, Edge, Project, Task, TaskGroup
from studio.core.serialization import read_project, write_project
from studio.core.values import CallableRef, DateTime
from studio.workspace import dag_files, display_path, import_to_project, load_path, validate

ETL_PY = '''"""An hourly ETL in the Airflow 3 style."""
import pendulum

from airflow.sdk import DAG, TaskGroup
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator


def extract():
    return [1, 2, 3]


with DAG("etl_py", schedule="@hourly", start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
    get = PythonOperator(task_id="extract", python_callable=extract)
    with TaskGroup("load") as load:
        copy = BashOperator(task_id="copy", bash_command="echo copy")
        check = BashOperator(task_id="check", bash_command="echo check")
        copy >> check
    get >> load
'''

MARKER_PY = """from pathlib import Path

Path({marker!r}).write_text("this DAG file was executed")

from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator

with DAG("marker_dag", schedule=None):
    a = BashOperator(task_id="a", bash_command="echo a")
    b = BashOperator(task_id="b", bash_command="echo b")
    a >> b
"""

SYNTAX_ERROR_PY = 'from airflow.sdk import DAG\n\nwith DAG("x", schedule=None):\n    a = (\n'


def etl_dag(dag_id: str = "etl") -> Dag:
    return Dag(
        dag_id,
        args={"schedule": "@daily", "start_date": DateTime(dt.datetime(2024, 1, 1), "UTC")},
        groups=[TaskGroup("load")],
        tasks=[
            Task("extract", "PythonOperator", {"python_callable": CallableRef("extract")}),
            Task("transform", "BashOperator", {"bash_command": "echo t"}),
            Task("load.copy", "BashOperator", {"bash_command": "echo c"}, group_id="load"),
            Task("load.check", "BashOperator", {"bash_command": "echo k"}, group_id="load"),
        ],
        edges=[Edge("transform", "load.copy"), Edge("extract", "transform"), Edge("transform", "load.check")],
        module_code="def extract():\n    return 1\n",
    )


def make_project(folder: Path, *dags: Dag, target: str = "airflow3") -> Path:
    write_project(Project("demo", list(dags) or [etl_dag()], target=target), folder)
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` with its bytes (for "left untouched" checks)."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- loading --------------------------------------------------------------------------------------
def test_load_project_folder(in_tmp: Path) -> None:
    make_project(in_tmp / "proj", etl_dag(), etl_dag("other"))
    loaded = load_path(Path("proj"))
    assert loaded.kind == "project" and loaded.root == in_tmp / "proj"
    assert [d.dag_id for d in loaded.project.dags] == ["etl", "other"]
    assert loaded.files["etl"] == in_tmp / "proj" / "dags" / "etl.json"
    assert loaded.project.dags[0].source.file == "proj/dags/etl.json"  # relative to the current directory
    assert validate(loaded) == []


def test_load_dag_json_of_a_project_keeps_the_project_settings(in_tmp: Path) -> None:
    make_project(in_tmp / "proj", etl_dag(), etl_dag("other"), target="airflow2")
    loaded = load_path(in_tmp / "proj" / "dags" / "other.json")
    assert loaded.kind == "dag_json" and loaded.root == in_tmp / "proj"
    assert (loaded.project.name, loaded.project.target) == ("demo", "airflow2")
    assert [d.dag_id for d in loaded.project.dags] == ["other"]
    assert loaded.project.dags[0].module_code == "def extract():\n    return 1\n"


def test_load_stand_alone_dag_json(in_tmp: Path) -> None:
    make_project(in_tmp / "proj")
    (in_tmp / "loose.json").write_bytes((in_tmp / "proj" / "dags" / "etl.json").read_bytes())
    loaded = load_path(Path("loose.json"))
    assert loaded.kind == "dag_json" and loaded.root == in_tmp / "loose.json"
    assert loaded.project.name == "etl" and loaded.project.dags[0].source.file == "loose.json"


def test_paths_outside_the_current_directory_are_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_project(tmp_path / "proj")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    loaded = load_path(tmp_path / "proj")
    assert loaded.project.dags[0].source.file == str(tmp_path / "proj" / "dags" / "etl.json")
    assert display_path(tmp_path / "x") == str(tmp_path / "x")


@pytest.mark.parametrize(("name", "fragment"), [("missing", "no such file or directory"), ("notes.txt", "not a DAG")])
def test_load_bad_paths(in_tmp: Path, name: str, fragment: str) -> None:
    (in_tmp / "notes.txt").write_text("hello")
    with pytest.raises(StudioError) as info:
        load_path(Path(name))
    d = info.value.diagnostics[0]
    assert d.file == name and fragment in d.message


def test_malformed_project_file_names_file_and_line(in_tmp: Path) -> None:
    make_project(in_tmp / "proj")
    file = in_tmp / "proj" / "dags" / "etl.json"
    lines = file.read_text().splitlines()
    lines[3] = lines[3] + " oops"
    file.write_text("\n".join(lines) + "\n")
    with pytest.raises(StudioError) as info:
        load_path(Path("proj"))
    d = info.value.diagnostics[0]
    assert (d.file, d.line, d.severity) == ("proj/dags/etl.json", 4, "error")
    assert "invalid JSON" in d.message


def test_module_code_that_is_not_utf8_names_the_file(in_tmp: Path) -> None:
    make_project(in_tmp / "proj")
    (in_tmp / "proj" / "dags" / "etl.py").write_bytes(b"\xff\xfe not text")
    with pytest.raises(StudioError) as info:
        load_path(Path("proj"))
    d = info.value.diagnostics[0]
    assert d.file == "proj/dags/etl.py" and "cannot read" in d.message


def test_bad_toml_names_the_line(in_tmp: Path) -> None:
    make_project(in_tmp / "proj")
    (in_tmp / "proj" / "dagstudio.toml").write_text('[project]\nname = "x"\ntarget = \n')
    with pytest.raises(StudioError) as info:
        load_path(in_tmp / "proj" / "dags" / "etl.json")
    d = info.value.diagnostics[0]
    assert d.file == "proj/dagstudio.toml" and d.line == 3 and "invalid TOML" in d.message


# --- dags folder discovery --------------------------------------------------------------------------
def test_dag_files_follow_airflows_safe_mode_and_airflowignore(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "skipped").mkdir()
    (tmp_path / "a.py").write_text("from airflow.sdk import DAG\n")
    (tmp_path / "helpers.py").write_text("def dag_helper(): pass\n")  # no 'airflow': not a DAG file
    (tmp_path / "sub" / "b.py").write_text("import airflow  # makes a Dag\n")
    (tmp_path / "sub" / "deeper" / "c.py").write_text("# AIRFLOW ASSET watcher\n")
    (tmp_path / "sub" / "notes.txt").write_text("airflow dag")
    (tmp_path / "skipped" / "d.py").write_text("airflow dag")
    (tmp_path / "sub" / "old_e.py").write_text("airflow dag")
    (tmp_path / ".airflowignore").write_text("skipped/\n# a comment\nsub/old_*.py\n")
    (tmp_path / "sub" / "loop").symlink_to(tmp_path)  # Airflow follows links; a loop is walked once
    found = [p.relative_to(tmp_path).as_posix() for p in dag_files(tmp_path)]
    assert found == ["a.py", "sub/b.py", "sub/deeper/c.py"]


# --- Airflow .py files (the AST importer) -----------------------------------------------------------
def test_load_py_file_never_executes_it(in_tmp: Path) -> None:
    marker = in_tmp / "executed.txt"
    (in_tmp / "marker.py").write_text(MARKER_PY.format(marker=str(marker)))
    loaded = load_path(Path("marker.py"))
    assert loaded.kind == "py_file" and loaded.root == in_tmp / "marker.py"
    assert loaded.project.dags[0].structure() == {"dag_id": "marker_dag", "tasks": ["a", "b"], "edges": [["a", "b"]]}
    assert not marker.exists()


def test_load_py_file_with_syntax_error(in_tmp: Path) -> None:
    (in_tmp / "broken.py").write_text(SYNTAX_ERROR_PY)
    with pytest.raises(StudioError) as info:
        load_path(Path("broken.py"))
    d = info.value.diagnostics[0]
    assert d.file == "broken.py" and d.line is not None and d.severity == "error"


def test_load_py_folder_collects_errors_and_keeps_the_good_files(in_tmp: Path) -> None:
    (in_tmp / "dags" / "nested").mkdir(parents=True)
    (in_tmp / "dags" / "nested" / "etl.py").write_text(ETL_PY)
    (in_tmp / "dags" / "broken.py").write_text(SYNTAX_ERROR_PY)
    (in_tmp / "dags" / "util.py").write_text("x = 1\n")
    loaded = load_path(Path("dags"))
    assert loaded.kind == "py_folder"
    assert [d.dag_id for d in loaded.project.dags] == ["etl_py"]
    assert loaded.files["etl_py"] == in_tmp / "dags" / "nested" / "etl.py"
    errors = [d for d in loaded.diagnostics if d.severity == "error"]
    assert [d.file for d in errors] == ["dags/broken.py"]


def test_empty_folder_is_a_warning(in_tmp: Path) -> None:
    (in_tmp / "empty").mkdir()
    loaded = load_path(Path("empty"))
    assert loaded.project.dags == [] and [d.severity for d in loaded.diagnostics] == ["warning"]


# --- import ---------------------------------------------------------------------------------------
def test_import_creates_a_project(in_tmp: Path) -> None:
    (in_tmp / "etl.py").write_text(ETL_PY)
    outcome = import_to_project(Path("etl.py"), Path("new_proj"))
    assert outcome.dag_ids == ["etl_py"]
    assert sorted(p.name for p in outcome.files) == ["dagstudio.toml", "etl_py.json", "etl_py.py"]
    project = read_project(in_tmp / "new_proj")
    dag = project.dags[0]
    assert dag.task_ids == ["extract", "load.copy", "load.check"]
    # ``get >> load`` links to the group's roots only, as in Airflow: extract -> load.copy
    assert sorted([e.upstream, e.downstream] for e in dag.edges) == [
        ["extract", "load.copy"],
        ["load.copy", "load.check"],
    ]
    assert "def extract" in dag.module_code
    assert oct((in_tmp / "new_proj" / "dags" / "etl_py.json").stat().st_mode & 0o777) != oct(0o600)


def test_import_merges_into_an_existing_project(in_tmp: Path) -> None:
    make_project(in_tmp / "proj", etl_dag())
    before = snapshot(in_tmp / "proj")
    (in_tmp / "etl.py").write_text(ETL_PY)
    import_to_project(in_tmp / "etl.py", in_tmp / "proj")
    after = snapshot(in_tmp / "proj")
    for name, data in before.items():  # every file of the other DAG and the settings: byte-identical
        assert after[name] == data
    assert set(after) - set(before) == {"dags/etl_py.json", "dags/etl_py.py"}
    assert [d.dag_id for d in read_project(in_tmp / "proj").dags] == ["etl", "etl_py"]


def test_import_replaces_a_dag_with_the_same_id_under_another_file_name(in_tmp: Path) -> None:
    make_project(in_tmp / "proj", etl_dag("etl_py"), etl_dag("keep"))
    os.rename(in_tmp / "proj" / "dags" / "etl_py.json", in_tmp / "proj" / "dags" / "renamed.json")
    os.rename(in_tmp / "proj" / "dags" / "etl_py.py", in_tmp / "proj" / "dags" / "renamed.py")
    (in_tmp / "etl.py").write_text(ETL_PY)
    import_to_project(in_tmp / "etl.py", in_tmp / "proj")
    names = sorted(p.name for p in (in_tmp / "proj" / "dags").iterdir())
    assert names == ["etl_py.json", "etl_py.py", "keep.json", "keep.py"]
    assert read_project(in_tmp / "proj").dag("etl_py").task_ids == ["extract", "load.copy", "load.check"]


def test_failed_import_leaves_the_project_byte_identical(in_tmp: Path) -> None:
    make_project(in_tmp / "proj", etl_dag("etl_py"))
    before = snapshot(in_tmp / "proj")
    (in_tmp / "broken.py").write_text(SYNTAX_ERROR_PY)
    with pytest.raises(StudioError) as info:
        import_to_project(in_tmp / "broken.py", in_tmp / "proj")
    assert info.value.diagnostics[0].file == "broken.py"
    cyclic = ETL_PY.replace("get >> load", "get >> load >> get")
    (in_tmp / "cyclic.py").write_text(cyclic)
    with pytest.raises(StudioError) as info:
        import_to_project(in_tmp / "cyclic.py", in_tmp / "proj")
    assert any("cycle" in d.message and d.file == "cyclic.py" for d in info.value.diagnostics)
    assert snapshot(in_tmp / "proj") == before


def test_failed_import_into_a_new_folder_creates_nothing(in_tmp: Path) -> None:
    (in_tmp / "broken.py").write_text(SYNTAX_ERROR_PY)
    with pytest.raises(StudioError):
        import_to_project(in_tmp / "broken.py", in_tmp / "a" / "b")
    assert not (in_tmp / "a").exists()


def test_import_refuses_a_folder_that_has_dags_but_no_project(in_tmp: Path) -> None:
    (in_tmp / "repo" / "dags").mkdir(parents=True)
    (in_tmp / "repo" / "dags" / "etl_py.py").write_text(ETL_PY)
    before = snapshot(in_tmp / "repo")
    with pytest.raises(StudioError) as info:
        import_to_project(in_tmp / "repo" / "dags" / "etl_py.py", in_tmp / "repo")
    assert "not a DAG Studio project" in info.value.diagnostics[0].message
    assert snapshot(in_tmp / "repo") == before


def test_import_never_executes_the_file(in_tmp: Path) -> None:
    marker = in_tmp / "executed.txt"
    (in_tmp / "marker.py").write_text(MARKER_PY.format(marker=str(marker)))
    import_to_project(in_tmp / "marker.py", in_tmp / "proj")
    assert read_project(in_tmp / "proj").dag("marker_dag") is not None
    assert not marker.exists()


# --- export ---------------------------------------------------------------------------------------
def test_export_writes_one_file_per_dag(in_tmp: Path) -> None:
    make_project(in_tmp / "proj", etl_dag(), etl_dag("other"))
    outcome = workspace.export(Path("proj"), Path("out"))
    assert sorted(p.name for p in outcome.files) == ["etl.py", "other.py"]
    source = (in_tmp / "out" / "etl.py").read_text()
    compile(source, "etl.py", "exec")
    from studio.codegen.importer import import_source

    assert import_source(source, "etl.py").dags[0].structure() == etl_dag().structure()


def test_export_with_errors_writes_nothing(in_tmp: Path) -> None:
    dag = etl_dag()
    dag.edges.append(Edge("load.check", "extract"))
    make_project(in_tmp / "proj", dag)
    (in_tmp / "out").mkdir()
    (in_tmp / "out" / "keep.txt").write_text("mine")
    before = snapshot(in_tmp / "out")
    with pytest.raises(StudioError) as info:
        workspace.export(Path("proj"), Path("out"))
    d = next(d for d in info.value.diagnostics if "cycle" in d.message)
    assert d.file == "proj/dags/etl.json" and d.line is not None
    assert snapshot(in_tmp / "out") == before


def test_export_rejects_an_unknown_target(in_tmp: Path) -> None:
    make_project(in_tmp / "proj")
    with pytest.raises(StudioError, match="unknown target 'airflow1'"):
        workspace.export(Path("proj"), Path("out"), "airflow1")
    assert not (in_tmp / "out").exists()


def test_resolve_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTUDIO_HOME", str(tmp_path / "env"))
    assert workspace.resolve_home(tmp_path / "flag") == tmp_path / "flag"
    assert workspace.resolve_home() == tmp_path / "env"
    monkeypatch.delenv("DAGSTUDIO_HOME")
    assert workspace.resolve_home().name == "dagstudio"
