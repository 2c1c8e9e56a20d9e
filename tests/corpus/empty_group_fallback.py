"""An empty TaskGroup in a chain: Airflow links what was upstream of it to what follows it."""

import pendulum

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, TaskGroup

with DAG("corpus_empty_group", start_date=pendulum.datetime(2024, 1, 1), schedule=None) as dag:
    before = EmptyOperator(task_id="before")
    with TaskGroup("placeholder") as placeholder:
        pass
    after = EmptyOperator(task_id="after")
    before >> placeholder >> after
