"""expand_kwargs: each element of a list of dicts becomes the keyword arguments of one mapped instance.

make_jobs returns [{"a": 1, "b": 2}, {"a": 10, "b": 20}]; add.expand_kwargs(...) writes add_<a+b>;
a classic operator mapped with expand_kwargs over op_kwargs lists does the same with prefix mul.
Expected: make_jobs success/1; add[0], add[1], mul[0], mul[1] success/1; markers add_3, add_30,
mul_2, mul_200; run success.
"""

import os
from datetime import datetime

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, task

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "make_jobs": ("success", 1),
    "add[0]": ("success", 1),
    "add[1]": ("success", 1),
    "mul[0]": ("success", 1),
    "mul[1]": ("success", 1),
}
EXPECTED_MARKERS = ["add_3", "add_30", "mul_2", "mul_200"]


def _touch(name: str) -> None:
    open(os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), name), "w").close()


def _mul(a: int, b: int) -> None:
    _touch(f"mul_{a * b}")


with DAG("mapping_expand_kwargs", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task
    def make_jobs() -> list[dict]:
        return [{"a": 1, "b": 2}, {"a": 10, "b": 20}]

    @task
    def add(a: int, b: int) -> None:
        _touch(f"add_{a + b}")

    add.expand_kwargs(make_jobs())
    PythonOperator.partial(task_id="mul", python_callable=_mul).expand_kwargs(
        [{"op_kwargs": {"a": 1, "b": 2}}, {"op_kwargs": {"a": 10, "b": 20}}]
    )
