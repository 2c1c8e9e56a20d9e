"""A mapped task where one map index fails: the other indexes succeed, the downstream reduce is
upstream_failed, a one_failed handler runs.

check.expand(x=[1, 2, 3]) raises for x == 2 (retries=1, retry_delay=0: index 1 is tried twice).
Expected: check[0] and check[2] success/1, check[1] failed/2; reduce upstream_failed/0;
alert (one_failed) success/1; the run is failed (leaf reduce is upstream_failed).
"""

from datetime import datetime, timedelta

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task

EXPECTED_RUN_STATE = "failed"
EXPECTED = {
    "check[0]": ("success", 1),
    "check[1]": ("failed", 2),
    "check[2]": ("success", 1),
    "reduce": ("upstream_failed", 0),
    "alert": ("success", 1),
}

with DAG("mapping_one_index_fails", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task(retries=1, retry_delay=timedelta(seconds=0))
    def check(x: int) -> int:
        if x == 2:
            raise ValueError("bad element 2")
        return x

    @task
    def reduce(values) -> int:
        return sum(values)

    checked = check.expand(x=[1, 2, 3])
    reduce(checked)
    checked >> EmptyOperator(task_id="alert", trigger_rule="one_failed")
