"""DAG-level callbacks on a failing run: on_failure_callback of the DAG is called once with the run's
context (it writes dag_failure_<dag_id>); on_success_callback is not. Callbacks from default_args
apply to every task (on_failure_callback of the task that failed writes task_failure_<task_id>).

Expected: ok success/1; bad failed/1; run failed; markers dag_failure_callbacks_dag_failure and
task_failure_bad.
"""

import os
from datetime import datetime

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "failed"
EXPECTED = {"ok": ("success", 1), "bad": ("failed", 1)}
EXPECTED_MARKERS = ["dag_failure_callbacks_dag_failure", "task_failure_bad"]


def _touch(name: str) -> None:
    open(os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), name), "w").close()


def _dag_failure(context) -> None:
    _touch(f"dag_failure_{context['dag'].dag_id}")


def _dag_success(context) -> None:
    _touch(f"dag_success_{context['dag'].dag_id}")


def _task_failure(context) -> None:
    _touch(f"task_failure_{context['ti'].task_id}")


def _fail() -> None:
    raise RuntimeError("boom")


with DAG(
    "callbacks_dag_failure",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    on_failure_callback=_dag_failure,
    on_success_callback=_dag_success,
    default_args={"on_failure_callback": _task_failure},
):
    PythonOperator(task_id="ok", python_callable=lambda: None) >> PythonOperator(task_id="bad", python_callable=_fail)
