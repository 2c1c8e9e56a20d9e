"""Tasks created in loops over literal ranges, with f-string ids, chained together."""

import pendulum

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, chain

N_PARTITIONS = 4
PREFIX = "part"

with DAG("corpus_loops_range", start_date=pendulum.datetime(2024, 1, 1), schedule="@daily", catchup=False) as dag:
    start = EmptyOperator(task_id="start")
    end = EmptyOperator(task_id="end")
    previous = start
    for i in range(N_PARTITIONS):
        task = BashOperator(task_id=f"{PREFIX}_{i:02d}", bash_command=f"echo partition {i} of {N_PARTITIONS}")
        previous >> task
        previous = task
    previous >> end

    steps = [EmptyOperator(task_id=f"step_{n}") for n in range(1, 4)]
    chain(end, *steps)
