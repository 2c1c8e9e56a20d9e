"""BashOperator exit codes: exit 99 (skip_on_exit_code's default) skips the task; a custom
skip_on_exit_code=[3] makes exit 3 a skip; a non-listed non-zero exit fails.

Expected: exit_99 skipped/1; after_99 (all_success) skipped/0; exit_3_custom skipped/1;
exit_3_default failed/1; run failed (exit_3_default is a leaf).
"""

from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "failed"
EXPECTED = {
    "exit_99": ("skipped", 1),
    "after_99": ("skipped", 0),
    "exit_3_custom": ("skipped", 1),
    "exit_3_default": ("failed", 1),
}

with DAG("bash_skip_exit_code", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    BashOperator(task_id="exit_99", bash_command="exit 99") >> EmptyOperator(task_id="after_99")
    BashOperator(task_id="exit_3_custom", bash_command="exit 3", skip_on_exit_code=[3])
    BashOperator(task_id="exit_3_default", bash_command="exit 3")
