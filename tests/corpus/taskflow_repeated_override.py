"""Repeated TaskFlow calls get ids f, f__1, f__2; .override(task_id=...) names them explicitly."""

from datetime import datetime

from airflow.decorators import dag, task
from airflow.utils.task_group import TaskGroup


@dag(start_date=datetime(2024, 1, 1), schedule=None, catchup=False)
def corpus_taskflow_repeated():
    @task
    def step(n: int) -> int:
        return n + 1

    a = step(1)
    b = step(a)
    c = step(b)
    named = step.override(task_id="named_step", retries=2)(c)
    with TaskGroup("grp"):
        g1 = step(10)
        g2 = step(g1)
    again = step(named)
    g2 >> again


corpus_taskflow_repeated()
