"""Loops with continue and break, a conditional on a constant, nested comprehension ids."""

import pendulum

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

DEBUG = False
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

with DAG("corpus_skip_break", start_date=pendulum.datetime(2024, 1, 1), schedule=None) as dag:
    root = EmptyOperator(task_id="root")
    for day in DAYS:
        if day == "wed":
            continue
        if day == "sat":
            break
        root >> EmptyOperator(task_id=f"day_{day}")
    if DEBUG:
        EmptyOperator(task_id="debug_only")
    else:
        EmptyOperator(task_id="production_only")
    grid = [EmptyOperator(task_id=f"cell_{r}_{c}") for r in range(2) for c in range(2) if r <= c]
    root >> grid
