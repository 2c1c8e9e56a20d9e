"""Templating of bash_command with the run's dates: {{ ds }}, {{ ds_nodash }} and {{ macros.ds_add }}.

The logical date is 2024-01-01. Expected: stamp success/1 and it creates the marker
ds_2024-01-01_20240101_2024-01-03 (the rendered values are in the file name); the run is success.
"""

from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "success"
EXPECTED = {"stamp": ("success", 1)}
EXPECTED_MARKERS = ["ds_2024-01-01_20240101_2024-01-03"]

with DAG("template_bash_ds", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    BashOperator(
        task_id="stamp",
        bash_command='touch "$RUN_CORPUS_TMP/ds_{{ ds }}_{{ ds_nodash }}_{{ macros.ds_add(ds, 2) }}"',
    )
