"""Golden files: the generated code of representative DAGs, compared byte for byte.

Run with ``UPDATE_GOLDEN=1`` to rewrite ``tests/golden/*.py`` after an intended change, then review
every diff by eye — these files are what users see. Each golden must compile, be left unchanged by
``ruff format`` (the generator lays code out as ruff does) and have no pyflakes/pycodestyle findings
(no unused import, no undefined name, no line over 100 characters).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from studio.codegen.generator import generate_dag
from studio.core.jsonfile import dumps
from studio.core.serialization import dag_from_json_text, dag_to_json
from tests.test_codegen_cases import CASES, GOLDEN_CASES

GOLDEN = Path(__file__).resolve().parent / "golden"


def golden_path(name: str, target: str) -> Path:
    return GOLDEN / f"{name}.{target}.py"


@pytest.mark.parametrize(("name", "target"), GOLDEN_CASES)
def test_generated_code_matches_golden_file(name: str, target: str) -> None:
    code = generate_dag(CASES[name](), target)
    path = golden_path(name, target)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(code, encoding="utf-8")
    assert path.exists(), f"missing golden file {path.name}: run with UPDATE_GOLDEN=1 and review it"
    assert code == path.read_text(encoding="utf-8")
    compile(code, str(path), "exec")


def test_every_golden_file_belongs_to_a_case() -> None:
    expected = {golden_path(n, t).name for n, t in GOLDEN_CASES}
    assert {p.name for p in GOLDEN.glob("*.py")} == expected


@pytest.mark.parametrize(("name", "target"), GOLDEN_CASES)
def test_generation_is_deterministic_also_after_a_json_round_trip(name: str, target: str) -> None:
    dag = CASES[name]()
    first = generate_dag(dag, target)
    assert generate_dag(dag, target) == first
    rebuilt = dag_from_json_text(dumps(dag_to_json(dag)), f"dags/{name}.json")
    rebuilt.module_code = dag.module_code
    assert generate_dag(rebuilt, target) == first
    assert generate_dag(CASES[name](), target) == first  # a freshly built, equal model


def _ruff() -> list[str] | None:
    exe = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    return [exe] if Path(exe).exists() else None


@pytest.fixture(scope="module")
def ruff() -> list[str]:
    cmd = _ruff()
    if cmd is None:
        pytest.skip("ruff is not installed")
    return cmd


def test_golden_files_are_ruff_formatted(ruff: list[str]) -> None:
    files = [str(golden_path(n, t)) for n, t in GOLDEN_CASES]
    proc = subprocess.run(
        [*ruff, "format", "--isolated", "--line-length", "100", "--diff", *files],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_golden_files_have_no_lint_findings(ruff: list[str]) -> None:
    files = [str(golden_path(n, t)) for n, t in GOLDEN_CASES]
    proc = subprocess.run(
        [*ruff, "check", "--isolated", "--select", "E,F,W", "--line-length", "100", *files],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_generated_code_of_many_dags_is_ruff_formatted(ruff: list[str], tmp_path: Path) -> None:
    """The layout rules hold beyond the goldens: random structures and the stress DAGs of the Airflow test."""
    from tests.test_codegen_airflow import all_dags
    from tests.test_codegen_random import random_dag

    dags = [random_dag(seed, size=25) for seed in range(150)] + all_dags()
    for dag in dags:
        for target in ("airflow3", "airflow2"):
            (tmp_path / f"{dag.dag_id}.{target}.py").write_text(generate_dag(dag, target), encoding="utf-8")
    proc = subprocess.run(
        [*ruff, "format", "--isolated", "--line-length", "100", "--diff", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
