"""fail_fast=True: when a task fails, every task not yet finished is set to skipped (teardowns excepted).

Linear so that the outcome does not depend on the order dag.test() runs ready tasks in:
prepare >> explode >> next_step >> last_step, and cleanup is prepare's teardown after explode.
Without fail_fast next_step and last_step would be upstream_failed; with it they are skipped.
Expected: prepare success/1; explode failed/1; next_step and last_step skipped/0; cleanup (teardown,
not touched by fail_fast) success/1. The run is success: its only effective leaf is last_step (skipped);
explode has a non-teardown downstream so it is no leaf, and a teardown leaf does not count.
"""

from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "prepare": ("success", 1),
    "explode": ("failed", 1),
    "next_step": ("skipped", 0),
    "last_step": ("skipped", 0),
    "cleanup": ("success", 1),
}


def _explode() -> None:
    raise RuntimeError("explode")


with DAG("fail_fast_dag", schedule=None, start_date=datetime(2024, 1, 1), catchup=False, fail_fast=True):
    prepare = EmptyOperator(task_id="prepare").as_setup()
    explode = PythonOperator(task_id="explode", python_callable=_explode)
    prepare >> explode >> EmptyOperator(task_id="next_step") >> EmptyOperator(task_id="last_step")
    explode >> EmptyOperator(task_id="cleanup").as_teardown(setups=prepare)
