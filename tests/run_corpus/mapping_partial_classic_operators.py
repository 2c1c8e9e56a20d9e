"""Mapping classic operators with partial(): PythonOperator over op_args and BashOperator over
bash_command, with shared arguments in partial().

Expected: py[0], py[1] success/1 (markers py_x_1, py_y_2 from op_args + op_kwargs); sh[0], sh[1]
success/1 (markers sh_one, sh_two); run success.
"""

import os
from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "py[0]": ("success", 1),
    "py[1]": ("success", 1),
    "sh[0]": ("success", 1),
    "sh[1]": ("success", 1),
}
EXPECTED_MARKERS = ["py_x_1", "py_y_2", "sh_one", "sh_two"]


def _write(name: str, number: int, prefix: str) -> None:
    open(os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), f"{prefix}_{name}_{number}"), "w").close()


with DAG("mapping_partial_classic_operators", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    PythonOperator.partial(task_id="py", python_callable=_write, op_kwargs={"prefix": "py"}).expand(
        op_args=[["x", 1], ["y", 2]]
    )
    BashOperator.partial(task_id="sh", env={"OUT": "sh"}, append_env=True).expand(
        bash_command=['touch "$RUN_CORPUS_TMP/${OUT}_one"', 'touch "$RUN_CORPUS_TMP/${OUT}_two"']
    )
