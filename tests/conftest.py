"""Shared test setup: headless Qt, the Airflow oracle fixture, paths of samples and the corpus."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
