"""Two tasks with one id."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG("broken_duplicate", schedule=None):
    EmptyOperator(task_id="a")
    EmptyOperator(task_id="a")
