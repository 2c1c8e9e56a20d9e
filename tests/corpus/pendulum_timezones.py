"""Time zones: pendulum.timezone as tzinfo, a zone constant, pendulum.datetime with tz=."""

import datetime as dt

import pendulum

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

LOCAL_TZ = pendulum.timezone("Europe/Amsterdam")

with DAG(
    dag_id="corpus_tz_amsterdam",
    start_date=dt.datetime(2024, 3, 30, 2, 30, tzinfo=LOCAL_TZ),
    end_date=pendulum.datetime(2030, 1, 1, tz=LOCAL_TZ),
    schedule="30 2 * * *",
    catchup=False,
) as amsterdam:
    EmptyOperator(task_id="at_half_past_two")

with DAG(
    dag_id="corpus_tz_new_york",
    start_date=pendulum.datetime(2024, 1, 1, 9, tz="America/New_York"),
    schedule=dt.timedelta(hours=6),
    catchup=False,
) as new_york:
    EmptyOperator(task_id="every_six_hours")
