"""XCom from a mapped task: the downstream gets all map indexes' values, in map-index order, and
xcom_pull(task_ids=..., map_indexes=1) reads one of them.

square.expand(x=[1, 2, 3]) returns x*x; total sums the lazy sequence; pick_one pulls map index 1.
Expected: square[0..2] success/1; total and pick_one success/1; markers total_1-4-9_14 and index1_4;
run success.
"""

import os
from datetime import datetime

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, task

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "square[0]": ("success", 1),
    "square[1]": ("success", 1),
    "square[2]": ("success", 1),
    "total": ("success", 1),
    "pick_one": ("success", 1),
}
EXPECTED_MARKERS = ["index1_4", "total_1-4-9_14"]


def _touch(name: str) -> None:
    open(os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), name), "w").close()


def _pick_one(ti) -> None:
    _touch(f"index1_{ti.xcom_pull(task_ids='square', map_indexes=1)}")


with DAG("xcom_from_mapped_tasks", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task
    def square(x: int) -> int:
        return x * x

    @task
    def total(values) -> None:
        listed = list(values)
        _touch(f"total_{'-'.join(map(str, listed))}_{sum(listed)}")

    squares = square.expand(x=[1, 2, 3])
    total(squares)
    squares >> PythonOperator(task_id="pick_one", python_callable=_pick_one)
