"""A TaskFlow call with too many arguments: Airflow reports it when parsing."""

from airflow.sdk import DAG, task

with DAG("broken_args", schedule=None):

    @task
    def one(x):
        return x

    one(1, 2)
