"""Airflow 3 imports, a with-block DAG, PythonOperator callables with op_kwargs."""

import logging

import pendulum

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

log = logging.getLogger(__name__)


def download(url: str, retries: int = 3) -> str:
    log.info("downloading %s (%d retries)", url, retries)
    return "/tmp/data.csv"


def count_rows(path: str) -> int:
    with open(path) as fh:
        return sum(1 for _ in fh)


with DAG(
    dag_id="corpus_af3_python",
    schedule="0 6 * * *",
    start_date=pendulum.datetime(2024, 3, 1, tz="Europe/Berlin"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=pendulum.duration(hours=2),
    tags=["corpus", "python"],
) as dag:
    fetch = PythonOperator(
        task_id="download",
        python_callable=download,
        op_kwargs={"url": "https://example.com/data.csv", "retries": 5},
    )
    count = PythonOperator(task_id="count_rows", python_callable=count_rows, op_args=["/tmp/data.csv"])
    report = BashOperator(task_id="report", bash_command="echo rows: {{ ti.xcom_pull('count_rows') }}")
    fetch >> count >> report
