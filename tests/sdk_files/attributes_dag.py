"""Task attributes for the sdk's differential test: default_args precedence (DAG < TaskGroup < nested
TaskGroup < task default_args < explicit keyword), weight rules, setup/teardown, sensors, mapping."""

from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator, ShortCircuitOperator
from airflow.providers.standard.sensors.filesystem import FileSensor
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.sdk import DAG, TaskGroup, setup, task, teardown

ARGS = {"owner": "dag", "retries": 1, "retry_delay": timedelta(seconds=30), "pool": "dag_pool", "queue": "q1"}


def noop():
    return None


with DAG(
    "sdk_attributes",
    start_date=pendulum.datetime(2024, 1, 1, tz="Europe/Amsterdam"),
    schedule="@daily",
    default_args=ARGS,
    max_active_tasks=4,
    dagrun_timeout=timedelta(hours=1),
) as dag:
    start = EmptyOperator(task_id="start", priority_weight=5)
    with TaskGroup("outer", default_args={"retries": 2, "owner": "outer"}) as outer:
        a = BashOperator(task_id="a", bash_command="echo a")
        with TaskGroup("inner", default_args={"retries": 3, "execution_timeout": timedelta(minutes=5)}):
            b = BashOperator(task_id="b", bash_command="echo b", default_args={"retries": 4, "queue": "q2"})
            c = BashOperator(task_id="c", bash_command="echo c", retries=7, default_args={"retries": 4})
        a >> [b, c]
    absolute = PythonOperator(task_id="absolute", python_callable=noop, priority_weight=3, weight_rule="absolute")
    upstream = PythonOperator(task_id="upstream_rule", python_callable=noop, weight_rule="upstream")
    gate = ShortCircuitOperator(
        task_id="gate", python_callable=noop, ignore_downstream_trigger_rules=False, trigger_rule="all_done"
    )
    wait = FileSensor(task_id="wait", filepath="/tmp/x", mode="reschedule", poke_interval=timedelta(minutes=2))
    poke = PythonSensor(task_id="poke", python_callable=noop, timeout=90, soft_fail=True, exponential_backoff=True)
    backoff = BashOperator(
        task_id="backoff", bash_command="exit 1", retry_exponential_backoff=True, max_retry_delay=timedelta(hours=1)
    )

    @setup
    def create():
        return 1

    @teardown
    def delete():
        return 2

    @task(retries=0)
    def work(x):
        return x

    made = create()
    done = work.expand(x=[1, 2])
    made >> done >> delete()
    cleanup = EmptyOperator(task_id="cleanup").as_teardown(setups=start)
    start >> outer >> absolute >> upstream >> gate >> [wait, poke] >> backoff >> cleanup
