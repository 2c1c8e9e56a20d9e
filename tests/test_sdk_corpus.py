"""Milestone: ``studio.sdk.loader.load_dag_file`` executes every corpus file through the ``airflow.*``
import hook and gets exactly the DAG ids, task ids (Airflow's order) and edges that real Apache Airflow
3.3.2's DagBag gets (``@pytest.mark.airflow``). Files using provider operators the local engine does not
provide are expected to fail with the hook's clear ImportError (strict xfail)."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.sdk.exceptions import DagFileError
from studio.sdk.loader import load_dag_file
from tests.conftest import CORPUS

FILES = sorted(CORPUS.glob("*.py"))
# Provider operators outside the engine's scope (S3/Docker/SMTP come with the integrations issue).
UNSUPPORTED = {
    "unknown_provider_operators": "airflow.providers.standard.operators.latest_only",
}


def structure(path: Path) -> dict:
    return {
        dag_id: {
            "tasks": [t.task_id for t in dag.tasks],
            "edges": sorted([up, t.task_id] for t in dag.tasks for up in t.upstream_task_ids),
        }
        for dag_id, dag in load_dag_file(path).items()
    }


def params():
    for path in FILES:
        marks = []
        if path.stem in UNSUPPORTED:
            marks.append(pytest.mark.xfail(strict=True, raises=DagFileError, reason=f"uses {UNSUPPORTED[path.stem]}"))
        yield pytest.param(path, id=path.stem, marks=marks)


@pytest.fixture(scope="module")
def oracle(airflow_oracle) -> dict:
    found = airflow_oracle(CORPUS)
    assert found["import_errors"] == {}
    by_file: dict[str, dict] = {}
    for dag_id, info in found["dags"].items():
        by_file.setdefault(Path(info["file"]).name, {})[dag_id] = {"tasks": info["tasks"], "edges": info["edges"]}
    return by_file


@pytest.mark.airflow
@pytest.mark.parametrize("path", list(params()))
def test_same_dags_tasks_and_edges_as_airflow(path: Path, oracle: dict):
    assert structure(path) == oracle[path.name]


@pytest.mark.parametrize("stem", sorted(UNSUPPORTED))
def test_unsupported_provider_names_module_and_line(stem: str):
    path = CORPUS / f"{stem}.py"
    with pytest.raises(DagFileError) as info:
        load_dag_file(path)
    text = str(info.value)
    assert UNSUPPORTED[stem] in text
    line = next(
        i
        for i, src in enumerate(path.read_text().splitlines(), 1)
        if src.startswith(("from ", "import ")) and UNSUPPORTED[stem] in src
    )
    assert f"{path}:{line}" in text


def test_every_supported_file_loads_with_tasks():
    for path in FILES:
        if path.stem not in UNSUPPORTED:
            dags = load_dag_file(path)
            assert dags and all(dag.tasks for dag in dags.values()), path.name
