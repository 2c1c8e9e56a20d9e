"""Retries: a task with retries=2 fails on its first two tries and succeeds on the third.

A counter file under RUN_CORPUS_TMP counts the tries (retry_delay=0, so no waiting).
Expected: flaky success with try_number 3, after (downstream) success with try_number 1; run success.
The counter file holds the number of tries, and is the only marker.
"""

import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "success"
EXPECTED = {"flaky": ("success", 3), "after": ("success", 1)}
EXPECTED_MARKERS = ["flaky.count"]


def _flaky() -> int:
    path = os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), "flaky.count")
    count = int(Path(path).read_text()) + 1 if os.path.exists(path) else 1
    with open(path, "w") as handle:
        handle.write(str(count))
    if count < 3:
        raise RuntimeError(f"failing on try {count}")
    return count


with DAG("retries_succeed_on_third_try", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    flaky = PythonOperator(task_id="flaky", python_callable=_flaky, retries=2, retry_delay=timedelta(seconds=0))
    after = PythonOperator(task_id="after", python_callable=lambda: None)
    flaky >> after
