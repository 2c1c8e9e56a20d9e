"""A long linear pipeline built with reduce-free style: a list of ids and pairwise >>."""

from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator

STEPS = ["checkout", "install", "lint", "test", "build", "publish"]

with DAG("corpus_linear_pipeline", start_date=datetime(2024, 1, 1), schedule=None, max_active_tasks=2) as dag:
    tasks = {}
    for step in STEPS:
        tasks[step] = BashOperator(task_id=step, bash_command=f"make {step}")
    for up, down in zip(STEPS, STEPS[1:]):
        tasks[up] >> tasks[down]
    tasks["lint"] >> tasks["build"]
