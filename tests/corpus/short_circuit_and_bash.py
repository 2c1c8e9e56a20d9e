"""ShortCircuitOperator, @task.short_circuit and @task.bash next to a BashOperator with env and cwd."""

import pendulum

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import ShortCircuitOperator
from airflow.sdk import DAG, task


def is_weekday(ds=None, **_):
    return pendulum.parse(ds).weekday() < 5


with DAG("corpus_short_circuit", start_date=pendulum.datetime(2024, 1, 1), schedule="@daily", catchup=False) as dag:
    weekday = ShortCircuitOperator(task_id="only_weekdays", python_callable=is_weekday, ignore_downstream_trigger_rules=False)

    @task.short_circuit
    def has_data() -> bool:
        return True

    @task.bash(env={"LEVEL": "debug"}, append_env=True)
    def run_script(name: str) -> str:
        return f"./scripts/{name}.sh"

    work = BashOperator(task_id="work", bash_command="make all", env={"PATH": "/usr/bin"}, cwd="/opt/project")
    weekday >> has_data() >> run_script("nightly") >> work
