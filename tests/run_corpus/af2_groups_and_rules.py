"""Airflow 2 paths for groups and trigger rules: airflow.utils.task_group.TaskGroup (with prefix_group_id
False for one group) and the airflow.utils.trigger_rule.TriggerRule enum.

Expected: g.fails failed/1; g.after upstream_failed/0; plain (group without prefix) success/1;
handler (TriggerRule.ONE_FAILED after the group: downstream of its leaf g.after) success/1; the run is
success because its leaves, handler and plain, succeeded.
"""

from datetime import datetime

from airflow import DAG
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import PythonOperator
from airflow.utils.task_group import TaskGroup
from airflow.utils.trigger_rule import TriggerRule

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "g.fails": ("failed", 1),
    "g.after": ("upstream_failed", 0),
    "plain": ("success", 1),
    "handler": ("success", 1),
}


def _fail() -> None:
    raise RuntimeError("in a group")


with DAG("af2_groups_and_rules", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    with TaskGroup("g") as g:
        PythonOperator(task_id="fails", python_callable=_fail) >> EmptyOperator(task_id="after")
    with TaskGroup("no_prefix", prefix_group_id=False):
        plain = EmptyOperator(task_id="plain")
    g >> EmptyOperator(task_id="handler", trigger_rule=TriggerRule.ONE_FAILED)
