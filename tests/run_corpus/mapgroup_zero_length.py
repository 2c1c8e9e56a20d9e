"""A mapped task group over an empty upstream list: every task inside is skipped as a whole (one
unexpanded task instance each, never tried); downstream all_success skips, all_done runs.

nothing returns []; group(x): step_one >> step_two; after (all_success) and finally_ (all_done).
Expected: nothing success/1; group.step_one, group.step_two skipped/0; after skipped/0; finally_
success/1; run success.
"""

from datetime import datetime

from airflow.sdk import DAG, task, task_group

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "nothing": ("success", 1),
    "group.step_one": ("skipped", 0),
    "group.step_two": ("skipped", 0),
    "after": ("skipped", 0),
    "finally_": ("success", 1),
}

with DAG("mapgroup_zero_length", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task
    def nothing() -> list[int]:
        return []

    @task
    def step_one(x: int) -> int:
        return x

    @task
    def step_two(y: int) -> int:
        return y

    @task_group
    def group(x: int):
        return step_two(step_one(x))

    @task
    def after() -> None:
        pass

    @task(trigger_rule="all_done")
    def finally_() -> None:
        pass

    mapped = group.expand(x=nothing())
    mapped >> after()
    mapped >> finally_()
