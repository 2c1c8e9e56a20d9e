"""Teardown runs even when the work between setup and teardown fails, and the run is still failed:
a teardown's success does not hide a failed task (teardowns are not counted as leaves for the run state).

Expected: create success/1; work failed/1; delete (teardown) success/1; report (all_success after
work) upstream_failed/0; run failed. Markers create and delete.
"""

import os
from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "failed"
EXPECTED = {
    "create": ("success", 1),
    "work": ("failed", 1),
    "delete": ("success", 1),
    "report": ("upstream_failed", 0),
}
EXPECTED_MARKERS = ["create", "delete"]


def _touch(name: str) -> None:
    open(os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), name), "w").close()


def _fail() -> None:
    raise RuntimeError("work failed")


with DAG("setup_teardown_work_fails", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    create = PythonOperator(task_id="create", python_callable=_touch, op_args=["create"]).as_setup()
    work = PythonOperator(task_id="work", python_callable=_fail)
    delete = PythonOperator(task_id="delete", python_callable=_touch, op_args=["delete"])
    create >> work >> delete.as_teardown(setups=create)
    work >> EmptyOperator(task_id="report")
