"""@task.short_circuit with a truthy result: nothing is skipped, downstream tasks run.

Expected: gate success/1, work success/1, report success/1; the run is success.
"""

from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task

EXPECTED_RUN_STATE = "success"
EXPECTED = {"gate": ("success", 1), "work": ("success", 1), "report": ("success", 1)}

with DAG("short_circuit_decorator_true", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task.short_circuit
    def gate() -> list[int]:
        return [1]

    gate() >> EmptyOperator(task_id="work") >> EmptyOperator(task_id="report")
