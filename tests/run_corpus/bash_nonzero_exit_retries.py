"""BashOperator with a non-zero exit and retries: each try runs the command again (a counter file in
bash), the exit code decides: it exits 1 until the third try, then 0; env and append_env are honoured.

Expected: count_up success/3; echo_env success/1 with marker env_VALUE_<HOME is set>; run success.
"""

from datetime import datetime, timedelta

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

EXPECTED_RUN_STATE = "success"
EXPECTED = {"count_up": ("success", 3), "echo_env": ("success", 1)}
EXPECTED_MARKERS = ["bash.count", "env_VALUE_yes"]

COUNT_UP = """
f="$RUN_CORPUS_TMP/bash.count"
n=$(( $(cat "$f" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$f"
[ "$n" -ge 3 ]
"""

with DAG("bash_nonzero_exit_retries", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    count_up = BashOperator(task_id="count_up", bash_command=COUNT_UP, retries=2, retry_delay=timedelta(seconds=0))
    count_up >> BashOperator(
        task_id="echo_env",
        bash_command='touch "$RUN_CORPUS_TMP/env_${MY_VAR}_$([ -n "$PATH" ] && echo yes || echo no)"',
        env={"MY_VAR": "VALUE"},
        append_env=True,
    )
