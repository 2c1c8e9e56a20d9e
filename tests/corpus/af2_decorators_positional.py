"""Airflow 2 decorator imports, a positional dag_id, retries via default_args."""

from datetime import datetime, timedelta

from airflow.decorators import dag, task

DEFAULTS = {"owner": "analytics", "retries": 2, "retry_delay": timedelta(seconds=30)}


@dag("corpus_af2_decorated", schedule="@hourly", start_date=datetime(2023, 5, 1), catchup=False, default_args=DEFAULTS)
def pipeline():
    @task
    def numbers():
        return [1, 2, 3]

    @task
    def total(values):
        return sum(values)

    @task(retries=0)
    def announce(value):
        print(value)

    announce(total(numbers()))


pipeline_dag = pipeline()
