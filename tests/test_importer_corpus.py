"""The corpus (tests/corpus): DAG files in the styles people write, read by the AST importer.

* every file imports without falling back to code (one documented exception: a Label between
  TaskGroups, which Airflow itself does not put on the task edge);
* ``@pytest.mark.airflow``: for every file the importer gives exactly the DAG ids, task ids (in
  Airflow's order) and edges that Apache Airflow 3.3.2's DagBag gives, with no import errors;
* generated code round-trips: ``import(generate(dag)) == dag`` (JSON and module code), and the exported
  files load in Airflow with the same ids and edges as the original corpus files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.codegen.generator import generate_dag
from studio.codegen.importer import import_file, import_source
from studio.core.model import Dag
from studio.core.serialization import dag_to_json
from tests.conftest import CORPUS, expected_after_target, real_warnings

FILES = sorted(CORPUS.glob("*.py"))
IDS = [p.stem for p in FILES]
EXPECTED_WARNINGS = {"label_across_groups": 1}  # labels between groups: see its docstring


def imported(path: Path) -> list[Dag]:
    result = import_file(path, display=path.name)
    found = real_warnings(result.diagnostics)
    assert len(found) == EXPECTED_WARNINGS.get(path.stem, 0), [str(d) for d in found]
    return result.dags


def structure(dag: Dag) -> dict:
    return {"tasks": dag.task_ids, "edges": sorted([e.upstream, e.downstream] for e in dag.edges)}


def test_the_corpus_is_big_and_varied():
    assert len(FILES) >= 35
    text = "\n".join(p.read_text() for p in FILES)
    for construct in (
        "dag=dag",
        "@dag",
        "@task_group",
        "TaskGroup(",
        "chain(",
        "cross_downstream(",
        "chain_linear(",
        ".expand(",
        ".partial(",
        "expand_kwargs(",
        "Label(",
        "S3KeySensor",
        "DockerOperator",
        "EmailOperator",
        "pendulum.timezone",
        "Param(",
        "on_failure_callback",
        "from airflow.operators.",
        "from airflow.sdk import",
        "globals()[",
        "if __name__ ==",
    ):
        assert construct in text, construct


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_every_corpus_file_imports(path):
    dags = imported(path)
    assert dags, path.name
    for dag in dags:
        assert dag.tasks, dag.dag_id
        known = set(dag.task_ids)
        assert all(e.upstream in known and e.downstream in known for e in dag.edges)
        compile(dag.module_code, f"{dag.dag_id}.module.py", "exec")


@pytest.fixture(scope="module")
def corpus_dagbag(airflow_oracle) -> dict:
    bag = airflow_oracle(CORPUS)
    assert bag["import_errors"] == {}
    return bag


@pytest.mark.airflow
@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_import_gives_what_airflow_gives(corpus_dagbag, path):
    want = {dag_id: d for dag_id, d in corpus_dagbag["dags"].items() if Path(d["file"]).name == path.name}
    got = {d.dag_id: structure(d) for d in imported(path)}
    assert sorted(got) == sorted(want)
    for dag_id, dag in got.items():
        assert dag["tasks"] == want[dag_id]["tasks"], dag_id
        assert dag["edges"] == want[dag_id]["edges"], dag_id


def all_corpus_dags() -> list[tuple[str, Dag]]:
    return [(path.stem, dag) for path in FILES for dag in import_file(path, display=path.name).dags]


@pytest.mark.parametrize(("stem", "dag"), all_corpus_dags(), ids=lambda v: v if isinstance(v, str) else v.dag_id)
def test_import_of_generated_code_is_the_same_dag(stem, dag):
    for target in ("airflow3", "airflow2"):
        source = generate_dag(dag, target)
        again = import_source(source, f"{dag.dag_id}.py")
        assert [str(d) for d in again.diagnostics] == [], target
        (back,) = again.dags
        assert dag_to_json(back) == expected_after_target(dag_to_json(dag), target), target
        assert back.module_code == dag.module_code, target


@pytest.mark.airflow
def test_exported_corpus_loads_in_airflow_like_the_original(corpus_dagbag, airflow_oracle, tmp_path):
    for _, dag in all_corpus_dags():
        (tmp_path / f"{dag.dag_id}.py").write_text(generate_dag(dag), encoding="utf-8")
    bag = airflow_oracle(tmp_path)
    assert bag["import_errors"] == {}
    assert sorted(bag["dags"]) == sorted(corpus_dagbag["dags"])
    for dag_id, original in corpus_dagbag["dags"].items():
        exported = bag["dags"][dag_id]
        assert sorted(exported["tasks"]) == sorted(original["tasks"]), dag_id
        assert exported["edges"] == original["edges"], dag_id
