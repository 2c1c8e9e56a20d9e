"""TaskFlow XCom passing: return values flow into downstream @task arguments (XComArg wiring).

extract returns [1, 2, 3]; transform doubles each (its argument is extract's XCom); load receives
transform's XCom and a second argument from extract, and writes a marker with what it got.
Expected: extract, transform, load success/1; marker load_12_6 (sum of doubled values, sum of
the original list); run success.
"""

import os
from datetime import datetime

from airflow.sdk import DAG, task

EXPECTED_RUN_STATE = "success"
EXPECTED = {"extract": ("success", 1), "transform": ("success", 1), "load": ("success", 1)}
EXPECTED_MARKERS = ["load_12_6"]

with DAG("xcom_taskflow_passing", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task
    def extract() -> list[int]:
        return [1, 2, 3]

    @task
    def transform(values: list[int]) -> list[int]:
        return [v * 2 for v in values]

    @task
    def load(doubled: list[int], original: list[int]) -> None:
        name = f"load_{sum(doubled)}_{sum(original)}"
        open(os.path.join(os.environ.get("RUN_CORPUS_TMP", "/tmp"), name), "w").close()

    raw = extract()
    load(transform(raw), raw)
