"""A factory function that builds and returns a DAG, called for several configurations."""

from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator


def create_dag(dag_id, schedule, steps):
    dag = DAG(dag_id, schedule=schedule, start_date=datetime(2024, 1, 1), catchup=False, dagrun_timeout=timedelta(hours=1))
    with dag:
        start = EmptyOperator(task_id="start")
        previous = start
        for step in steps:
            current = BashOperator(task_id=step, bash_command=f"run {step}")
            previous >> current
            previous = current
    return dag


for name, schedule, steps in [("reports", "@daily", ["build", "send"]), ("backups", "@weekly", ["dump", "upload", "verify"])]:
    globals()[f"corpus_factory_{name}"] = create_dag(f"corpus_factory_{name}", schedule, steps)
