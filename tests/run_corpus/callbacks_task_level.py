"""Task-level callbacks: on_retry_callback after a failed try that will be retried,
on_success_callback after success, on_failure_callback after the final failure. Each callback writes
a marker named after the callback and the task (and try number) it was called for.

flaky (retries=1) fails on try 1 then succeeds; doomed (retries=0) fails; fine succeeds.
Expected: flaky success/2, doomed failed/1, fine success/1; run failed (doomed is a leaf).
Markers: retry_flaky_1, success_flaky_2, failure_doomed_1, success_fine_1 and the counter file.
"""

import os
from datetime import datetime, timedelta

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "failed"
EXPECTED = {"flaky": ("success", 2), "doomed": ("failed", 1), "fine": ("success", 1)}
EXPECTED_MARKERS = ["failure_doomed_1", "flaky.count", "retry_flaky_1", "success_fine_1", "success_flaky_2"]

FOLDER_VAR = "RUN_CORPUS_TMP"


def _touch(name: str) -> None:
    open(os.path.join(os.environ.get(FOLDER_VAR, "/tmp"), name), "w").close()


def _callback(kind: str):
    def callback(context) -> None:
        ti = context["ti"]
        _touch(f"{kind}_{ti.task_id}_{ti.try_number}")

    return callback


def _flaky() -> None:
    path = os.path.join(os.environ.get(FOLDER_VAR, "/tmp"), "flaky.count")
    if not os.path.exists(path):
        open(path, "w").close()
        raise RuntimeError("first try fails")


def _doomed() -> None:
    raise RuntimeError("always fails")


CALLBACKS = {
    "on_success_callback": _callback("success"),
    "on_failure_callback": _callback("failure"),
    "on_retry_callback": _callback("retry"),
}

with DAG("callbacks_task_level", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    PythonOperator(task_id="flaky", python_callable=_flaky, retries=1, retry_delay=timedelta(seconds=0), **CALLBACKS)
    PythonOperator(task_id="doomed", python_callable=_doomed, **CALLBACKS)
    PythonOperator(task_id="fine", python_callable=lambda: None, **CALLBACKS)
