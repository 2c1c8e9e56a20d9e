"""Group-to-task, task-to-group and group-to-group dependencies use the groups' roots and leaves."""

from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator
from airflow.utils.task_group import TaskGroup

with DAG(dag_id="corpus_groups_leaves", start_date=datetime(2024, 1, 1), schedule="@daily", catchup=False):
    begin = EmptyOperator(task_id="begin")

    with TaskGroup(group_id="extract") as extract:
        users = BashOperator(task_id="users", bash_command="echo users")
        orders = BashOperator(task_id="orders", bash_command="echo orders")
        check = EmptyOperator(task_id="check")
        orders >> check

    with TaskGroup(group_id="load") as load:
        stage = EmptyOperator(task_id="stage")
        publish = EmptyOperator(task_id="publish")
        archive = EmptyOperator(task_id="archive")
        stage >> [publish, archive]

    finish = EmptyOperator(task_id="finish")

    begin >> extract
    extract >> load
    load >> finish
