"""Retries exhausted: a task with retries=2 that always fails ends failed after three tries.

Expected: always_fails failed with try_number 3 (1 try + 2 retries, retry_delay=0); its all_success
downstream is upstream_failed (never tried: try_number 0); the run is failed.
"""

from datetime import datetime, timedelta

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "failed"
EXPECTED = {"always_fails": ("failed", 3), "downstream": ("upstream_failed", 0)}


def _fail() -> None:
    raise ValueError("always fails")


with DAG("retries_exhausted", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    always_fails = PythonOperator(
        task_id="always_fails", python_callable=_fail, retries=2, retry_delay=timedelta(seconds=0)
    )
    always_fails >> EmptyOperator(task_id="downstream")
