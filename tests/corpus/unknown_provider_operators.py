"""Operators the catalog does not know: kept as custom operators with their import paths."""

from datetime import datetime

from airflow import DAG
from airflow.providers.standard.operators.latest_only import LatestOnlyOperator
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor
from datetime import timedelta

with DAG("corpus_unknown_operators", start_date=datetime(2024, 1, 1), schedule="@daily", catchup=False) as dag:
    latest = LatestOnlyOperator(task_id="latest_only")
    wait = TimeDeltaSensor(task_id="wait_a_bit", delta=timedelta(minutes=10), mode="reschedule")
    trigger = TriggerDagRunOperator(
        task_id="trigger_downstream",
        trigger_dag_id="corpus_af3_python",
        conf={"source": "{{ dag.dag_id }}"},
        wait_for_completion=False,
    )
    latest >> wait >> trigger
