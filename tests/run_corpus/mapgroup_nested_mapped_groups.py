"""A mapped task group inside a mapped task group: the inner tasks have the product of both lengths
as map indexes, and (Airflow 3.3's worker quirk) read their arguments and the outer group's XCom at
their own flat map index — so index 3 and above find no value of the outer task and get None.

outer.expand(x=[1, 2, 3]) runs a(x), then inner.partial(v=a(x)).expand(y=[10, 20]) runs b(y, v).
Expected: outer.a[0..2] success/1; outer.inner.b[0..5] success/1; markers a_1, a_2, a_3, b_10_1,
b_20_2, b_10_3, b_10_None, b_20_None; run success.
"""

import os
from datetime import datetime

from airflow.sdk import DAG, task, task_group

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "outer.a[0]": ("success", 1),
    "outer.a[1]": ("success", 1),
    "outer.a[2]": ("success", 1),
    "outer.inner.b[0]": ("success", 1),
    "outer.inner.b[1]": ("success", 1),
    "outer.inner.b[2]": ("success", 1),
    "outer.inner.b[3]": ("success", 1),
    "outer.inner.b[4]": ("success", 1),
    "outer.inner.b[5]": ("success", 1),
}
EXPECTED_MARKERS = ["a_1", "a_2", "a_3", "b_10_1", "b_10_3", "b_10_None", "b_20_2", "b_20_None"]


def _touch(name: str) -> None:
    open(os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), name), "w").close()


with DAG("mapgroup_nested_mapped_groups", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task
    def a(x: int) -> int:
        _touch(f"a_{x}")
        return x

    @task
    def b(y: int, v: int | None) -> int:
        _touch(f"b_{y}_{v}")
        return y

    @task_group
    def inner(y: int, v: int | None):
        b(y, v)

    @task_group
    def outer(x: int):
        inner.partial(v=a(x)).expand(y=[10, 20])

    outer.expand(x=[1, 2, 3])
