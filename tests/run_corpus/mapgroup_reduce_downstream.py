"""A task downstream of a mapped task group reads the XCom of every map index of a task inside it.

group.partial(factor=10).expand(x=[1, 2, 3]) returns scale(x, factor); total(values) receives the
list [10, 20, 30] and writes total_60; a mapped group of length one feeds single(), which receives
the lone value itself (Airflow's xcom_pull does not wrap a single value in a list).
Expected: group.scale[0..2] success/1; total success/1; one.scale[0] success/1; single success/1;
markers total_60, single_int_5; run success.
"""

import os
from datetime import datetime

from airflow.sdk import DAG, task, task_group

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "group.scale[0]": ("success", 1),
    "group.scale[1]": ("success", 1),
    "group.scale[2]": ("success", 1),
    "total": ("success", 1),
    "one.scale[0]": ("success", 1),
    "single": ("success", 1),
}
EXPECTED_MARKERS = ["single_int_5", "total_60"]


def _touch(name: str) -> None:
    open(os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), name), "w").close()


with DAG("mapgroup_reduce_downstream", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task
    def scale(x: int, factor: int) -> int:
        return x * factor

    @task_group
    def group(x: int, factor: int):
        return scale(x, factor)

    @task
    def total(values) -> None:
        _touch(f"total_{sum(values)}")

    @task
    def single(value) -> None:
        _touch(f"single_{type(value).__name__}_{value}")

    total(group.partial(factor=10).expand(x=[1, 2, 3]))
    single(group.override(group_id="one").partial(factor=5).expand(x=[1]))
