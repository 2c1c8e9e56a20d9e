"""@task.sensor returning PokeReturnValue: done on the second poke, and its xcom_value is the sensor's
XCom, used by the downstream task.

Expected: ready success/1; use success/1 writing marker sensed_payload-2; run success; plus the poke
counter file.
"""

import os
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, PokeReturnValue, task

EXPECTED_RUN_STATE = "success"
EXPECTED = {"ready": ("success", 1), "use": ("success", 1)}
EXPECTED_MARKERS = ["ready.count", "sensed_payload-2"]


def _path(name: str) -> str:
    return os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), name)


with DAG("sensor_task_decorator", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task.sensor(poke_interval=0.1, timeout=30, mode="poke")
    def ready() -> PokeReturnValue:
        path = _path("ready.count")
        count = int(Path(path).read_text()) + 1 if os.path.exists(path) else 1
        with open(path, "w") as handle:
            handle.write(str(count))
        return PokeReturnValue(is_done=count >= 2, xcom_value=f"payload-{count}")

    @task
    def use(value: str) -> None:
        open(_path(f"sensed_{value}"), "w").close()

    use(ready())
