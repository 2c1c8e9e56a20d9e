"""Branching with BranchPythonOperator and @task.branch, edge labels, trigger rules."""

import random
from datetime import datetime

from airflow import DAG
from airflow.decorators import task
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import BranchPythonOperator
from airflow.utils.edgemodifier import Label
from airflow.utils.trigger_rule import TriggerRule


def pick_branch():
    return random.choice(["branch_a", "branch_b"])


with DAG("corpus_branching", start_date=datetime(2024, 1, 1), schedule="@daily", catchup=False) as dag:
    run_this_first = EmptyOperator(task_id="run_this_first")
    branching = BranchPythonOperator(task_id="branching", python_callable=pick_branch)
    branch_a = EmptyOperator(task_id="branch_a")
    branch_b = EmptyOperator(task_id="branch_b")
    join = EmptyOperator(task_id="join", trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)

    run_this_first >> branching
    branching >> Label("first option") >> branch_a >> join
    branching >> Label("second option") >> branch_b >> join

    @task.branch(task_id="decide")
    def decide(value: int) -> str:
        return "big" if value > 10 else "small"

    big = EmptyOperator(task_id="big")
    small = EmptyOperator(task_id="small")
    merge = EmptyOperator(task_id="merge", trigger_rule="none_failed")
    join >> decide(5) >> [big, small] >> merge
