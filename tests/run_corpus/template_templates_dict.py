"""PythonOperator templates_dict: values are rendered with the context and passed to the callable.

templates_dict {"day": "{{ ds_nodash }}", "run": "{{ run_id }}", "task": "{{ task.task_id }}"}; op_kwargs
{"prefix": "td"} (not templated: a plain value). The callable writes a marker built from them.
Expected: write success/1; marker td_20240101_manual_write; run success.
"""

import os
from datetime import datetime

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "success"
EXPECTED = {"write": ("success", 1)}
EXPECTED_MARKERS = ["td_20240101_manual_write"]


def _write(prefix: str, templates_dict: dict) -> None:
    run_type = templates_dict["run"].split("__")[0]
    name = f"{prefix}_{templates_dict['day']}_{run_type}_{templates_dict['task']}"
    open(os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), name), "w").close()


with DAG("template_templates_dict", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    PythonOperator(
        task_id="write",
        python_callable=_write,
        op_kwargs={"prefix": "td"},
        templates_dict={"day": "{{ ds_nodash }}", "run": "{{ run_id }}", "task": "{{ task.task_id }}"},
    )
