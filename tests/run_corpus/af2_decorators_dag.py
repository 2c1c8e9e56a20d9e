"""Airflow 2 TaskFlow paths: `from airflow.decorators import dag, task`, a @dag-decorated function
called at module level, @task.branch from the same module, and AirflowSkipException from
airflow.exceptions.

Expected: route success/1; keep success/1; drop skipped/0; maybe_skip skipped/1; finish
(none_failed) success/1; run success.
"""

from datetime import datetime

from airflow.decorators import dag, task
from airflow.exceptions import AirflowSkipException

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "route": ("success", 1),
    "keep": ("success", 1),
    "drop": ("skipped", 0),
    "maybe_skip": ("skipped", 1),
    "finish": ("success", 1),
}


@dag(dag_id="af2_decorators_dag", schedule=None, start_date=datetime(2024, 1, 1), catchup=False)
def af2_decorators_dag():
    @task.branch
    def route() -> str:
        return "keep"

    @task
    def keep() -> int:
        return 1

    @task
    def drop() -> int:
        return 2

    @task
    def maybe_skip() -> None:
        raise AirflowSkipException("not today")

    @task(trigger_rule="none_failed")
    def finish() -> None:
        return None

    kept, dropped = keep(), drop()
    route() >> [kept, dropped]
    [kept, dropped, maybe_skip()] >> finish()


af2_decorators_dag()
