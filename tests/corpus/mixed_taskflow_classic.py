"""TaskFlow and classic operators together: .output into TaskFlow, TaskFlow results >> operators."""

from datetime import datetime

from airflow.decorators import dag, task
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator


def list_files():
    return ["a.csv", "b.csv"]


@dag(dag_id="corpus_mixed_styles", start_date=datetime(2024, 1, 1), schedule="@daily", catchup=False)
def mixed():
    listing = PythonOperator(task_id="list_files", python_callable=list_files)

    @task
    def count(files):
        return len(files)

    counted = count(listing.output)
    notify = BashOperator(task_id="notify", bash_command="echo {{ ti.xcom_pull('count') }} files")
    cleanup = BashOperator(task_id="cleanup", bash_command="rm -f /tmp/*.csv")
    counted >> notify
    notify << cleanup


mixed()
