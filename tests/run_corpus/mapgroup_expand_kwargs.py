"""expand_kwargs on a mapped task group (over an upstream XCom list of dicts) and on a task (over a
mapped task's output, a list of dicts).

jobs returns [{"a": 1, "b": 2}, {"a": 3, "b": 4}]; group.expand_kwargs(jobs()) runs add(a, b) per
dict; pairs.expand(n=[1, 2]) returns {"p": n, "q": n * 100}; mul.expand_kwargs(pairs) runs per dict.
Expected: jobs success/1; group.add[0,1] success/1; pairs[0,1] success/1; mul[0,1] success/1;
markers add_3, add_7, mul_100, mul_400; run success.
"""

import os
from datetime import datetime

from airflow.sdk import DAG, task, task_group

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "jobs": ("success", 1),
    "group.add[0]": ("success", 1),
    "group.add[1]": ("success", 1),
    "pairs[0]": ("success", 1),
    "pairs[1]": ("success", 1),
    "mul[0]": ("success", 1),
    "mul[1]": ("success", 1),
}
EXPECTED_MARKERS = ["add_3", "add_7", "mul_100", "mul_400"]


def _touch(name: str) -> None:
    open(os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), name), "w").close()


with DAG("mapgroup_expand_kwargs", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task
    def jobs() -> list[dict]:
        return [{"a": 1, "b": 2}, {"a": 3, "b": 4}]

    @task
    def add(a: int, b: int) -> None:
        _touch(f"add_{a + b}")

    @task_group
    def group(a: int, b: int):
        add(a, b)

    group.expand_kwargs(jobs())

    @task
    def pairs(n: int) -> dict:
        return {"p": n, "q": n * 100}

    @task
    def mul(p: int, q: int) -> None:
        _touch(f"mul_{p * q}")

    mul.expand_kwargs(pairs.expand(n=[1, 2]))
