"""Operators reached through module aliases: import ... as, from package import module."""

import pendulum

import airflow.providers.standard.operators.bash as bash_ops
from airflow.providers.standard.operators import python as py_ops
from airflow import sdk

import airflow.providers.standard.operators.empty


def shout():
    print("HELLO")


with sdk.DAG("corpus_module_aliases", start_date=pendulum.datetime(2024, 1, 1), schedule=None) as dag:
    a = bash_ops.BashOperator(task_id="a", bash_command="echo a")
    b = py_ops.PythonOperator(task_id="b", python_callable=shout)
    c = airflow.providers.standard.operators.empty.EmptyOperator(task_id="c")
    sdk.chain(a, b, c)
