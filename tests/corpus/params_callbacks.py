"""Typed Params, DAG-level and task-level callbacks, callbacks in default_args."""

import logging

import pendulum

from airflow.models.param import Param
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

log = logging.getLogger("corpus")


def on_failure(context):
    log.error("task %s failed", context["task_instance"].task_id)


def on_success(context):
    log.info("dag run %s succeeded", context["run_id"])


def run_job(environment, batch_size, dry_run):
    log.info("%s %s %s", environment, batch_size, dry_run)


with DAG(
    "corpus_params_callbacks",
    start_date=pendulum.datetime(2024, 1, 1),
    schedule=None,
    params={
        "environment": Param("staging", type="string", enum=["staging", "production"]),
        "batch_size": Param(100, type="integer", minimum=1, maximum=1000, description="rows per batch"),
        "dry_run": Param(False, type="boolean"),
        "note": "plain default",
    },
    on_success_callback=on_success,
    on_failure_callback=on_failure,
    default_args={"on_failure_callback": on_failure, "retries": 0},
    render_template_as_native_obj=True,
) as dag:
    job = PythonOperator(
        task_id="run_job",
        python_callable=run_job,
        op_kwargs={
            "environment": "{{ params.environment }}",
            "batch_size": "{{ params.batch_size }}",
            "dry_run": "{{ params.dry_run }}",
        },
        on_success_callback=on_success,
    )
    echo = BashOperator(task_id="echo", bash_command="echo {{ params.note }}", on_retry_callback=on_failure)
    job >> echo
