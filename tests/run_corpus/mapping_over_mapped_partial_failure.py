"""Mapping over a mapped task's output when one of its map indexes failed: an all_success consumer is
upstream_failed, an all_done consumer maps over the values the successful map indexes pushed; a
mapped task group over a mapped task's output expands the same way.

first.expand(x=[1, 2, 3]) fails at x == 2 (pushes [10, 30]); strict.expand(y=first) (all_success)
is upstream_failed; lenient.expand(y=first) (all_done) has two instances; group(v) over
plus.expand(x=[5, 6]) runs show(v) at two map indexes.
Expected: first[0,2] success/1, first[1] failed/1; strict upstream_failed/0; lenient[0,1]
success/1; plus[0,1] success/1; group.show[0,1] success/1; markers lenient_10, lenient_30,
show_6, show_7; run failed.
"""

import os
from datetime import datetime

from airflow.sdk import DAG, task, task_group

EXPECTED_RUN_STATE = "failed"
EXPECTED = {
    "first[0]": ("success", 1),
    "first[1]": ("failed", 1),
    "first[2]": ("success", 1),
    "strict": ("upstream_failed", 0),
    "lenient[0]": ("success", 1),
    "lenient[1]": ("success", 1),
    "plus[0]": ("success", 1),
    "plus[1]": ("success", 1),
    "group.show[0]": ("success", 1),
    "group.show[1]": ("success", 1),
}
EXPECTED_MARKERS = ["lenient_10", "lenient_30", "show_6", "show_7"]


def _touch(name: str) -> None:
    open(os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), name), "w").close()


with DAG("mapping_over_mapped_partial_failure", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task
    def first(x: int) -> int:
        if x == 2:
            raise RuntimeError("no twos")
        return x * 10

    @task
    def strict(y: int) -> None:
        _touch(f"strict_{y}")

    @task(trigger_rule="all_done")
    def lenient(y: int) -> None:
        _touch(f"lenient_{y}")

    values = first.expand(x=[1, 2, 3])
    strict.expand(y=values)
    lenient.expand(y=values)

    @task
    def plus(x: int) -> int:
        return x + 1

    @task
    def show(v: int) -> None:
        _touch(f"show_{v}")

    @task_group
    def group(v: int):
        show(v)

    group.expand(v=plus.expand(x=[5, 6]))
