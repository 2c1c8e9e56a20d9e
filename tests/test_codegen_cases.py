"""Representative DAGs for the code generator's tests, built with the model API (and checks that they
are what they claim: valid, both targets compile).

Each case exercises a family of features: ``hourly_etl`` classic operators, sensors, S3, email,
default_args, callbacks and docs; ``warehouse_groups`` nested TaskGroups, ``prefix_group_id=False``
and an empty group; ``taskflow_orders`` TaskFlow (decorator arguments, a function shared through
``.override``, branch with labels, sensor, bash), XCom keys, dynamic mapping and params;
``custom_greeting`` custom operators, code expressions, awkward task ids and tail code.
The golden files in ``tests/golden/`` are their generated code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from studio.codegen.generator import generate_dag
from studio.core.model import Dag, Edge, Task, TaskGroup
from studio.core.values import CallableRef, CodeExpr, DateTime, ParamValue, XComRef

ETL_MODULE = """import json
from datetime import timedelta


def notify_failure(context):
    print("DAG run failed:", context["dag_run"].run_id)


def transform(table, ds=None):
    rows = json.loads("[]")
    print(f"transformed {len(rows)} rows of {table} for {ds}")
"""

LOAD_SCRIPT = """set -euo pipefail
psql "$TARGET" -c "COPY orders FROM '/data/{{ ds }}/orders.csv' CSV"
echo "loaded {{ ds }}"
"""

ETL_DOC = """### Hourly ETL

Waits for the hourly export, copies it to S3, transforms and loads it.
Owner: the data team (data@example.com).
"""


def hourly_etl() -> Dag:
    return Dag(
        "hourly_etl",
        args={
            "description": "Hourly ETL: wait for the export, copy it to S3, transform, load, notify.",
            "schedule": "0 * * * *",
            "start_date": DateTime(dt.datetime(2024, 1, 1), "UTC"),
            "end_date": DateTime(dt.datetime(2026, 12, 31, 23, 30), "UTC"),
            "catchup": False,
            "default_args": {
                "owner": "data",
                "retries": 3,
                "retry_delay": dt.timedelta(minutes=5),
                "retry_exponential_backoff": True,
                "email": ["data@example.com"],
                "email_on_failure": True,
                "email_on_retry": False,
            },
            "tags": ["etl", "hourly"],
            "max_active_runs": 1,
            "dagrun_timeout": dt.timedelta(hours=1, minutes=30),
            "doc_md": ETL_DOC,
            "on_failure_callback": CallableRef("notify_failure"),
        },
        module_code=ETL_MODULE,
        tasks=[
            Task(
                "wait_for_export",
                "FileSensor",
                {"filepath": "/data/export/{{ ds }}.csv", "poke_interval": 60, "timeout": 3600, "mode": "reschedule"},
            ),
            Task(
                "upload",
                "S3CreateObjectOperator",
                {"s3_bucket": "raw", "s3_key": "export/{{ ds }}.csv", "data": "{{ ti.xcom_pull('extract') }}"},
            ),
            Task("wait_for_key", "S3KeySensor", {"bucket_key": "s3://raw/export/{{ ds }}.csv", "timeout": 600}),
            Task(
                "transform",
                "PythonOperator",
                {
                    "python_callable": CallableRef("transform"),
                    "op_kwargs": {"table": "orders"},
                    "execution_timeout": dt.timedelta(minutes=30),
                },
            ),
            Task("load", "BashOperator", {"bash_command": LOAD_SCRIPT, "env": {"TARGET": "warehouse"}, "retries": 1}),
            Task(
                "cleanup",
                "S3DeleteObjectsOperator",
                {"bucket": "raw", "prefix": "export/{{ ds }}", "trigger_rule": "all_done"},
            ),
            Task(
                "notify",
                "EmailOperator",
                {
                    "to": ["data@example.com", "ops@example.com"],
                    "subject": "ETL {{ ds }} – done ✔",
                    "html_content": "<p>The hourly ETL for {{ ts }} loaded the orders table.</p>",
                },
            ),
        ],
        edges=[
            Edge("wait_for_export", "upload"),
            Edge("upload", "wait_for_key"),
            Edge("wait_for_key", "transform"),
            Edge("transform", "load"),
            Edge("load", "cleanup"),
            Edge("load", "notify"),
        ],
    )


def warehouse_groups() -> Dag:
    bash = "BashOperator"
    return Dag(
        "warehouse_groups",
        args={"schedule": "@daily", "start_date": DateTime(dt.datetime(2024, 3, 1)), "tags": ["groups"]},
        groups=[
            TaskGroup("extract", None, {"tooltip": "Pull every source"}),
            TaskGroup("extract.api", "extract", {"tooltip": "REST sources"}),
            TaskGroup("load", None, {"prefix_group_id": False, "default_args": {"retries": 2}, "ui_color": "#e8f7e4"}),
            TaskGroup("staging", "load"),
            TaskGroup("reports", None, {"tooltip": "Reports come in a later release"}),
        ],
        tasks=[
            Task("start", "EmptyOperator"),
            Task(
                "extract.api.orders", bash, {"bash_command": "curl -sf https://api.example.com/orders"}, "extract.api"
            ),
            Task(
                "extract.api.customers",
                bash,
                {"bash_command": "curl -sf https://api.example.com/customers"},
                "extract.api",
            ),
            Task("extract.files", bash, {"bash_command": "ls /data/incoming"}, "extract"),
            Task("staging.check", "EmptyOperator", group_id="staging"),
            Task("load_orders", bash, {"bash_command": "echo load orders"}, "load"),
            Task("load_customers", bash, {"bash_command": "echo load customers"}, "load"),
            Task("end", "EmptyOperator", {"trigger_rule": "none_failed"}),
        ],
        edges=[
            Edge("start", "extract.api.orders"),
            Edge("start", "extract.api.customers"),
            Edge("start", "extract.files"),
            Edge("extract.api.orders", "staging.check"),
            Edge("extract.api.customers", "staging.check"),
            Edge("staging.check", "load_orders"),
            Edge("staging.check", "load_customers"),
            Edge("load_orders", "end"),
            Edge("load_customers", "end"),
            Edge("extract.files", "end"),
        ],
    )


TASKFLOW_MODULE = """import random


