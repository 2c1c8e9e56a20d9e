"""Dynamic task mapping over a literal list: one task instance per element, keys task_id[i].

process.expand(item=["a", "b", "c"]) writes marker item_<i>_<item> (its map index from the context).
Expected: process[0], process[1], process[2] success/1; done success/1; markers item_0_a, item_1_b,
item_2_c; run success.
"""

import os
from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, get_current_context, task

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "process[0]": ("success", 1),
    "process[1]": ("success", 1),
    "process[2]": ("success", 1),
    "done": ("success", 1),
}
EXPECTED_MARKERS = ["item_0_a", "item_1_b", "item_2_c"]

with DAG("mapping_expand_literal", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task
    def process(item: str) -> None:
        index = get_current_context()["ti"].map_index
        open(os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), f"item_{index}_{item}"), "w").close()

    process.expand(item=["a", "b", "c"]) >> EmptyOperator(task_id="done")
