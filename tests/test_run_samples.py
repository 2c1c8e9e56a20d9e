"""The sample projects' DAGs that need no external service run as real Airflow 3.3.2 runs them.

Each DAG is exported (``dagstudio export``), then the same file runs through ``dag.test()`` in the Airflow
virtualenv and through ``dagstudio run``: same run state, same task instances with the same final state
and try number. The DAGs using Docker, S3 or SMTP need those services and run in the integrations tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.oracle.run_oracle import LOGICAL_DATE, airflow_run

REPO = Path(__file__).resolve().parents[1]
INBOX = Path("/tmp/dagstudio/inbox")  # what the showcase's PythonSensor waits for (a file in it)
CASES = [("showcase", "taskflow_showcase"), ("showcase", "dynamic_mapping_showcase")]

pytestmark = pytest.mark.airflow


def _dagstudio(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "DAGSTUDIO_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "studio", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=300)  # fmt: skip


@pytest.mark.parametrize(("project", "dag_id"), CASES, ids=[c[1] for c in CASES])
def test_sample_dag_runs_as_airflow_runs_it(project: str, dag_id: str, tmp_path: Path) -> None:
    INBOX.mkdir(parents=True, exist_ok=True)
    (INBOX / "orders.csv").write_text("id,amount\n1,10\n")
    exported = _dagstudio("export", str(REPO / "sample_projects" / project), "-o", str(tmp_path / "out"),
                          home=tmp_path / "home")  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    dag_file = tmp_path / "out" / f"{dag_id}.py"
    proc = _dagstudio("run", str(dag_file), "--dag", dag_id, "--logical-date", LOGICAL_DATE, "--json",
                      home=tmp_path / "home")  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    ours = json.loads(proc.stdout)
    theirs = airflow_run(dag_file, dag_id, LOGICAL_DATE)

    def outcome(result: dict) -> dict[str, tuple[str, int]]:
        return {key: (ti["state"], ti["try_number"]) for key, ti in result["tasks"].items()}

    assert outcome(ours) == outcome(theirs)
    assert ours["state"] == theirs["state"]
    assert len(ours["tasks"]) >= 5  # the sample really ran its tasks (not an empty outcome on both sides)
