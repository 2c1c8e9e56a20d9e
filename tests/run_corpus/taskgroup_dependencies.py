"""Group-level dependencies: start >> group >> end makes start upstream of every root of the group and
every leaf of the group upstream of end; nested groups prefix ids twice.

Each task checks that the markers of the tasks that must precede it exist (and fails otherwise),
then writes its own marker.
Expected: start, work.a, work.b, work.inner.c, end all success/1; markers for all five; run success.
"""

import os
from datetime import datetime

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, TaskGroup

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "start": ("success", 1),
    "work.a": ("success", 1),
    "work.b": ("success", 1),
    "work.inner.c": ("success", 1),
    "end": ("success", 1),
}
EXPECTED_MARKERS = ["end.done", "start.done", "work.a.done", "work.b.done", "work.inner.c.done"]


def _step(name: str, after: list[str]) -> None:
    folder = os.environ.get("RUN_CORPUS_TMP", "/tmp")
    missing = [a for a in after if not os.path.exists(os.path.join(folder, f"{a}.done"))]
    if missing:
        raise RuntimeError(f"{name} ran before {missing}")
    open(os.path.join(folder, f"{name}.done"), "w").close()


def _task(task_id: str, name: str, after: list[str]) -> PythonOperator:
    return PythonOperator(task_id=task_id, python_callable=_step, op_args=[name, after])


with DAG("taskgroup_dependencies", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    start = _task("start", "start", [])
    with TaskGroup("work") as work:
        a = _task("a", "work.a", ["start"])
        b = _task("b", "work.b", ["start", "work.a"])
        with TaskGroup("inner"):
            c = _task("c", "work.inner.c", ["start"])
        a >> b
    end = _task("end", "end", ["work.b", "work.inner.c"])
    start >> work >> end
