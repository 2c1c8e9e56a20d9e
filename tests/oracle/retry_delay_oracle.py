"""Run inside the Airflow virtualenv: Airflow's own ``TaskInstance.next_retry_datetime`` for cases.

Input (stdin, JSON): a list of ``{"task_id", "retry_delay": s, "retry_exponential_backoff": bool|float,
"max_retry_delay": s|None, "try_number", "logical_date": iso|None}``; every try ended at
2024-01-01T00:00:00+00:00. Output (stdout, JSON): the delay in seconds Airflow gives each one.
The TI and its DagRun live in memory only (no database).

Command: ``.venv-airflow/bin/python tests/oracle/retry_delay_oracle.py < cases.json``.
"""

import contextlib
import json
import sys


def main() -> None:
    cases = json.load(sys.stdin)
    out_stream = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):
        results = evaluate_all(cases)
    json.dump(results, out_stream)


def evaluate_all(cases: list) -> list:
    import datetime

    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG
    from airflow.serialization.serialized_objects import DagSerialization

    end = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    results = []
    for case in cases:
        with DAG("d", schedule=None, start_date=end) as dag:
            max_delay = case["max_retry_delay"]
            EmptyOperator(
                task_id=case["task_id"],
                retries=5,
                retry_delay=datetime.timedelta(seconds=case["retry_delay"]),
                retry_exponential_backoff=case["retry_exponential_backoff"],
                max_retry_delay=datetime.timedelta(seconds=max_delay) if max_delay else None,
            )
        sdag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
        logical = case["logical_date"]
        run = DagRun(
            dag_id="d",
            run_id="r",
            logical_date=datetime.datetime.fromisoformat(logical) if logical else None,
            run_type="manual",
        )
        ti = TaskInstance(sdag.get_task(case["task_id"]), dag_version_id=None, run_id="r")
        ti.dag_run = run
        ti.try_number = case["try_number"]
        ti.end_date = end
        results.append((ti.next_retry_datetime() - end).total_seconds())
    return results


if __name__ == "__main__":
    main()
