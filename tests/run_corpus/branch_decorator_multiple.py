"""@task.branch returning a list: two of three branches are followed, the third is skipped.

Expected: choose success/1; a and b success/1; c skipped/0; join (none_failed_min_one_success)
success/1; the run is success.
"""

from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "choose": ("success", 1),
    "a": ("success", 1),
    "b": ("success", 1),
    "c": ("skipped", 0),
    "join": ("success", 1),
}

with DAG("branch_decorator_multiple", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task.branch
    def choose() -> list[str]:
        return ["a", "b"]

    branches = [EmptyOperator(task_id=name) for name in ("a", "b", "c")]
    choose() >> branches >> EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
