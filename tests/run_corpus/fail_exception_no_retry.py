"""AirflowFailException: the task fails at once, its retries are not used.

Expected: give_up (retries=3) failed with try_number 1; cleanup (trigger_rule all_done) success;
blocked (all_success) upstream_failed; the run is failed because the leaf blocked is upstream_failed.
"""

from datetime import datetime, timedelta

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
from airflow.sdk.exceptions import AirflowFailException

EXPECTED_RUN_STATE = "failed"
EXPECTED = {"give_up": ("failed", 1), "cleanup": ("success", 1), "blocked": ("upstream_failed", 0)}


def _give_up() -> None:
    raise AirflowFailException("no point retrying")


with DAG("fail_exception_no_retry", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    give_up = PythonOperator(task_id="give_up", python_callable=_give_up, retries=3, retry_delay=timedelta(seconds=0))
    give_up >> EmptyOperator(task_id="cleanup", trigger_rule="all_done")
    give_up >> EmptyOperator(task_id="blocked")
