"""Mapping over an empty upstream list: the mapped task gets no instances and is skipped as a whole.

empty_list returns []; each.expand(x=...) is skipped (one unmapped task instance, state skipped,
never tried); after_each (all_success) is skipped too; after_any (all_done) runs.
Expected: empty_list success/1; each skipped/0; after_each skipped/0; after_any success/1; run success.
"""

from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "empty_list": ("success", 1),
    "each": ("skipped", 0),
    "after_each": ("skipped", 0),
    "after_any": ("success", 1),
}

with DAG("mapping_zero_length", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task
    def empty_list() -> list[int]:
        return []

    @task
    def each(x: int) -> int:
        return x

    mapped = each.expand(x=empty_list())
    mapped >> EmptyOperator(task_id="after_each")
    mapped >> EmptyOperator(task_id="after_any", trigger_rule="all_done")
