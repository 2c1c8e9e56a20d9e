"""XCom across TaskGroups: task ids are prefixed with the group id, and both TaskFlow wiring and
xcom_pull(task_ids="source.produce") work across groups; an explicit key pushed with ti.xcom_push too.

Expected: source.produce, sink.consume, sink.pull_explicit success/1; markers consume_42 and
explicit_42_tag; run success.
"""

import os
from datetime import datetime

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, TaskGroup, task

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "source.produce": ("success", 1),
    "sink.consume": ("success", 1),
    "sink.pull_explicit": ("success", 1),
}
EXPECTED_MARKERS = ["consume_42", "explicit_42_tag"]


def _touch(name: str) -> None:
    open(os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), name), "w").close()


def _pull_explicit(ti) -> None:
    value = ti.xcom_pull(task_ids="source.produce")
    tag = ti.xcom_pull(task_ids="source.produce", key="tag")
    _touch(f"explicit_{value}_{tag}")


with DAG("xcom_across_task_groups", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    with TaskGroup("source"):

        @task
        def produce(ti=None) -> int:
            ti.xcom_push(key="tag", value="tag")
            return 42

        produced = produce()

    with TaskGroup("sink"):

        @task
        def consume(value: int) -> None:
            _touch(f"consume_{value}")

        consume(produced)
        produced >> PythonOperator(task_id="pull_explicit", python_callable=_pull_explicit)
