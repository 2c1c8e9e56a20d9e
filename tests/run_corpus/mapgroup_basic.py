"""Mapped task group over a literal list: every task inside is expanded with the group's map indexes.

group.expand(x=[1, 2, 3]) holds add_one >> double (double reads add_one's XCom of the same map index)
and writes a marker per value; a plain task after the group runs once.
Expected: group.add_one[0..2], group.double[0..2] success/1; done success/1; markers double_4,
double_6, double_8; run success.
"""

import os
from datetime import datetime

from airflow.sdk import DAG, task, task_group

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "group.add_one[0]": ("success", 1),
    "group.add_one[1]": ("success", 1),
    "group.add_one[2]": ("success", 1),
    "group.double[0]": ("success", 1),
    "group.double[1]": ("success", 1),
    "group.double[2]": ("success", 1),
    "done": ("success", 1),
}
EXPECTED_MARKERS = ["double_4", "double_6", "double_8"]


def _touch(name: str) -> None:
    open(os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), name), "w").close()


with DAG("mapgroup_basic", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task
    def add_one(x: int) -> int:
        return x + 1

    @task
    def double(y: int) -> int:
        _touch(f"double_{y * 2}")
        return y * 2

    @task_group
    def group(x: int):
        return double(add_one(x))

    @task
    def done() -> None:
        pass

    group.expand(x=[1, 2, 3]) >> done()
