"""Mapped task group over an upstream XCom list, pulling XCom inside the group: each task instance
reads the value of its own map index, both through TaskFlow arguments and ti.xcom_pull.

make_words returns ["a", "bb", "ccc"]; inside group(word): length(word) >> report, where report gets
length's value as an argument and also pulls it with ti.xcom_pull(map_indexes=ti.map_index).
Expected: make_words success/1; group.length[0..2], group.report[0..2] success/1; markers
a_1_1, bb_2_2, ccc_3_3; run success.
"""

import os
from datetime import datetime

from airflow.sdk import DAG, task, task_group

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "make_words": ("success", 1),
    "group.length[0]": ("success", 1),
    "group.length[1]": ("success", 1),
    "group.length[2]": ("success", 1),
    "group.report[0]": ("success", 1),
    "group.report[1]": ("success", 1),
    "group.report[2]": ("success", 1),
}
EXPECTED_MARKERS = ["a_1_1", "bb_2_2", "ccc_3_3"]

with DAG("mapgroup_xcom_inside", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task
    def make_words() -> list[str]:
        return ["a", "bb", "ccc"]

    @task
    def length(word: str) -> int:
        return len(word)

    @task
    def report(word: str, size: int, ti=None) -> None:
        pulled = ti.xcom_pull(task_ids="group.length", map_indexes=ti.map_index)
        folder = os.environ.get("RUN_CORPUS_TMP", "/tmp")
        open(os.path.join(folder, f"{word}_{size}_{pulled}"), "w").close()

    @task_group
    def group(word: str):
        report(word, length(word))

    group.expand(word=make_words())