def extract():
    return {"orders": [3, 1, 2], "source": "api"}


def transform(orders, multiplier=1):
    return [order * int(multiplier) for order in orders]


def choose(values):
    return "report" if values else "skip"


def flag_is_set():
    return random.random() > 0.1


def double(item):
    return item * 2


def summarize(values):
    return sum(values)


def report_command(name):
    return f"echo report for {name}"
"""


def taskflow_orders() -> Dag:
    call = CallableRef
    return Dag(
        "taskflow_orders",
        args={
            "description": "TaskFlow orders: shared functions, branching, a sensor and dynamic mapping.",
            "schedule": None,
            "start_date": DateTime(dt.datetime(2024, 6, 1, 6), "Europe/Amsterdam"),
            "params": {
                "multiplier": ParamValue(2, {"type": "integer", "minimum": 1, "description": "Factor per order"}),
                "region": ParamValue("eu", {"type": "string", "enum": ["eu", "us"]}),
            },
            "render_template_as_native_obj": True,
        },
        module_code=TASKFLOW_MODULE,
        tasks=[
            Task("extract", "@task", {"python_callable": call("extract"), "multiple_outputs": True}),
            Task(
                "transform_a",
                "@task",
                {
                    "python_callable": call("transform"),
                    "op_kwargs": {"orders": XComRef("extract", "orders"), "multiplier": "{{ params.multiplier }}"},
                },
            ),
            Task(
                "transform_b",
                "@task",
                {
                    "python_callable": call("transform"),
                    "op_kwargs": {"orders": XComRef("extract", "orders")},
                    "retries": 2,
                },
            ),
            Task("choose", "@task.branch", {"python_callable": call("choose"), "op_args": [XComRef("transform_a")]}),
            Task("report", "@task.bash", {"python_callable": call("report_command"), "op_args": ["orders"]}),
            Task("skip", "EmptyOperator"),
            Task(
                "wait_for_flag",
                "@task.sensor",
                {"python_callable": call("flag_is_set"), "poke_interval": 30, "timeout": 600, "mode": "reschedule"},
            ),
            Task("double", "@task", {"python_callable": call("double")}, expand={"item": XComRef("transform_b")}),
            Task("summarize", "@task", {"python_callable": call("summarize"), "op_args": [XComRef("double")]}),
            Task("echo_each", "BashOperator", {"retries": 1}, expand={"bash_command": ["echo a", "echo b", "echo c"]}),
            Task(
                "copy_each",
                "S3CopyObjectOperator",
                {"aws_conn_id": "aws_default"},
                expand_kwargs=[
                    {"source_bucket_key": "s3://raw/a.csv", "dest_bucket_key": "s3://clean/a.csv"},
                    {"source_bucket_key": "s3://raw/b.csv", "dest_bucket_key": "s3://clean/b.csv"},
                ],
            ),
        ],
        edges=[
            Edge("extract", "transform_a"),
            Edge("extract", "transform_b"),
            Edge("transform_a", "choose"),
            Edge("choose", "report", "has orders"),
            Edge("choose", "skip", "no orders"),
            Edge("wait_for_flag", "double"),
            Edge("transform_b", "double"),
            Edge("double", "summarize"),
            Edge("summarize", "echo_each"),
            Edge("echo_each", "copy_each"),
        ],
    )


CUSTOM_MODULE = """import os
from datetime import timedelta

