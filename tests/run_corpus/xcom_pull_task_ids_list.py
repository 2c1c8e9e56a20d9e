"""xcom_pull with a list of task_ids returns the values in the order of the list; a single task id
returns the value itself; a missing key returns None.

a returns "A", b returns "B" (PythonOperator return values), quiet returns None (no XCom pushed).
Expected: a, b, quiet, gather success/1; marker gather_B-A_A_None_None; run success.
"""

import os
from datetime import datetime

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "success"
EXPECTED = {"a": ("success", 1), "b": ("success", 1), "quiet": ("success", 1), "gather": ("success", 1)}
EXPECTED_MARKERS = ["gather_B-A_A_None_None"]


def _gather(ti) -> None:
    both = ti.xcom_pull(task_ids=["b", "a"])
    single = ti.xcom_pull(task_ids="a")
    nothing = ti.xcom_pull(task_ids="quiet")
    missing_key = ti.xcom_pull(task_ids="a", key="no_such_key")
    name = f"gather_{'-'.join(both)}_{single}_{nothing}_{missing_key}"
    open(os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), name), "w").close()


with DAG("xcom_pull_task_ids_list", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    a = PythonOperator(task_id="a", python_callable=lambda: "A")
    b = PythonOperator(task_id="b", python_callable=lambda: "B")
    quiet = PythonOperator(task_id="quiet", python_callable=lambda: None)
    [a, b, quiet] >> PythonOperator(task_id="gather", python_callable=_gather)
