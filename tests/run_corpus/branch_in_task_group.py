"""Branching inside a TaskGroup: the branch callable returns the group-prefixed task id; the branch not
taken is skipped, and the group's join (none_failed_min_one_success) and the task after the group run.

Expected: choose.decide success/1; choose.fast success/1; choose.slow skipped/0; choose.join success/1;
after success/1; run success.
"""

from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import BranchPythonOperator
from airflow.sdk import DAG, TaskGroup

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "choose.decide": ("success", 1),
    "choose.fast": ("success", 1),
    "choose.slow": ("skipped", 0),
    "choose.join": ("success", 1),
    "after": ("success", 1),
}

with DAG("branch_in_task_group", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    with TaskGroup("choose") as choose:
        decide = BranchPythonOperator(task_id="decide", python_callable=lambda: "choose.fast")
        fast = EmptyOperator(task_id="fast")
        slow = EmptyOperator(task_id="slow")
        decide >> [fast, slow] >> EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
    choose >> EmptyOperator(task_id="after")
