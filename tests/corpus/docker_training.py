"""Weekly training in Docker containers (the docker provider)."""

from datetime import datetime, timedelta

from airflow import DAG
from airflow.providers.docker.operators.docker import DockerOperator

IMAGE = "ghcr.io/acme/trainer:2.1"
ENV = {"MLFLOW_TRACKING_URI": "http://mlflow:5000", "SEED": "42"}

with DAG(
    "corpus_docker",
    start_date=datetime(2024, 1, 1),
    schedule="@weekly",
    catchup=False,
    default_args={"retries": 1, "execution_timeout": timedelta(hours=3)},
) as dag:
    prepare = DockerOperator(
        task_id="prepare",
        image=IMAGE,
        command="python -m trainer.prepare --date {{ ds }}",
        environment=ENV,
        auto_remove="success",
        mount_tmp_dir=False,
    )
    train = DockerOperator(
        task_id="train",
        image=IMAGE,
        command=["python", "-m", "trainer.fit", "--epochs", "20"],
        environment={**ENV, "EPOCHS": "20"},
        network_mode="bridge",
        auto_remove="force",
        mount_tmp_dir=False,
    )
    prepare >> train
