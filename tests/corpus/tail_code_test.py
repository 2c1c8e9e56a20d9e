"""A DAG file with a ``dag.test()`` block at the end and documentation set after creation."""

from datetime import datetime

from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator

with DAG("corpus_tail_code", start_date=datetime(2024, 1, 1), schedule="@daily", catchup=False) as dag:
    hello = BashOperator(task_id="hello", bash_command="echo hello")
    world = BashOperator(task_id="world", bash_command="echo world")
    hello >> world

dag.doc_md = "Set after the with block."
hello.doc_md = "Says hello."

if __name__ == "__main__":
    dag.test()
