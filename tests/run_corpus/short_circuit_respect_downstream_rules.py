"""ShortCircuitOperator with a falsy result and ignore_downstream_trigger_rules=False.

Only the direct downstream task is skipped; further tasks follow their own trigger rules: then_step
(all_success) is skipped because its upstream was skipped, done_anyway (all_done) runs.
Expected: check success/1; next_step skipped/0; then_step skipped/0; done_anyway success/1; run success.
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
    "done_anyway": ("success", 1),
}

with DAG("short_circuit_respect_downstream_rules", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    check = ShortCircuitOperator(task_id="check", python_callable=lambda: 0, ignore_downstream_trigger_rules=False)
    next_step = EmptyOperator(task_id="next_step")
    check >> next_step >> EmptyOperator(task_id="then_step")
    next_step >> EmptyOperator(task_id="done_anyway", trigger_rule="all_done")
