"""FileSensor on a file that never appears: it times out (timeout=1 s) and fails, not retried.

Expected: wait_for_missing failed/1 (retries=1 is not used for a sensor timeout); use_file
upstream_failed/0; report (one_failed) success/1; the run is failed (leaf use_file upstream_failed).
"""

import os
from datetime import datetime, timedelta

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.sensors.filesystem import FileSensor
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "failed"
EXPECTED = {
    "wait_for_missing": ("failed", 1),
    "use_file": ("upstream_failed", 0),
    "report": ("success", 1),
}

with DAG("file_sensor_missing", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    wait = FileSensor(
        task_id="wait_for_missing",
        filepath=os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), "never-created.flag"),
        poke_interval=0.1,
        timeout=1,
        retries=1,
        retry_delay=timedelta(seconds=0),
    )
    wait >> EmptyOperator(task_id="use_file")
    wait >> EmptyOperator(task_id="report", trigger_rule="one_failed")
