"""Round trips of the sample projects: ``import(export(project)) == project`` for both targets, and real Airflow.

* export writes one deterministic, compilable ``<dag_id>.py`` per DAG;
* the AST importer reads each exported file back into exactly the DAG it came from (arguments, groups,
  tasks, edges with labels, module code), without a single warning. Positions are not part of Airflow
  code, so the importer cannot know them: DAGs are compared without positions, and an imported task
  has either no position or the original one;
* exporting the imported DAG again gives the same bytes (the generated code is a fixpoint);
* ``@pytest.mark.airflow``: every exported sample loads in Apache Airflow 3.3.2's DagBag with zero
  import errors and exactly the structure ``dagstudio inspect --json`` reports, for the project folder
  and for the exported ``.py`` folder alike.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from studio.codegen.export import export_project
from studio.codegen.generator import generate_dag
from studio.codegen.importer import import_file, import_source
from studio.core.model import Dag, Project
from studio.core.serialization import PROJECT_FILE, dag_to_json, read_project
from tests.conftest import REPO, SAMPLES

PROJECT_DIRS = sorted(p.parent for p in SAMPLES.glob(f"*/{PROJECT_FILE}"))
PROJECT_IDS = [p.name for p in PROJECT_DIRS]
TARGETS = ("airflow3", "airflow2")


def comparable(dag: Dag) -> dict[str, Any]:
    """Everything a DAG is, as JSON, except task positions (Airflow code has no place for them)."""
    data = dag_to_json(dag)
    for task in data["tasks"]:
        task.pop("position", None)
    data["module_code"] = dag.module_code
    return data


@pytest.fixture(params=PROJECT_DIRS, ids=PROJECT_IDS)
def project(request: pytest.FixtureRequest) -> Project:
    return read_project(request.param, display_root=SAMPLES)


@pytest.mark.parametrize("target", TARGETS)
def test_export_writes_one_compilable_deterministic_file_per_dag(project, target, tmp_path):
    paths = export_project(project, tmp_path / "out", target)
    assert sorted(p.name for p in paths) == sorted(f"{d.dag_id}.py" for d in project.dags)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)
    for dag in project.dags:
        text = (tmp_path / "out" / f"{dag.dag_id}.py").read_text(encoding="utf-8")
        assert text == generate_dag(dag, target)
        compile(text, f"{dag.dag_id}.py", "exec")
        assert f'"{dag.dag_id}"' in text
    again = export_project(project, tmp_path / "again", target)
    for first, second in zip(sorted(paths), sorted(again)):
        assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize("target", TARGETS)
def test_import_of_export_is_the_project(project, target, tmp_path):
    imported: list[Dag] = []
    for path in sorted(export_project(project, tmp_path, target)):
        result = import_file(path, display=path.name)
        assert [str(d) for d in result.diagnostics] == [], f"{path.name}: the importer fell back to code"
        assert len(result.dags) == 1, path.name
        imported.extend(result.dags)
    originals = {d.dag_id: d for d in project.dags}
    assert sorted(d.dag_id for d in imported) == sorted(originals)
    for dag in imported:
        original = originals[dag.dag_id]
        assert comparable(dag) == comparable(original), dag.dag_id
        for got, want in zip(dag.tasks, original.tasks):
            assert got.position in (None, want.position), f"{dag.dag_id}.{got.task_id}: invented position"


@pytest.mark.parametrize("target", TARGETS)
def test_generated_code_is_a_fixpoint_of_import_and_export(project, target):
    for dag in project.dags:
        code = generate_dag(dag, target)
        (again,) = import_source(code, f"{dag.dag_id}.py").dags
        assert generate_dag(again, target) == code, dag.dag_id


def test_both_targets_write_schedule_and_their_own_imports(project):
    for dag in project.dags:
        af3, af2 = generate_dag(dag, "airflow3"), generate_dag(dag, "airflow2")
        assert "from airflow.sdk import" in af3
        assert "airflow.sdk" not in af2
        assert "schedule=" in af3 and "schedule=" in af2
        assert "schedule_interval" not in af2


# --- real Airflow ----------------------------------------------------------------------------------
def inspect_json(path: Path) -> dict[str, dict[str, Any]]:
    """``dagstudio inspect PATH --json`` run as a user would, keyed by dag_id."""
    proc = subprocess.run(
        [sys.executable, "-m", "studio", "inspect", str(path), "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 0, f"inspect {path} failed ({proc.returncode}): {proc.stderr}"
    data = json.loads(proc.stdout)
    return {d["dag_id"]: {"tasks": d["tasks"], "edges": d["edges"]} for d in data["dags"]}


@pytest.fixture(scope="module")
def exported_samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("exported") / "dags"
    for folder in PROJECT_DIRS:
        export_project(read_project(folder), out, "airflow3")
    return out


@pytest.fixture(scope="module")
def dagbag(airflow_oracle, exported_samples: Path) -> dict[str, Any]:
    return airflow_oracle(exported_samples)


@pytest.mark.airflow
def test_every_exported_sample_loads_in_airflow_without_import_errors(dagbag, exported_samples):
    assert dagbag["import_errors"] == {}
    expected = sorted(d.dag_id for folder in PROJECT_DIRS for d in read_project(folder).dags)
    assert sorted(dagbag["dags"]) == expected
    for dag_id, info in dagbag["dags"].items():
        assert Path(info["file"]) == exported_samples / f"{dag_id}.py"


@pytest.mark.airflow
@pytest.mark.parametrize("folder", PROJECT_DIRS, ids=PROJECT_IDS)
def test_airflow_sees_exactly_what_inspect_reports(dagbag, exported_samples, folder):
    of_project = inspect_json(folder)
    of_exported = inspect_json(exported_samples)
    project = read_project(folder)
    assert sorted(of_project) == sorted(d.dag_id for d in project.dags)
    for dag in project.dags:
        airflow = {"tasks": dagbag["dags"][dag.dag_id]["tasks"], "edges": dagbag["dags"][dag.dag_id]["edges"]}
        model = dag.structure()
        assert of_project[dag.dag_id] == airflow, f"{dag.dag_id}: inspect of the project differs from Airflow"
        assert of_exported[dag.dag_id] == airflow, f"{dag.dag_id}: inspect of the .py differs from Airflow"
        assert {"tasks": model["tasks"], "edges": model["edges"]} == airflow, dag.dag_id
