"""PythonSensor in poke mode that succeeds on its third poke (a counter file counts the pokes).

poke_interval=0.1 s, timeout=30 s. Expected: wait_for_three success with try_number 1 (pokes are not
tries), then_run success/1; the run is success; the counter file is the only marker.
"""

import os
from datetime import datetime
from pathlib import Path

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "success"
EXPECTED = {"wait_for_three": ("success", 1), "then_run": ("success", 1)}
EXPECTED_MARKERS = ["pokes.count"]


def _third_poke() -> bool:
    path = os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), "pokes.count")
    count = int(Path(path).read_text()) + 1 if os.path.exists(path) else 1
    with open(path, "w") as handle:
        handle.write(str(count))
    return count >= 3


with DAG("sensor_python_pokes", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    wait = PythonSensor(task_id="wait_for_three", python_callable=_third_poke, poke_interval=0.1, timeout=30)
    wait >> EmptyOperator(task_id="then_run")
