"""Dynamic task mapping over an upstream task's XCom list: the map length is known only at run time.

list_files returns ["f1", "f2", "f3", "f4"]; handle.expand(name=...) with a partial(prefix="p")
argument writes marker p_<name>.
Expected: list_files success/1; handle[0..3] success/1; run success; markers p_f1..p_f4.
"""

import os
from datetime import datetime

from airflow.sdk import DAG, task

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "list_files": ("success", 1),
    "handle[0]": ("success", 1),
    "handle[1]": ("success", 1),
    "handle[2]": ("success", 1),
    "handle[3]": ("success", 1),
}
EXPECTED_MARKERS = ["p_f1", "p_f2", "p_f3", "p_f4"]

with DAG("mapping_expand_upstream_xcom", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task
    def list_files() -> list[str]:
        return ["f1", "f2", "f3", "f4"]

    @task
    def handle(prefix: str, name: str) -> None:
        open(os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), f"{prefix}_{name}"), "w").close()

    handle.partial(prefix="p").expand(name=list_files())
