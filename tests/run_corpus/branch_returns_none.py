"""@task.branch returning None: every direct downstream task is skipped.

Expected: nothing success/1; x and y skipped/0; join (none_failed_min_one_success) skipped/0 because
no upstream succeeded; always_runs (trigger_rule always) success/1; the run is success.
"""

from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "nothing": ("success", 1),
    "x": ("skipped", 0),
    "y": ("skipped", 0),
    "join": ("skipped", 0),
    "always_runs": ("success", 1),
}

with DAG("branch_returns_none", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task.branch
    def nothing() -> None:
        return None

    x = EmptyOperator(task_id="x")
    y = EmptyOperator(task_id="y")
    nothing() >> [x, y]
    [x, y] >> EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
    [x, y] >> EmptyOperator(task_id="always_runs", trigger_rule="always")
