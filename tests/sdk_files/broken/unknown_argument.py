"""An operator argument that does not exist."""

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG("broken_kwarg", schedule=None):
    BashOperator(task_id="a", bash_command="true", colour="red")
