"""Airflow 2 paths for sensors and base classes: airflow.sensors.python.PythonSensor,
airflow.sensors.filesystem.FileSensor and a user operator and sensor subclassing
airflow.models.baseoperator.BaseOperator and airflow.sensors.base.BaseSensorOperator.

writer (custom operator) writes written.flag; file_seen (FileSensor) finds it; py_seen (PythonSensor)
returns True at once; custom_sensor (subclass, poke counts to 2 through an instance attribute)
succeeds on its second poke.
Expected: all four success/1; run success; marker written.flag.
"""

import os
from datetime import datetime

from airflow import DAG
from airflow.models.baseoperator import BaseOperator
from airflow.sensors.base import BaseSensorOperator
from airflow.sensors.filesystem import FileSensor
from airflow.sensors.python import PythonSensor

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "writer": ("success", 1),
    "file_seen": ("success", 1),
    "py_seen": ("success", 1),
    "custom_sensor": ("success", 1),
}
EXPECTED_MARKERS = ["written.flag"]
FLAG = os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), "written.flag")


class WriteFlagOperator(BaseOperator):
    """Writes the flag file."""

    def execute(self, context) -> None:
        open(FLAG, "w").close()


class SecondPokeSensor(BaseSensorOperator):
    """True on the second poke."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pokes = 0

    def poke(self, context) -> bool:
        self.pokes += 1
        return self.pokes >= 2


with DAG("af2_sensors_and_custom_operator", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    writer = WriteFlagOperator(task_id="writer")
    writer >> FileSensor(task_id="file_seen", filepath=FLAG, poke_interval=0.1, timeout=10)
    writer >> PythonSensor(task_id="py_seen", python_callable=lambda: True, poke_interval=0.1, timeout=10)
    writer >> SecondPokeSensor(task_id="custom_sensor", poke_interval=0.1, timeout=10)
