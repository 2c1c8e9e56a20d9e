"""A plain task group nested inside a mapped task group: its tasks are expanded with the outer
group's map indexes and read XCom of the same map index across the nesting.

outer.expand(x=[2, 3]): prepare(x) >> inner group (square, cube read prepare's value) >> combine.
Expected: outer.prepare[0,1], outer.inner.square[0,1], outer.inner.cube[0,1], outer.combine[0,1]
success/1; markers combine_2_4_8, combine_3_9_27; run success.
"""

import os
from datetime import datetime

from airflow.sdk import DAG, TaskGroup, task, task_group

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "outer.prepare[0]": ("success", 1),
    "outer.prepare[1]": ("success", 1),
    "outer.inner.square[0]": ("success", 1),
    "outer.inner.square[1]": ("success", 1),
    "outer.inner.cube[0]": ("success", 1),
    "outer.inner.cube[1]": ("success", 1),
    "outer.combine[0]": ("success", 1),
    "outer.combine[1]": ("success", 1),
}
EXPECTED_MARKERS = ["combine_2_4_8", "combine_3_9_27"]

with DAG("mapgroup_nested_group", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task
    def prepare(x: int) -> int:
        return x

    @task
    def square(v: int) -> int:
        return v * v

    @task
    def cube(v: int) -> int:
        return v * v * v

    @task
    def combine(v: int, s: int, c: int) -> None:
        open(os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), f"combine_{v}_{s}_{c}"), "w").close()

    @task_group
    def outer(x: int):
        value = prepare(x)
        with TaskGroup("inner"):
            s = square(value)
            c = cube(value)
        combine(value, s, c)

    outer.expand(x=[2, 3])
