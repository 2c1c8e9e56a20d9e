"""A mapped task expanding over the output of another mapped task maps over the list of its map
indexes' return values; a map index that returns None pushes nothing and is not counted.

first.expand(x=[1, 2, 3, 4]) returns x * 10 except None for x == 3; second.expand(y=first) gets
[10, 20, 40] (three instances) and writes second_<y>; last(values) reduces second's outputs.
Expected: first[0..3] success/1; second[0..2] success/1; last success/1; markers second_10,
second_20, second_40, last_73; run success.
"""

import os
from datetime import datetime

from airflow.sdk import DAG, task

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "first[0]": ("success", 1),
    "first[1]": ("success", 1),
    "first[2]": ("success", 1),
    "first[3]": ("success", 1),
    "second[0]": ("success", 1),
    "second[1]": ("success", 1),
    "second[2]": ("success", 1),
    "last": ("success", 1),
}
EXPECTED_MARKERS = ["last_73", "second_10", "second_20", "second_40"]


def _touch(name: str) -> None:
    open(os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), name), "w").close()


with DAG("mapping_expand_over_mapped", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task
    def first(x: int) -> int | None:
        return None if x == 3 else x * 10

    @task
    def second(y: int) -> int:
        _touch(f"second_{y}")
        return y + 1

    @task
    def last(values) -> None:
        _touch(f"last_{sum(values)}")

    last(second.expand(y=first.expand(x=[1, 2, 3, 4])))
