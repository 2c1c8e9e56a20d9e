"""TaskGroup default_args: a group's default_args apply to its tasks (over the DAG's), not to others.

DAG default_args {"retries": 0}; group "patient" has default_args {"retries": 2, "retry_delay": 0 s}.
patient.flaky fails on its first try only (counter file) and so succeeds on try 2; outside.flaky_too
fails the same way but has no retries and ends failed. A task's own argument still wins:
patient.strict (retries=0 given explicitly) fails on try 1.
Expected: patient.flaky success/2, patient.strict failed/1, flaky_too failed/1; run failed.
"""

import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, TaskGroup

EXPECTED_RUN_STATE = "failed"
EXPECTED = {
    "patient.flaky": ("success", 2),
    "patient.strict": ("failed", 1),
    "flaky_too": ("failed", 1),
}
EXPECTED_MARKERS = ["flaky_too.count", "patient.flaky.count", "patient.strict.count"]


def _fail_first_try(name: str) -> None:
    path = os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), f"{name}.count")
    count = int(Path(path).read_text()) + 1 if os.path.exists(path) else 1
    with open(path, "w") as handle:
        handle.write(str(count))
    if count == 1:
        raise RuntimeError("first try fails")


with DAG(
    "taskgroup_default_args",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    default_args={"retries": 0},
):
    with TaskGroup("patient", default_args={"retries": 2, "retry_delay": timedelta(seconds=0)}):
        PythonOperator(task_id="flaky", python_callable=_fail_first_try, op_args=["patient.flaky"])
        PythonOperator(task_id="strict", python_callable=_fail_first_try, op_args=["patient.strict"], retries=0)
    PythonOperator(task_id="flaky_too", python_callable=_fail_first_try, op_args=["flaky_too"])
