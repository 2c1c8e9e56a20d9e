"""Templates rendered by real Airflow (dag.test) and by studio.sdk for the same logical date; each DAG's
task dumps its rendered templates_dict to ``$TPL_OUT/<dag_id>.json`` (see test_sdk_templating)."""

import json
import os

import pendulum
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Param

TEMPLATES = {
    "ds": "{{ ds }}", "ds_nodash": "{{ ds_nodash }}", "ts": "{{ ts }}", "ts_nodash": "{{ ts_nodash }}",
    "ts_nodash_with_tz": "{{ ts_nodash_with_tz }}", "logical_date": "{{ logical_date }}",
    "dis": "{{ data_interval_start }}", "die": "{{ data_interval_end }}", "run_id": "{{ run_id }}",
    "params": "{{ params.n }} {{ params.name }}", "dag": "{{ dag.dag_id }}", "task": "{{ task.task_id }}",
    "ds_add": "{{ macros.ds_add(ds, 5) }}", "ds_format": "{{ macros.ds_format(ds, '%Y-%m-%d', '%d/%m/%Y') }}",
    "mdt": "{{ macros.datetime(2020, 1, 2).isoformat() }}",
    "mtd": "{{ (logical_date + macros.timedelta(days=1)).isoformat() }}",
    "filters": "{{ logical_date | ds }} {{ logical_date | ts_nodash }}", "try": "{{ ti.try_number }}",
    "key": "{{ task_instance_key_str }}", "fmt": "{{ logical_date.strftime('%A %H:%M') }}",
    "ti": "{{ ti.task_id }} {{ ti.map_index }}", "conf": "{{ dag_run.conf }}", "file": "query.sql",
    "macro": "{{ shout('hi') }}", "filter": "{{ 'abc' | twice }}", "loop": "{% for i in range(3) %}{{ i }}{% endfor %}",
}  # fmt: skip
NATIVE = {"list": "{{ [1, params.n] }}", "num": "{{ params.n + 1 }}", "text": "{{ ds }}", "dict": "{{ {'a': 1} }}"}


def dump(templates_dict, dag, **_):
    typed = {k: [type(v).__name__, v] for k, v in templates_dict.items()}
    with open(os.path.join(os.environ["TPL_OUT"], f"{dag.dag_id}.json"), "w") as fh:
        json.dump(typed, fh, sort_keys=True)


COMMON = {
    "start_date": pendulum.datetime(2024, 1, 1, tz="UTC"),
    "schedule": "@daily",
    "params": {"n": Param(3, type="integer"), "name": "x"},
    "template_searchpath": [os.path.join(os.path.dirname(__file__), "tpl_files")],
    "user_defined_macros": {"shout": lambda s: s.upper() + "!"},
    "user_defined_filters": {"twice": lambda s: s * 2},
}

with DAG("tpl", **COMMON):
    PythonOperator(task_id="render", python_callable=dump, templates_dict=TEMPLATES, templates_exts=[".sql"])

with DAG("tpl_native", render_template_as_native_obj=True, **COMMON):
    PythonOperator(task_id="render", python_callable=dump, templates_dict=NATIVE)
