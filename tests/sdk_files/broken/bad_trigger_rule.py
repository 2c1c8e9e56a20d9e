"""An unknown trigger rule."""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG("broken_rule", schedule=None):
    EmptyOperator(task_id="a", trigger_rule="sometimes")
