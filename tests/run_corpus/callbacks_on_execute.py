"""on_execute_callback runs right before execute on every try (a list of callbacks: each is called),
also for a try that then fails and is retried.

twice fails on try 1 and succeeds on try 2 (retries=1, retry_delay=0); each callback writes
execute_<n>_<task>_<try>.
Expected: twice success/2; run success; markers execute_a_twice_1, execute_a_twice_2,
execute_b_twice_1, execute_b_twice_2 and the counter file.
"""

import os
from datetime import datetime, timedelta

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "success"
EXPECTED = {"twice": ("success", 2)}
EXPECTED_MARKERS = [
    "execute_a_twice_1",
    "execute_a_twice_2",
    "execute_b_twice_1",
    "execute_b_twice_2",
    "twice.count",
]


def _path(name: str) -> str:
    return os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), name)


def _on_execute(tag: str):
    def callback(context) -> None:
        ti = context["ti"]
        open(_path(f"execute_{tag}_{ti.task_id}_{ti.try_number}"), "w").close()

    return callback


def _twice() -> None:
    if not os.path.exists(_path("twice.count")):
        open(_path("twice.count"), "w").close()
        raise RuntimeError("first try fails")


with DAG("callbacks_on_execute", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    PythonOperator(
        task_id="twice",
        python_callable=_twice,
        retries=1,
        retry_delay=timedelta(seconds=0),
        on_execute_callback=[_on_execute("a"), _on_execute("b")],
    )
