"""Loops over dict items and keys, enumerate, zip, and comprehensions that create tasks."""

from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator

TABLES = {"users": "id", "orders": "order_id", "items": "item_id"}
REGIONS = ("eu", "us", "apac")
OWNERS = ["ana", "bo", "cy"]

with DAG("corpus_loops_dicts", start_date=datetime(2024, 1, 1), schedule=None) as dag:
    done = EmptyOperator(task_id="done")
    for table, key in TABLES.items():
        dump = BashOperator(task_id=f"dump_{table}", bash_command=f"pg_dump -t {table} --key {key}")
        dump >> done
    for name in TABLES.keys():
        EmptyOperator(task_id=f"check_{name}") >> done
    for index, region in enumerate(REGIONS):
        BashOperator(task_id=f"sync_{index}_{region}", bash_command="echo " + region.upper()) >> done
    for region, owner in zip(REGIONS, OWNERS):
        EmptyOperator(task_id=f"notify_{region}", owner=owner) >> done
    audits = [EmptyOperator(task_id=f"audit_{t}") for t in sorted(TABLES) if t != "items"]
    done >> audits
