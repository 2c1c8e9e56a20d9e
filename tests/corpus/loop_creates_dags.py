"""A loop that creates one DAG per customer (dynamic DAGs), some also stored in globals()."""

import pendulum

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

CUSTOMERS = [
    {"name": "acme", "schedule": "@daily"},
    {"name": "globex", "schedule": "@hourly"},
    {"name": "initech", "schedule": None},
]

for customer in CUSTOMERS:
    dag_id = f"corpus_customer_{customer['name']}"
    with DAG(dag_id, schedule=customer["schedule"], start_date=pendulum.datetime(2024, 1, 1), catchup=False) as dag:
        extract = BashOperator(task_id="extract", bash_command=f"extract.sh {customer['name']}")
        load = EmptyOperator(task_id="load")
        extract >> load
    globals()[dag_id] = dag
