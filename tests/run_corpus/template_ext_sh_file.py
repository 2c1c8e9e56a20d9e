"""template_ext: a bash_command ending in .sh names a template file next to the DAG, rendered then run.

template_ext_sh_file.sh touches "$RUN_CORPUS_TMP/sh_{{ ds_nodash }}_{{ params.suffix }}" (params
{"suffix": "ok"}); the trailing space-free ".sh" makes BashOperator load and render the file.
Expected: run_script success/1; marker sh_20240101_ok; run success.
"""

from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "success"
EXPECTED = {"run_script": ("success", 1)}
EXPECTED_MARKERS = ["sh_20240101_ok"]

with DAG(
    "template_ext_sh_file",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"suffix": "ok"},
):
    BashOperator(task_id="run_script", bash_command="template_ext_sh_file.sh")
