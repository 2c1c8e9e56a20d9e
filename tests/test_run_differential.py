"""Differential test of the local engine: every file of tests/run_corpus/ run by ``dagstudio run --json``
must end exactly as real Apache Airflow 3.3.2's ``dag.test()`` ends it: same run state, same task
instances (``task_id`` / ``task_id[i]``) with the same final state and try number, same marker files.

Skipped until the engine exists (``dagstudio run --help`` must show the run command's own usage: today
an unknown command falls through to ``dagstudio gui``, which also exits 0).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.oracle.run_oracle import CorpusCase, corpus_cases, oracle_result

REPO = Path(__file__).resolve().parents[1]
CASES = corpus_cases()


@functools.lru_cache(maxsize=1)
def engine_available() -> bool:
    """``python -m studio run --help`` exits 0 and documents the run command's options."""
    proc = subprocess.run(
        [sys.executable, "-m", "studio", "run", "--help"], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    return proc.returncode == 0 and "dagstudio run" in proc.stdout and "--logical-date" in proc.stdout


pytestmark = [
    pytest.mark.airflow,
    pytest.mark.skipif(not engine_available(), reason="the local engine (dagstudio run) does not exist yet"),
]


def dagstudio_run(case: CorpusCase, home: Path, corpus_tmp: Path) -> tuple[int, dict]:
    """``dagstudio run FILE --dag ID --logical-date ISO --json [--conf JSON]``: exit code and parsed output."""
    command = [sys.executable, "-m", "studio", "run", str(case.path), "--dag", case.dag_id]
    command += ["--logical-date", case.logical_date, "--json"]
    if case.conf:
        command += ["--conf", json.dumps(case.conf)]
    env = {**os.environ, "DAGSTUDIO_HOME": str(home), "RUN_CORPUS_TMP": str(corpus_tmp)}
    proc = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr[-4000:]
    try:
        return proc.returncode, json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"not JSON on stdout (exit {proc.returncode}): {proc.stdout[-2000:]!r}\n{proc.stderr[-4000:]}")


def markers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("case", CASES, ids=[c.dag_id for c in CASES])
def test_dagstudio_run_matches_airflow_dag_test(case: CorpusCase, tmp_path: Path) -> None:
    corpus_tmp = tmp_path / "corpus_tmp"
    corpus_tmp.mkdir()
    code, ours = dagstudio_run(case, tmp_path / "home", corpus_tmp)
    theirs = oracle_result(case, prefetch=CASES)

    def outcome(result: dict) -> dict[str, tuple[str, int]]:
        return {key: (ti["state"], ti["try_number"]) for key, ti in result["tasks"].items()}

    assert ours["dag_id"] == theirs["dag_id"] == case.dag_id
    assert outcome(ours) == outcome(theirs)
    assert ours["state"] == theirs["state"]
    assert code == (0 if ours["state"] == "success" else 1)
    assert markers(corpus_tmp) == theirs["markers"]
