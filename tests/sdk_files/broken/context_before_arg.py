"""A context parameter before a plain one: Airflow cannot give it a default."""

from airflow.sdk import DAG, task

with DAG("broken_context", schedule=None):

    @task
    def f(ti, x):
        return x

    f(1)
