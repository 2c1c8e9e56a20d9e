"""Nested TaskGroups, one with prefix_group_id=False inside a prefixed group."""

import pendulum

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, TaskGroup

with DAG("corpus_groups_nested", start_date=pendulum.datetime(2024, 1, 1), schedule=None) as dag:
    start = EmptyOperator(task_id="start")
    with TaskGroup("outer", tooltip="Outer group") as outer:
        first = EmptyOperator(task_id="first")
        with TaskGroup("inner") as inner:
            a = EmptyOperator(task_id="a")
            b = EmptyOperator(task_id="b")
            a >> b
        with TaskGroup("flat", prefix_group_id=False) as flat:
            c = EmptyOperator(task_id="c")
            with TaskGroup("deep") as deep:
                d = EmptyOperator(task_id="d")
        first >> inner >> flat
    end = EmptyOperator(task_id="end")
    start >> outer >> end
