"""A sensor in reschedule mode: between pokes it gives its slot back (up_for_reschedule), then pokes again.

PythonSensor(mode="reschedule", poke_interval=1 s) succeeds on its second poke (counter file).
Expected: wait success with try_number 1 (a reschedule is not a new try), after success/1; run success.
"""

import os
from datetime import datetime
from pathlib import Path

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "success"
EXPECTED = {"wait": ("success", 1), "after": ("success", 1)}
EXPECTED_MARKERS = ["reschedule.count"]


def _second_poke() -> bool:
    path = os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), "reschedule.count")
    count = int(Path(path).read_text()) + 1 if os.path.exists(path) else 1
    with open(path, "w") as handle:
        handle.write(str(count))
    return count >= 2


with DAG("sensor_reschedule_mode", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    wait = PythonSensor(task_id="wait", python_callable=_second_poke, mode="reschedule", poke_interval=1, timeout=60)
    wait >> EmptyOperator(task_id="after")