from airflow.sdk import BaseOperator

DEFAULT_ENV = {"LANG": "C.UTF-8"}


def greeting_env(mode):
    return {**DEFAULT_ENV, "MODE": os.environ.get("MODE", mode)}


class GreetOperator(BaseOperator):
    template_fields = ("name",)

    def __init__(self, name, **kwargs):
        super().__init__(**kwargs)
        self.name = name

    def execute(self, context):
        print(f"Hello {self.name}")


def on_success(context):
    print("done:", context["task_instance"].task_id)
"""


def custom_greeting() -> Dag:
    return Dag(
        "custom_greeting",
        args={"schedule": dt.timedelta(hours=6), "start_date": DateTime(dt.datetime(2024, 1, 1, 0, 0, 30), "UTC")},
        module_code=CUSTOM_MODULE,
        tasks=[
            Task(
                "latest_only",
                "custom",
                class_path="airflow.providers.standard.operators.latest_only.LatestOnlyOperator",
            ),
            Task("greet", "custom", {"name": "wörld", "retries": 1, "pool_slots": 2}, class_path="GreetOperator"),
            Task(
                "trigger",
                "custom",
                {"trigger_dag_id": "hourly_etl", "conf": {"source": "custom_greeting"}, "wait_for_completion": False},
                class_path="airflow.providers.standard.operators.trigger_dagrun.TriggerDagRunOperator",
            ),
            Task("class", "EmptyOperator"),
            Task("2nd-step", "EmptyOperator", {"on_success_callback": CallableRef("on_success")}),
            Task(
                "print",
                "BashOperator",
                {
                    "bash_command": CodeExpr('os.environ.get("GREETING_COMMAND", "echo hello")'),
                    "env": CodeExpr('greeting_env("daily")'),
                    "execution_timeout": dt.timedelta(seconds=90, milliseconds=500),
                    "priority_weight": 5,
                    "pool": "greetings",
                },
            ),
            Task("run.it", "BashOperator", {"bash_command": 'echo "it\'s \\\\ done"\n', "do_xcom_push": False}),
        ],
        edges=[
            Edge("latest_only", "greet"),
            Edge("greet", "trigger"),
            Edge("greet", "class"),
            Edge("class", "2nd-step"),
            Edge("2nd-step", "print"),
            Edge("print", "run.it"),
        ],
        tail_code='if __name__ == "__main__":\n    dag.test()\n',
    )


CASES: dict[str, Callable[[], Dag]] = {
    "hourly_etl": hourly_etl,
    "warehouse_groups": warehouse_groups,
    "taskflow_orders": taskflow_orders,
    "custom_greeting": custom_greeting,
}

# (case, target) pairs that have golden files.
GOLDEN_CASES = [(name, "airflow3") for name in CASES] + [
    ("hourly_etl", "airflow2"),
    ("warehouse_groups", "airflow2"),
    ("taskflow_orders", "airflow2"),
]


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_has_no_validation_errors(name: str) -> None:
    from studio.core.validation import validate_dag

    problems = [d for d in validate_dag(CASES[name]()) if d.severity == "error"]
    assert problems == []


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("target", ["airflow3", "airflow2"])
def test_case_compiles(name: str, target: str) -> None:
    code = generate_dag(CASES[name](), target)
    compile(code, f"{name}.py", "exec")
