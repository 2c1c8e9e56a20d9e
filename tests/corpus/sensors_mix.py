"""Sensors: FileSensor (Airflow 2 path), PythonSensor, S3KeySensor and a @task.sensor."""

import os
from datetime import datetime, timedelta

from airflow import DAG
from airflow.decorators import task
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.sensors.filesystem import FileSensor

INBOX = "/data/inbox"


def inbox_ready(folder: str) -> bool:
    return os.path.isdir(folder) and bool(os.listdir(folder))


with DAG(
    "corpus_sensors",
    start_date=datetime(2024, 1, 1),
    schedule="*/30 * * * *",
    catchup=False,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=2)},
) as dag:
    wait_file = FileSensor(task_id="wait_file", filepath=f"{INBOX}/ready.flag", poke_interval=60, mode="reschedule")
    wait_python = PythonSensor(
        task_id="wait_python", python_callable=inbox_ready, op_kwargs={"folder": INBOX}, timeout=3600
    )
    wait_s3 = S3KeySensor(
        task_id="wait_s3",
        bucket_key="s3://lake/raw/{{ ds }}/*.parquet",
        wildcard_match=True,
        aws_conn_id="aws_lake",
        poke_interval=timedelta(minutes=5),
    )

    @task.sensor(poke_interval=30, timeout=600, mode="reschedule")
    def wait_for_quota() -> bool:
        return True

    @task
    def process():
        return "ok"

    [wait_file, wait_python, wait_s3] >> wait_for_quota() >> process()
