"""ShortCircuitOperator with a falsy result and ignore_downstream_trigger_rules=True (the default).

Every task downstream of the short circuit is skipped, even one whose trigger rule (all_done) would
otherwise let it run.
Expected: check success/1; next_step, then_step and done_anyway (all_done) skipped/0; the run is success.
"""

from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import ShortCircuitOperator
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "success"
EXPECTED = {
    "check": ("success", 1),
    "next_step": ("skipped", 0),
    "then_step": ("skipped", 0),
    "done_anyway": ("skipped", 0),
}

with DAG("short_circuit_ignore_downstream_rules", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    check = ShortCircuitOperator(task_id="check", python_callable=lambda: False)
    next_step = EmptyOperator(task_id="next_step")
    check >> next_step >> EmptyOperator(task_id="then_step")
    next_step >> EmptyOperator(task_id="done_anyway", trigger_rule="all_done")
