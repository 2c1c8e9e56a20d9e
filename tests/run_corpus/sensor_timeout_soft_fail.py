"""A sensor with soft_fail=True that times out is skipped instead of failed.

PythonSensor(poke_interval=0.1 s, timeout=1 s, soft_fail=True). Expected: never skipped with
try_number 1; downstream (all_success) skipped/0; cleanup (all_done) success/1; the run is success.
"""

from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "success"
EXPECTED = {"never": ("skipped", 1), "downstream": ("skipped", 0), "cleanup": ("success", 1)}

with DAG("sensor_timeout_soft_fail", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    never = PythonSensor(task_id="never", python_callable=lambda: False, poke_interval=0.1, timeout=1, soft_fail=True)
    never >> EmptyOperator(task_id="downstream")
    never >> EmptyOperator(task_id="cleanup", trigger_rule="all_done")
