"""What a task sees of its tries: ``ti.try_number`` and ``ti.max_tries`` on every try of a task that fails
twice and succeeds on its third (retries=3), written as marker files.

Expected: flaky success/3 with markers try_1_of_3, try_2_of_3, try_3_of_3; run success.
"""

import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "success"
EXPECTED = {"flaky": ("success", 3)}
EXPECTED_MARKERS = ["try_1_of_3", "try_2_of_3", "try_3_of_3"]


def flaky(ti):
    folder = Path(os.environ["RUN_CORPUS_TMP"])
    (folder / f"try_{ti.try_number}_of_{ti.max_tries}").touch()
    if ti.try_number < 3:
        raise ValueError(f"try {ti.try_number} fails on purpose")


with DAG("retries_ti_max_tries", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    PythonOperator(task_id="flaky", python_callable=flaky, retries=3, retry_delay=timedelta(seconds=0))
