"""Run conf: {{ dag_run.conf }} is readable in templates and conf overrides params of the same name.

The run is started with CONF = {"color": "blue", "extra": "x1"}; DAG params {"color": "red", "shape": "box"}.
Expected: show success/1; marker conf_blue_x1_params_blue_box (params.color took the conf value,
params.shape kept its default); the run is success.
"""

from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

CONF = {"color": "blue", "extra": "x1"}
EXPECTED_RUN_STATE = "success"
EXPECTED = {"show": ("success", 1)}
EXPECTED_MARKERS = ["conf_blue_x1_params_blue_box"]

with DAG(
    "template_conf_overrides_params",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"color": "red", "shape": "box"},
):
    BashOperator(
        task_id="show",
        bash_command=(
            'touch "$RUN_CORPUS_TMP/conf_{{ dag_run.conf["color"] }}_{{ dag_run.conf["extra"] }}'
            '_params_{{ params.color }}_{{ params.shape }}"'
        ),
    )
