"""chain() with a list of Labels between a task and a list of TaskFlow tasks, then a group."""

import pendulum

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Label, TaskGroup, chain, task

with DAG("corpus_chain_labels", start_date=pendulum.datetime(2024, 1, 1), schedule=None) as dag:

    @task
    def x1():
        return 1

    @task
    def x2():
        return 2

    @task
    def x3():
        return 3

    t1 = EmptyOperator(task_id="t1")
    with TaskGroup("tg") as tg:
        EmptyOperator(task_id="inside_a") >> EmptyOperator(task_id="inside_b")
    chain(t1, [Label("branch one"), Label("branch two")], [x1(), x2()], tg, x3())
