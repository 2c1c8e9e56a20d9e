"""Mapped task group with a failing map index: trigger rules inside the group read only the upstream
task instances of the same map index.

group.expand(x=[1, 2, 3]): check fails for x == 2; after_check (all_success) is upstream_failed only
at index 1; on_fail (one_failed) runs only at index 1 and is skipped elsewhere; cleanup (all_done)
runs at every index. Outside, summary (all_done) runs; the run succeeds (summary is the only leaf).
Expected: check[0,2] success, check[1] failed; after_check[0,2] success, after_check[1]
upstream_failed; on_fail[1] success, on_fail[0,2] skipped; cleanup[0..2] success; summary success;
run success.
"""

from datetime import datetime

from airflow.sdk import DAG, task, task_group

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "group.check[0]": ("success", 1),
    "group.check[1]": ("failed", 1),
    "group.check[2]": ("success", 1),
    "group.after_check[0]": ("success", 1),
    "group.after_check[1]": ("upstream_failed", 0),
    "group.after_check[2]": ("success", 1),
    "group.on_fail[0]": ("skipped", 0),
    "group.on_fail[1]": ("success", 1),
    "group.on_fail[2]": ("skipped", 0),
    "group.cleanup[0]": ("success", 1),
    "group.cleanup[1]": ("success", 1),
    "group.cleanup[2]": ("success", 1),
    "summary": ("success", 1),
}

with DAG("mapgroup_inner_failure_rules", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task
    def check(x: int) -> int:
        if x == 2:
            raise ValueError("two is not allowed")
        return x

    @task
    def after_check(y: int) -> int:
        return y

    @task(trigger_rule="one_failed")
    def on_fail() -> None:
        pass

    @task(trigger_rule="all_done")
    def cleanup() -> None:
        pass

    @task_group
    def group(x: int):
        checked = check(x)
        after_check(checked)
        checked >> on_fail()
        checked >> cleanup()

    @task(trigger_rule="all_done")
    def summary() -> None:
        pass

    group.expand(x=[1, 2, 3]) >> summary()
