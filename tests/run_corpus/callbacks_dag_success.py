"""DAG-level on_success_callback on a successful run (a list of two callbacks: both are called);
on_failure_callback is not called.

Expected: first, second success/1; run success; markers dag_success_a and dag_success_b.
"""

import os
from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "success"
EXPECTED = {"first": ("success", 1), "second": ("success", 1)}
EXPECTED_MARKERS = ["dag_success_a", "dag_success_b"]


def _touch(name: str) -> None:
    open(os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), name), "w").close()


with DAG(
    "callbacks_dag_success",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    on_success_callback=[lambda context: _touch("dag_success_a"), lambda context: _touch("dag_success_b")],
    on_failure_callback=lambda context: _touch("dag_failure"),
):
    EmptyOperator(task_id="first") >> EmptyOperator(task_id="second")
