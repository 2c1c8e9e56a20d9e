"""The ``dagstudio`` entry point, run for real in a subprocess (``python -m studio``): exit codes, JSON
shape, messages naming file and line, nothing written on bad input, DAG files never executed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio import __version__
from studio.cli import main, with_default_command
from studio.core.model import Edge
from tests.test_workspace import ETL_PY, MARKER_PY, SYNTAX_ERROR_PY, etl_dag, make_project, snapshot

REPO = Path(__file__).resolve().parents[1]


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, "-m", "studio", *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_version(tmp_path: Path) -> None:
    proc = run("--version", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == f"dagstudio {__version__}"


def test_inspect_json_of_a_project(tmp_path: Path) -> None:
    other = etl_dag("other")
    other.tasks.reverse()
    make_project(tmp_path / "proj", etl_dag(), other)
    proc = run("inspect", "proj", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    edges = [["extract", "transform"], ["transform", "load.check"], ["transform", "load.copy"]]  # sorted
    assert data == {
        "dags": [
            {"dag_id": "etl", "tasks": ["extract", "transform", "load.copy", "load.check"], "edges": edges},
            {"dag_id": "other", "tasks": ["load.check", "load.copy", "transform", "extract"], "edges": edges},
        ]
    }


def test_inspect_table(tmp_path: Path) -> None:
    make_project(tmp_path / "proj")
    proc = run("inspect", "proj/dags/etl.json", cwd=tmp_path)
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0] == "DAG etl  (proj/dags/etl.json)"
    assert "schedule: @daily" in lines[1] and "4 tasks, 3 edges" in lines[1]
    row = next(line for line in lines if line.strip().startswith("load.copy"))
    assert row.split() == ["load.copy", "BashOperator", "transform"]


def test_inspect_py_file_json(tmp_path: Path) -> None:
    (tmp_path / "etl.py").write_text(ETL_PY)
    proc = run("inspect", "etl.py", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        "dags": [
            {
                "dag_id": "etl_py",
                "tasks": ["extract", "load.copy", "load.check"],
                "edges": [["extract", "load.copy"], ["load.copy", "load.check"]],  # a group's roots only
            }
        ]
    }


def test_validate_ok_and_warnings(tmp_path: Path) -> None:
    make_project(tmp_path / "proj")
    proc = run("validate", "proj", cwd=tmp_path)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout.strip() == "ok: proj: 1 DAG, 4 tasks"
    dag = etl_dag()
    dag.args["default_args"] = {"retrys": 1}
    make_project(tmp_path / "warn", dag)
    proc = run("validate", "warn", cwd=tmp_path)
    line = (tmp_path / "warn/dags/etl.json").read_text().splitlines().index('    "default_args": {"retrys": 1},') + 1
    assert proc.returncode == 0
    assert proc.stderr.startswith(f"warning: warn/dags/etl.json:{line}: $.args.default_args: default_args key")


def test_validate_errors_exit_2_with_file_and_line(tmp_path: Path) -> None:
    dag = etl_dag()
    dag.edges.append(Edge("load.check", "extract"))
    dag.tasks[1].args["retries"] = "three"
    make_project(tmp_path / "proj", dag)
    text = (tmp_path / "proj/dags/etl.json").read_text().splitlines()
    proc = run("validate", "proj", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    errors = proc.stderr.splitlines()
    retries_line = next(i for i, s in enumerate(text, 1) if '"retries"' in s)
    cycle_line = next(i for i, s in enumerate(text, 1) if '["load.check", "extract"]' in s)
    assert f"error: proj/dags/etl.json:{retries_line}: $.tasks[1].args.retries: retries: expected an integer" in (
        proc.stderr
    )
    assert any(e.startswith(f"error: proj/dags/etl.json:{cycle_line}: $.edges[3]: cycle: ") for e in errors)
    assert all(e.startswith("error: proj/dags/etl.json:") for e in errors)


def test_malformed_json_names_file_and_line(tmp_path: Path) -> None:
    make_project(tmp_path / "proj")
    file = tmp_path / "proj/dags/etl.json"
    lines = file.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if '"schedule"' in line)
    assert lines[index].endswith(",")
    lines[index] = lines[index].rstrip(",")  # a missing comma: reported where the next member starts
    file.write_text("\n".join(lines) + "\n")
    proc = run("validate", "proj/dags/etl.json", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: proj/dags/etl.json:{index + 2}: invalid JSON: Expecting ',' delimiter")


def test_wrong_types_in_the_file_structure(tmp_path: Path) -> None:
    make_project(tmp_path / "proj")
    file = tmp_path / "proj/dags/etl.json"
    file.write_text(file.read_text().replace('"operator": "BashOperator"', '"operator": 42', 1))
    proc = run("validate", "proj", cwd=tmp_path)
    line = next(i for i, s in enumerate(file.read_text().splitlines(), 1) if '"operator": 42' in s)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: proj/dags/etl.json:{line}: $.tasks[1].operator: expected an operator")


def test_unknown_operator(tmp_path: Path) -> None:
    dag = etl_dag()
    dag.tasks[1].operator = "BashOp"
    make_project(tmp_path / "proj", dag)
    proc = run("validate", "proj", cwd=tmp_path)
    assert proc.returncode == 2 and "unknown operator 'BashOp'" in proc.stderr
    assert "proj/dags/etl.json:" in proc.stderr


@pytest.mark.parametrize("command", ["inspect", "validate", "export"])
def test_missing_path(tmp_path: Path, command: str) -> None:
    extra = ["-o", "out"] if command == "export" else []
    proc = run(command, "nowhere", *extra, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.strip() == "error: nowhere: no such file or directory"
    assert not (tmp_path / "out").exists()


def test_syntax_error_in_py_file(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text(SYNTAX_ERROR_PY)
    for command in ("inspect", "validate"):
        proc = run(command, "broken.py", cwd=tmp_path)
        assert proc.returncode == 2 and proc.stderr.startswith("error: broken.py:"), proc.stderr


def test_export_validates_first_and_writes_nothing_on_errors(tmp_path: Path) -> None:
    dag = etl_dag()
    dag.edges.append(Edge("load.check", "extract"))
    make_project(tmp_path / "proj", dag)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "etl.py").write_text("# an older export\n")
    before = snapshot(tmp_path / "out")
    proc = run("export", "proj", "-o", "out", cwd=tmp_path)
    assert proc.returncode == 2 and "cycle: " in proc.stderr and proc.stderr.startswith("error: proj/dags/etl.json:")
    assert snapshot(tmp_path / "out") == before


def test_export_writes_files(tmp_path: Path) -> None:
    make_project(tmp_path / "proj")
    proc = run("export", "proj", "-o", "out", "--target", "airflow2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "wrote out/etl.py"
    source = (tmp_path / "out" / "etl.py").read_text()
    compile(source, "etl.py", "exec")
    assert "airflow.operators.bash" in source  # the Airflow 2 import path


def test_export_bad_target_is_a_usage_error(tmp_path: Path) -> None:
    make_project(tmp_path / "proj")
    proc = run("export", "proj", "-o", "out", "--target", "airflow1", cwd=tmp_path)
    assert proc.returncode == 2 and "invalid choice: 'airflow1'" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_import_and_inspect_the_project(tmp_path: Path) -> None:
    (tmp_path / "etl.py").write_text(ETL_PY)
    proc = run("import", "etl.py", "-o", "proj", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "imported 1 DAG (etl_py) into proj"
    assert "wrote proj/dags/etl_py.json" in proc.stdout
    inspected = json.loads(run("inspect", "proj", "--json", cwd=tmp_path).stdout)
    assert inspected["dags"][0]["tasks"] == ["extract", "load.copy", "load.check"]
    assert run("validate", "proj", cwd=tmp_path).returncode == 0


def test_failed_import_leaves_the_project_untouched(tmp_path: Path) -> None:
    make_project(tmp_path / "proj", etl_dag("etl_py"))
    before = snapshot(tmp_path / "proj")
    (tmp_path / "broken.py").write_text(SYNTAX_ERROR_PY)
    proc = run("import", "broken.py", "-o", "proj", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.startswith("error: broken.py:")
    (tmp_path / "cyclic.py").write_text(ETL_PY.replace("get >> load", "get >> load >> get"))
    proc = run("import", "cyclic.py", "-o", "proj", cwd=tmp_path)
    assert proc.returncode == 2 and "cycle: " in proc.stderr and "error: cyclic.py:" in proc.stderr
    assert snapshot(tmp_path / "proj") == before


def test_dag_file_is_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "executed.txt"
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "marker.py").write_text(MARKER_PY.format(marker=str(marker)))
    for args in (
        ["inspect", "dags/marker.py", "--json"],
        ["inspect", "dags"],
        ["validate", "dags/marker.py"],
        ["validate", "dags"],
        ["import", "dags/marker.py", "-o", "proj"],
    ):
        proc = run(*args, cwd=tmp_path)
        assert proc.returncode == 0, (args, proc.stderr)
        assert not marker.exists(), args
    assert json.loads(run("inspect", "proj", "--json", cwd=tmp_path).stdout)["dags"][0]["edges"] == [["a", "b"]]


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    proc = run("inspect", cwd=tmp_path)
    assert proc.returncode == 2 and "the following arguments are required: PATH" in proc.stderr
    proc = run("import", "x.py", cwd=tmp_path)
    assert proc.returncode == 2 and "-o/--output" in proc.stderr


def test_home_option_is_accepted_everywhere(tmp_path: Path) -> None:
    make_project(tmp_path / "proj")
    assert run("--home", "h", "validate", "proj", cwd=tmp_path).returncode == 0
    assert run("validate", "proj", "--home", "h", cwd=tmp_path).returncode == 0
    assert not (tmp_path / "h").exists()  # stored for later issues, nothing created now


@pytest.mark.gui
def test_bare_path_with_screenshot_opens_the_gui(tmp_path: Path) -> None:
    make_project(tmp_path / "proj")
    proc = run("proj", "--screenshot", "shot.png", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "shot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- in process -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], ["gui"]),
        (["proj"], ["gui", "proj"]),
        (["--screenshot", "a.png"], ["gui", "--screenshot", "a.png"]),
        (["--home", "h", "proj", "--view", "grid"], ["gui", "--home", "h", "proj", "--view", "grid"]),
        (["gui", "proj"], ["gui", "proj"]),
        (["--home", "h", "inspect", "p"], ["--home", "h", "inspect", "p"]),
        (["--version"], ["--version"]),
        (["--help"], ["--help"]),
    ],
)
def test_default_command_is_the_gui(argv: list[str], expected: list[str]) -> None:
    assert with_default_command(argv) == expected


def test_internal_errors_are_reported_without_traceback_unless_debug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from studio import workspace

    def broken(path: Path) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(workspace, "load_path", broken)
    assert main(["validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err == "error: internal error: RuntimeError: a bug (run with --debug for the traceback)\n"
    assert main(["validate", str(tmp_path), "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and err.endswith("error: internal error: RuntimeError: a bug\n")


def test_main_returns_exit_codes_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"dagstudio {__version__}"
    assert main(["validate"]) == 2
    assert main(["validate", str(tmp_path / "nope")]) == 2
    assert "no such file or directory" in capsys.readouterr().err


@pytest.mark.airflow
def test_exported_project_loads_in_airflow_as_inspect_reports(tmp_path: Path, airflow_oracle) -> None:  # type: ignore[no-untyped-def]
    make_project(tmp_path / "proj", etl_dag(), etl_dag("other"))
    (tmp_path / "etl.py").write_text(ETL_PY)
    assert run("import", "etl.py", "-o", "proj", cwd=tmp_path).returncode == 0
    for target in ("airflow3", "airflow2"):
        proc = run("export", "proj", "-o", f"out_{target}", "--target", target, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    inspected = json.loads(run("inspect", "proj", "--json", cwd=tmp_path).stdout)["dags"]
    bag = airflow_oracle(tmp_path / "out_airflow3")
    assert bag["import_errors"] == {}
    assert {d["dag_id"]: (d["tasks"], d["edges"]) for d in inspected} == {
        dag_id: (dag["tasks"], dag["edges"]) for dag_id, dag in bag["dags"].items()
    }
