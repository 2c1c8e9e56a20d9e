"""render_template_as_native_obj=True: templated fields render to Python objects, not strings.

op_kwargs {"numbers": "{{ params.numbers }}", "when": "{{ ds }}"} with params {"numbers": [1, 2, 3]}:
numbers arrives as a list (its sum is 6) and ds stays the string 2024-01-01.
Expected: use_native success/1; marker native_list_6_str; run success.
"""

import os
from datetime import datetime

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "success"
EXPECTED = {"use_native": ("success", 1)}
EXPECTED_MARKERS = ["native_list_6_str"]


def _use_native(numbers, when) -> None:
    name = f"native_{type(numbers).__name__}_{sum(numbers)}_{type(when).__name__}"
    open(os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), name), "w").close()


with DAG(
    "template_native_objects",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    render_template_as_native_obj=True,
    params={"numbers": [1, 2, 3]},
):
    PythonOperator(
        task_id="use_native",
        python_callable=_use_native,
        op_kwargs={"numbers": "{{ params.numbers }}", "when": "{{ ds }}"},
    )
