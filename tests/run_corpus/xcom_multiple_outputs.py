"""TaskFlow multiple_outputs=True: each key of the returned dict is its own XCom, usable by key.

split returns {"name": "orders", "count": 7}; report gets split["name"] and split["count"] and a
classic PythonOperator pulls key "count" with ti.xcom_pull(task_ids="split", key="count").
Expected: split, report, pull_key success/1; markers report_orders_7 and pulled_7; run success.
"""

import os
from datetime import datetime

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, task

EXPECTED_RUN_STATE = "success"
EXPECTED = {"split": ("success", 1), "report": ("success", 1), "pull_key": ("success", 1)}
EXPECTED_MARKERS = ["pulled_7", "report_orders_7"]


def _touch(name: str) -> None:
    open(os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), name), "w").close()


def _pull_key(ti) -> None:
    _touch(f"pulled_{ti.xcom_pull(task_ids='split', key='count')}")


with DAG("xcom_multiple_outputs", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task(multiple_outputs=True)
    def split() -> dict:
        return {"name": "orders", "count": 7}

    @task
    def report(name: str, count: int) -> None:
        _touch(f"report_{name}_{count}")

    parts = split()
    report(parts["name"], parts["count"])
    parts >> PythonOperator(task_id="pull_key", python_callable=_pull_key)
