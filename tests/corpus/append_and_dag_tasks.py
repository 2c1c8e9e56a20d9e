"""Building lists and dicts of tasks with append/update, then wiring every task of the DAG to a final one."""

from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator
from airflow.utils.trigger_rule import TriggerRule

TABLES = ["customers", "orders"]
TABLES.append("payments")
CHECKS = {"row_count": "SELECT count(*)"}
CHECKS.update({"freshness": "SELECT max(updated_at)"})

with DAG("corpus_append_pattern", start_date=datetime(2024, 1, 1), schedule="@daily", catchup=False) as dag:
    loads = []
    for table in TABLES:
        loads.append(BashOperator(task_id=f"load_{table}", bash_command=f"load {table}"))
    checks = {}
    for name, query in CHECKS.items():
        checks[name] = BashOperator(task_id=f"check_{name}", bash_command=f"psql -c '{query}'")
    loads[0] >> loads[1:]
    checks["row_count"] >> checks["freshness"]
    report = EmptyOperator(task_id="report", trigger_rule=TriggerRule.ALL_DONE.value)
    for task in dag.tasks:
        if task.task_id != "report":
            task >> report
