"""execution_timeout: a task that runs past its execution_timeout is stopped and fails.

slow has execution_timeout=1 s and works for up to 5 s (in 0.2 s steps); it is interrupted after 1 s
(AirflowTaskTimeout) and, with retries=0, ends failed on try 1. It writes a marker before working and
would write another when done: only the first exists. on_timeout (trigger_rule one_failed) runs.
Expected: slow failed/1, on_timeout success/1; the run is success because the only leaf succeeded
(slow is not a leaf).
"""

import os
import time
from datetime import datetime, timedelta

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "success"
EXPECTED = {"slow": ("failed", 1), "on_timeout": ("success", 1)}
EXPECTED_MARKERS = ["slow.started"]


def _mark(name: str) -> None:
    open(os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), name), "a").close()


def _slow() -> None:
    _mark("slow.started")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        time.sleep(0.2)
    _mark("slow.finished")


with DAG("execution_timeout", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    slow = PythonOperator(task_id="slow", python_callable=_slow, execution_timeout=timedelta(seconds=1), retries=0)
    slow >> PythonOperator(task_id="on_timeout", python_callable=lambda: None, trigger_rule="one_failed")
