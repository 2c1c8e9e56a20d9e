"""Templating with DAG params and task params: defaults (no conf), task params override DAG params.

DAG params {"name": "alpha", "size": 3}; the second task sets params {"name": "beta"}.
Expected: dag_level and task_level success/1; markers params_alpha_3 and params_beta_3; run success.
"""

from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "success"
EXPECTED = {"dag_level": ("success", 1), "task_level": ("success", 1)}
EXPECTED_MARKERS = ["params_alpha_3", "params_beta_3"]

with DAG(
    "template_params_defaults",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"name": "alpha", "size": 3},
):
    BashOperator(task_id="dag_level", bash_command='touch "$RUN_CORPUS_TMP/params_{{ params.name }}_{{ params.size }}"')
    BashOperator(
        task_id="task_level",
        bash_command='touch "$RUN_CORPUS_TMP/params_{{ params.name }}_{{ params.size }}"',
        params={"name": "beta"},
    )
