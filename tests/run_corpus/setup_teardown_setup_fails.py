"""A failing setup task: the work it sets up does not run, and its teardown (trigger rule
all_done_setup_success) does not run either because its setup did not succeed.

Expected: create failed/1; work upstream_failed/0; delete upstream_failed/0; run failed. No markers.
"""

from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "failed"
EXPECTED = {"create": ("failed", 1), "work": ("upstream_failed", 0), "delete": ("upstream_failed", 0)}
EXPECTED_MARKERS = []


def _fail() -> None:
    raise RuntimeError("setup failed")


with DAG("setup_teardown_setup_fails", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    create = PythonOperator(task_id="create", python_callable=_fail).as_setup()
    work = EmptyOperator(task_id="work")
    create >> work >> EmptyOperator(task_id="delete").as_teardown(setups=create)
