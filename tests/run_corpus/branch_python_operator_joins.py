"""BranchPythonOperator into joins: the branch follows "left"; "right" is skipped.

join_min_one (none_failed_min_one_success) runs after left although right was skipped;
join_all (all_success) is skipped because one upstream (right) was skipped, and so is its downstream.
Expected: pick success/1, left success/1, right skipped/0, join_min_one success/1, join_all skipped/0,
after_join_all skipped/0; the run is success (skipped leaves do not fail a run).
"""

from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import BranchPythonOperator
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "pick": ("success", 1),
    "left": ("success", 1),
    "right": ("skipped", 0),
    "join_min_one": ("success", 1),
    "join_all": ("skipped", 0),
    "after_join_all": ("skipped", 0),
}

with DAG("branch_python_operator_joins", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    pick = BranchPythonOperator(task_id="pick", python_callable=lambda: "left")
    left = EmptyOperator(task_id="left")
    right = EmptyOperator(task_id="right")
    join_min_one = EmptyOperator(task_id="join_min_one", trigger_rule="none_failed_min_one_success")
    join_all = EmptyOperator(task_id="join_all")
    pick >> [left, right]
    [left, right] >> join_min_one
    [left, right] >> join_all >> EmptyOperator(task_id="after_join_all")
