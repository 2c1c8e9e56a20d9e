"""Trigger rule all_done_setup_success: without setup tasks upstream it behaves like all_done.

Sources: ok, ok2 succeed; bad fails (RuntimeError); skip, skip2 raise AirflowSkipException; uf is
downstream of bad (all_success) and so ends upstream_failed. Each join uses trigger_rule=all_done_setup_success against
one upstream mix: j_ok [ok, ok2], j_fail [ok, bad], j_skip [ok, skip], j_uf [ok, uf],
j_all_skip [skip, skip2], j_all_fail [bad, uf].

Expected: j_ok success, j_fail success, j_skip success, j_uf success, j_all_skip success, j_all_fail success. The run is success because no leaf (the joins) failed.
"""

from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
from airflow.sdk.exceptions import AirflowSkipException

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "ok": ("success", 1),
    "ok2": ("success", 1),
    "bad": ("failed", 1),
    "skip": ("skipped", 1),
    "skip2": ("skipped", 1),
    "uf": ("upstream_failed", 0),
    "j_ok": ("success", 1),
    "j_fail": ("success", 1),
    "j_skip": ("success", 1),
    "j_uf": ("success", 1),
    "j_all_skip": ("success", 1),
    "j_all_fail": ("success", 1),
}


def _fail() -> None:
    raise RuntimeError("deliberate failure")


def _skip() -> None:
    raise AirflowSkipException("deliberate skip")


with DAG("tr_all_done_setup_success", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    ok = EmptyOperator(task_id="ok")
    ok2 = EmptyOperator(task_id="ok2")
    bad = PythonOperator(task_id="bad", python_callable=_fail)
    skip = PythonOperator(task_id="skip", python_callable=_skip)
    skip2 = PythonOperator(task_id="skip2", python_callable=_skip)
    uf = EmptyOperator(task_id="uf")
    bad >> uf
    mixes = {
        "j_ok": [ok, ok2],
        "j_fail": [ok, bad],
        "j_skip": [ok, skip],
        "j_uf": [ok, uf],
        "j_all_skip": [skip, skip2],
        "j_all_fail": [bad, uf],
    }
    for join_id, upstream in mixes.items():
        upstream >> EmptyOperator(task_id=join_id, trigger_rule="all_done_setup_success")
