"""A mapped task group whose input task failed or was skipped: its tasks are never expanded; they end
upstream_failed (failed input) or skipped (skipped input), whatever their trigger rule.

g1.expand(x=src()) with src failing; g2.expand(x=skipper()) with skipper raising AirflowSkipException;
each group holds a (all_success) >> c (all_done).
Expected: src failed/1; g1.a, g1.c upstream_failed/0; skipper skipped/1; g2.b, g2.c skipped/0; run
failed.
"""

from datetime import datetime

from airflow.sdk import DAG, task, task_group
from airflow.sdk.exceptions import AirflowSkipException

EXPECTED_RUN_STATE = "failed"
EXPECTED = {
    "src": ("failed", 1),
    "g1.a": ("upstream_failed", 0),
    "g1.c": ("upstream_failed", 0),
    "skipper": ("skipped", 1),
    "g2.b": ("skipped", 0),
    "g2.c": ("skipped", 0),
}

with DAG("mapgroup_input_failed_or_skipped", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task
    def src() -> list[int]:
        raise ValueError("no input")

    @task
    def skipper() -> list[int]:
        raise AirflowSkipException("nothing today")

    @task
    def a(x: int) -> int:
        return x

    @task
    def b(x: int) -> int:
        return x

    @task(trigger_rule="all_done")
    def c() -> None:
        pass

    @task_group
    def g1(x: int):
        a(x) >> c()

    @task_group
    def g2(x: int):
        b(x) >> c.override(task_id="c")()

    g1.expand(x=src())
    g2.expand(x=skipper())
