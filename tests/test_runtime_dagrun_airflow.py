"""Retry delays against real Airflow 3.3.2: ``studio.runtime.retries.retry_delay`` must give the
delay Airflow's own ``TaskInstance.next_retry_datetime`` gives (tests/oracle/retry_delay_oracle.py),
including the hash-based jitter of exponential backoff, ``max_retry_delay`` and the one-day cap."""

from __future__ import annotations

import itertools
import json
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path

import pytest

from studio.runtime.retries import retry_delay
from tests.oracle.airflow_env import airflow_env, airflow_python

pytestmark = pytest.mark.airflow

ORACLE = Path(__file__).parent / "oracle" / "retry_delay_oracle.py"


def cases() -> list[dict]:
    out = []
    for task_id, delay, backoff, max_delay, try_number, logical in itertools.product(
        ["a", "extract"],
        [0, 1, 7, 300],
        [False, True, 1.0, 1.5, 3],
        [None, 100],
        [1, 2, 4, 12],
        ["2024-01-01T00:00:00+00:00", "2025-06-30T12:34:56+00:00", None],
    ):
        out.append(
            {
                "task_id": task_id,
                "retry_delay": delay,
                "retry_exponential_backoff": backoff,
                "max_retry_delay": max_delay,
                "try_number": try_number,
                "logical_date": logical,
            }
        )
    return out


def test_retry_delays_match_airflow(airflow_oracle):
    all_cases = cases()
    with tempfile.TemporaryDirectory(prefix="airflow-home-") as home:
        proc = subprocess.run(
            [str(airflow_python()), str(ORACLE)],
            input=json.dumps(all_cases),
            capture_output=True,
            text=True,
            env=airflow_env(Path(home)),
            timeout=600,
        )
    assert proc.returncode == 0, proc.stderr[-4000:]
    expected = json.loads(proc.stdout)
    mismatches = []
    for case, want in zip(all_cases, expected, strict=True):
        logical = datetime.fromisoformat(case["logical_date"]) if case["logical_date"] else None
        got = retry_delay(case, dag_id="d", try_number=case["try_number"], logical_date=logical)
        if got.total_seconds() != want:
            mismatches.append(f"{case}: airflow {want}, ours {got.total_seconds()}")
    assert not mismatches, "\n".join(mismatches[:20])
    assert len(set(expected)) > 20  # the jitter really varies
