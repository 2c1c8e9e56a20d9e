"""A helper function that builds tasks inside the DAG context, called in a loop."""

from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator


def make_stage(name, command, upstream=None):
    stage = BashOperator(task_id=f"stage_{name}", bash_command=command)
    if upstream is not None:
        upstream >> stage
    return stage


with DAG("corpus_helper_builds", start_date=datetime(2024, 1, 1), schedule=None) as dag:
    start = EmptyOperator(task_id="start")
    last = start
    for name in ["fetch", "parse", "store"]:
        last = make_stage(name, f"bash ./{name}.sh --verbose", upstream=last)
    verify = make_stage("verify", "bash ./verify.sh --strict")
    last >> verify
