"""FileSensor on a file that an upstream task creates: it finds it on the first poke.

make_file writes RUN_CORPUS_TMP/ready.flag; wait_for_file (FileSensor, fs_conn_id fs_default, templated
filepath from an environment variable) succeeds. Expected: make_file, wait_for_file, use_file all
success/1; the run is success; marker ready.flag.
"""

import os
from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.providers.standard.sensors.filesystem import FileSensor
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "success"
EXPECTED = {"make_file": ("success", 1), "wait_for_file": ("success", 1), "use_file": ("success", 1)}
EXPECTED_MARKERS = ["ready.flag"]


def _make_file() -> None:
    open(os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), "ready.flag"), "w").close()


with DAG("file_sensor_exists", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    wait = FileSensor(
        task_id="wait_for_file",
        filepath=os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), "ready.flag"),
        poke_interval=0.1,
        timeout=10,
    )
    PythonOperator(task_id="make_file", python_callable=_make_file) >> wait >> EmptyOperator(task_id="use_file")
