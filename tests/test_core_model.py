"""The DAG model's lookups, group id rules, XCom-implied upstreams, specs and module-code helpers."""

from __future__ import annotations

import datetime as dt

import pytest

from studio.codegen.pysource import ImportStmt, canonical_module_code, format_imports, split_module
from studio.core.catalog import BASE_FIELDS, SPECS, get_spec, spec_for_class, task_field
from studio.core.model import Dag, Task, TaskGroup, xcom_upstreams
from studio.core.specs import check_type
from studio.core.trigger_rules import TRIGGER_RULES
from studio.core.values import CallableRef, CodeExpr, XComRef


def grouped_dag() -> Dag:
    return Dag(
        "g",
        groups=[
            TaskGroup("outer"),
            TaskGroup("outer.inner", "outer"),
            TaskGroup("flat", "outer", {"prefix_group_id": False}),
        ],
        tasks=[
            Task("outer.a", "EmptyOperator", group_id="outer"),
            Task("outer.inner.b", "EmptyOperator", group_id="outer.inner"),
            Task("c", "EmptyOperator", group_id="flat"),
        ],
    )


def test_local_ids_follow_prefix_group_id():
    dag = grouped_dag()
    assert [dag.local_id(t) for t in dag.tasks] == ["a", "b", "c"]
    assert dag.local_group_id(dag.group("outer.inner")) == "inner"
    assert dag.id_prefix("flat") == ""
    assert [g.group_id for g in dag.group_chain("outer.inner")] == ["outer", "outer.inner"]
    assert [g.group_id for g in dag.walk_groups()] == ["outer", "outer.inner", "flat"]


def test_xcom_upstreams_only_where_airflow_adds_them():
    bash = Task("b", "BashOperator", {"bash_command": XComRef("a"), "cwd": "/tmp", "env": {"X": XComRef("c")}})
    assert xcom_upstreams(bash) == ["a", "c"]
    # PythonOperator's python_callable is not templated; op_kwargs is.
    py = Task("p", "PythonOperator", {"python_callable": CallableRef("f"), "op_kwargs": {"x": XComRef("a", "k")}})
    assert xcom_upstreams(py) == ["a"]
    not_templated = Task("e", "BashOperator", {"output_encoding": XComRef("a"), "bash_command": "true"})
    assert xcom_upstreams(not_templated) == []
    mapped = Task("m", "@task", {"python_callable": CallableRef("f")}, expand={"x": XComRef("src")})
    assert xcom_upstreams(mapped) == ["src"]
    custom = Task("c", "custom", {"anything": [XComRef("a"), XComRef("a")]}, class_path="pkg.Op")
    assert xcom_upstreams(custom) == ["a"]


def test_catalog_is_consistent():
    ids = [s.id for s in SPECS]
    assert len(ids) == len(set(ids))
    assert len(TRIGGER_RULES) == 13
    named = {
        "PythonOperator", "BashOperator", "EmptyOperator", "BranchPythonOperator", "ShortCircuitOperator",
        "EmailOperator", "DockerOperator", "S3CreateBucketOperator", "S3CreateObjectOperator", "S3CopyObjectOperator",
        "S3DeleteObjectsOperator", "S3ListOperator", "S3FileTransformOperator", "FileSensor", "PythonSensor",
        "S3KeySensor", "@task", "@task.branch", "@task.sensor", "custom",
    }  # fmt: skip
    assert named <= set(ids)
    base = {f.name for f in BASE_FIELDS}
    for spec in SPECS:
        assert not base & {f.name for f in spec.fields}, f"{spec.id} redefines a BaseOperator field"
        for f in spec.fields:
            assert f.help, f"{spec.id}.{f.name} has no help text"
            assert f.required or f.has_default, f"{spec.id}.{f.name} is optional without a default"


def test_spec_lookup_by_import_path_both_airflow_versions():
    assert spec_for_class("airflow.providers.standard.operators.bash", "BashOperator").id == "BashOperator"
    assert spec_for_class("airflow.operators.bash", "BashOperator").id == "BashOperator"
    assert spec_for_class("airflow.operators.bash_operator", "BashOperator").id == "BashOperator"
    assert spec_for_class("airflow.sensors.filesystem", "FileSensor").id == "FileSensor"
    assert spec_for_class("airflow.operators.bash", "PythonOperator") is None
    assert task_field(get_spec("BashOperator"), "retries").type == "int"


@pytest.mark.parametrize(
    ("name", "value", "ok"),
    [
        ("retries", 3, True),
        ("retries", "3", False),
        ("retries", True, False),
        ("retry_delay", dt.timedelta(seconds=5), True),
        ("retry_delay", 30, True),
        ("trigger_rule", "all_done", True),
        ("trigger_rule", "sometimes", False),
        ("email", ["a@x", "b@x"], True),
        ("email", ["a@x", 3], False),
        ("on_failure_callback", CallableRef("f"), True),
        ("on_failure_callback", "f", False),
        ("retries", CodeExpr("N"), True),
    ],
)
def test_check_type(name, value, ok):
    field = task_field(get_spec("BashOperator"), name)
    assert (check_type(field, value) is None) is ok


def test_check_type_message_is_readable():
    message = check_type(task_field(get_spec("BashOperator"), "retries"), "three")
    assert message == 'expected an integer, got string "three"'


def test_canonical_module_code_groups_and_sorts_imports():
    code = (
        "from airflow.sdk import Variable\nimport json\nimport pendulum\n"
        "from __future__ import annotations\nimport os, sys\n\n# helper\ndef f():\n    return json.dumps(1)\n"
        "X = 1\n"
    )
    assert canonical_module_code(code) == (
        "from __future__ import annotations\n\nimport json\nimport os\nimport sys\n\nimport pendulum\n\n"
        "from airflow.sdk import Variable\n\n\n# helper\ndef f():\n    return json.dumps(1)\n\n\nX = 1\n"
    )
    assert canonical_module_code(canonical_module_code(code)) == canonical_module_code(code)
    assert canonical_module_code("  \n") == ""


def test_split_module_keeps_decorators_and_bound_names():
    imports, segments = split_module("import numpy as np\n\n@cache\ndef f():\n    pass\n")
    assert imports == [ImportStmt("numpy", None, "np")]
    assert imports[0].bound_name == "np"
    assert segments == ["@cache\ndef f():\n    pass"]
    assert format_imports([ImportStmt("a.b", "c"), ImportStmt("a.b", "a")]) == "from a.b import a, c"
