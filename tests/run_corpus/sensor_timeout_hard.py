"""A sensor that never succeeds times out and fails; a sensor timeout is not retried.

PythonSensor(poke_interval=0.1 s, timeout=1 s, retries=2). Expected: never failed with try_number 1
(AirflowSensorTimeout skips the retries), downstream upstream_failed/0; the run is failed.
"""

from datetime import datetime, timedelta

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "failed"
EXPECTED = {"never": ("failed", 1), "downstream": ("upstream_failed", 0)}

with DAG("sensor_timeout_hard", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    never = PythonSensor(
        task_id="never",
        python_callable=lambda: False,
        poke_interval=0.1,
        timeout=1,
        retries=2,
        retry_delay=timedelta(seconds=0),
    )
    never >> EmptyOperator(task_id="downstream")
