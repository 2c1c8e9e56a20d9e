"""XComArgs written out: task.output, task.output["key"], XComArg(task) in templated fields."""

from datetime import datetime

from airflow import DAG
from airflow.models.xcom_arg import XComArg
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator


def produce():
    return {"path": "/tmp/x", "rows": 3}


def consume(path, everything):
    print(path, everything)


with DAG("corpus_xcomarg", start_date=datetime(2024, 1, 1), schedule=None) as dag:
    producer = PythonOperator(task_id="produce", python_callable=produce)
    listing = BashOperator(task_id="listing", bash_command="ls /tmp")
    consumer = PythonOperator(
        task_id="consume",
        python_callable=consume,
        op_kwargs={"path": producer.output["path"], "everything": XComArg(producer)},
    )
    shout = BashOperator(task_id="shout", bash_command="echo $FILES", env={"FILES": listing.output})
    untemplated = PythonOperator(task_id="untemplated", python_callable=produce, show_return_value_in_logs=True)
