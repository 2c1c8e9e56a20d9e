"""A Label between tasks of different groups: Airflow connects the groups (leaves to roots)."""

from datetime import datetime

from airflow import DAG
from airflow.operators.empty import EmptyOperator
from airflow.utils.edgemodifier import Label
from airflow.utils.task_group import TaskGroup

with DAG("corpus_label_groups", start_date=datetime(2024, 1, 1), schedule=None) as dag:
    with TaskGroup("left") as left:
        l1 = EmptyOperator(task_id="l1")
        l2 = EmptyOperator(task_id="l2")
        l1 >> l2
    with TaskGroup("right") as right:
        r1 = EmptyOperator(task_id="r1")
        r2 = EmptyOperator(task_id="r2")
    l1 >> Label("cross") >> r1
    solo = EmptyOperator(task_id="solo")
    solo >> Label("into group") >> r2
