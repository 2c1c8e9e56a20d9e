"""Airflow 2 import paths that Airflow 3.3.2 still loads: `from airflow import DAG` and the classic
airflow.operators.* modules (python, bash, empty), with a PythonOperator pulling a BashOperator's
XCom (the last line of its stdout).

Expected: say (BashOperator) success/1; hear (PythonOperator) success/1 writing marker heard_hello;
end success/1; run success.
"""

import os
from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import PythonOperator

EXPECTED_RUN_STATE = "success"
EXPECTED = {"say": ("success", 1), "hear": ("success", 1), "end": ("success", 1)}
EXPECTED_MARKERS = ["heard_hello"]


def _hear(ti) -> None:
    said = ti.xcom_pull(task_ids="say")
    open(os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), f"heard_{said}"), "w").close()


with DAG("af2_classic_operators", schedule=None, start_date=datetime(2024, 1, 1), catchup=False) as dag:
    say = BashOperator(task_id="say", bash_command="echo first; echo hello")
    hear = PythonOperator(task_id="hear", python_callable=_hear)
    say >> hear >> EmptyOperator(task_id="end")
