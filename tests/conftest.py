"""Shared test setup: headless Qt, the Airflow oracle fixture, paths of samples and the corpus."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.docker_daemon import docker_daemon  # noqa: F401  (module fixture: the Docker tests' private dockerd)

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_projects"
CORPUS = Path(__file__).resolve().parent / "corpus"


@pytest.fixture(scope="session")
def airflow_oracle():
    """``dagbag_structure(folder)`` backed by a real Airflow 3.3.2 virtualenv (created on first use)."""
    from tests.oracle.airflow_env import airflow_python, dagbag_structure

    airflow_python()
    return dagbag_structure


def real_warnings(diagnostics: list) -> list:
    """Diagnostics other than the importer's note that it made Airflow 2's DAG defaults explicit."""
    from studio.codegen.importer.flavour import AIRFLOW2_DEFAULTS_NOTE

    return [d for d in diagnostics if AIRFLOW2_DEFAULTS_NOTE not in d.message]


def expected_after_target(dag_json: dict, target: str) -> dict:
    """What ``dag_to_json`` of ``import(generate(dag, target))`` must equal: for Airflow 2 the export
    writes the model's (Airflow 3) defaults for schedule and catchup explicitly, so they come back set."""
    from studio.core.catalog import AIRFLOW3_DAG_DEFAULTS

    if target != "airflow2":
        return dag_json
    args = {**{k: v for k, v in AIRFLOW3_DAG_DEFAULTS.items()}, **dag_json["args"]}
    return {**dag_json, "args": {k: args[k] for k in sorted(args)}}
