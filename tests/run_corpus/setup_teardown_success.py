"""Setup and teardown tasks, all succeeding: create >> work >> delete with delete as teardown of create.

Expected: create, work, delete success/1; markers create, work, delete; run success.
"""

import os
from datetime import datetime

from airflow.sdk import DAG, task

EXPECTED_RUN_STATE = "success"
EXPECTED = {"create": ("success", 1), "work": ("success", 1), "delete": ("success", 1)}
EXPECTED_MARKERS = ["create", "delete", "work"]


def _touch(name: str) -> None:
    open(os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), name), "w").close()


with DAG("setup_teardown_success", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task
    def create() -> None:
        _touch("create")

    @task
    def work() -> None:
        _touch("work")

    @task
    def delete() -> None:
        _touch("delete")

    made = create()
    made >> work() >> delete().as_teardown(setups=made)
