"""Two DAGs in one file, sharing a helper function and a constant."""

from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator

START = datetime(2024, 1, 1)


def greet(name):
    print(f"hello {name}")


with DAG("corpus_multi_first", start_date=START, schedule="@daily", catchup=False) as first:
    hello = PythonOperator(task_id="hello", python_callable=greet, op_args=["first"])
    bye = BashOperator(task_id="bye", bash_command="echo bye")
    hello >> bye

with DAG("corpus_multi_second", start_date=START, schedule="@weekly", catchup=False) as second:
    hello2 = PythonOperator(task_id="hello", python_callable=greet, op_args=["second"])
    wait = BashOperator(task_id="wait", bash_command="sleep 1")
    wait >> hello2
