"""Validation of arguments: operators, fields, types, required fields, trigger rules, DAG args,
default_args, callables and module code, TaskFlow decorators, mapped tasks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from studio.core.model import Dag, Task, TaskGroup
from studio.core.validation import validate_dag
from studio.core.values import CallableRef, CodeExpr, XComRef
from tests.test_validation import bash, check, find, line_of


def py(task_id: str, fn: str = "work", operator: str = "PythonOperator", **args: object) -> Task:
    return Task(task_id, operator, {"python_callable": CallableRef(fn), **args})


CODE = "import os\nfrom helpers import imported_fn\n\n\ndef work(x, y=1):\n    return x\n\n\ndef other(**kwargs):\n    pass\n"


def test_unknown_operator_with_suggestion(tmp_path: Path) -> None:
    found, text = check(tmp_path, Dag("ops", tasks=[Task("a", "BashOperatr", {"bash_command": "x"})]))
    d = find(found, "unknown operator 'BashOperatr'")
    assert "did you mean 'BashOperator'" in d.message and d.severity == "error"
    assert d.json_path == "$.tasks[0].operator" and d.line == line_of(text, '"task_id": "a"')


def test_unknown_operator_field(tmp_path: Path) -> None:
    found, text = check(tmp_path, Dag("f", tasks=[bash("a", bash_comand="oops", cwd="/tmp")]))
    d = find(found, "unknown argument 'bash_comand' for BashOperator")
    assert "did you mean 'bash_command'" in d.message and d.severity == "error"
    assert d.json_path == "$.tasks[0].args.bash_comand" and d.line == line_of(text, '"bash_comand"')


def test_base_operator_and_airflow_only_arguments_are_accepted(tmp_path: Path) -> None:
    task = bash("a", retries=3, pool="p", outlets=CodeExpr("[Asset('s3://x')]"), task_display_name="A")
    found, _ = check(tmp_path, Dag("base", tasks=[task]))
    assert found == []


def test_custom_operator_takes_any_argument_but_needs_a_class_path(tmp_path: Path) -> None:
    ok = Task("c", "custom", {"anything": 1, "goes": [1, 2]}, class_path="pkg.mod.MyOperator")
    no_class = Task("d", "custom", {})
    bad_class = Task("e", "custom", {}, class_path="pkg.1bad")
    found, text = check(tmp_path, Dag("cust", tasks=[ok, no_class, bad_class]))
    assert len(found) == 2
    d = find(found, "needs its class import path")
    assert d.task_id == "d" and d.json_path == "$.tasks[1].class"
    assert find(found, "invalid class import path 'pkg.1bad'").line == line_of(text, '"task_id": "e"')


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ({"retries": "three"}, 'retries: expected an integer, got string "three"'),
        ({"retry_delay": "5m"}, "retry_delay: expected a timedelta (or seconds)"),
        ({"depends_on_past": 1}, "depends_on_past: expected true or false, got integer 1"),
        ({"email": ["a@x", 3]}, "email: expected a string or a list of strings"),
        ({"weight_rule": "heaviest"}, "weight_rule: 'heaviest' is not one of: downstream, upstream, absolute"),
        ({"env": "A=1"}, "env: expected a dict"),
    ],
)
def test_wrong_types(tmp_path: Path, args: dict, fragment: str) -> None:
    found, text = check(tmp_path, Dag("types", tasks=[bash("a", **args)]))
    d = find(found, fragment)
    name = next(iter(args))
    assert d.severity == "error" and d.json_path == f"$.tasks[0].args.{name}"
    assert d.line == line_of(text, f'"{name}"')


def test_xcom_and_code_values_fit_any_type(tmp_path: Path) -> None:
    dag = Dag("late", tasks=[bash("a"), bash("b", retries=CodeExpr("int(os.environ['R'])"), env=XComRef("a"))])
    found, _ = check(tmp_path, Dag(dag.dag_id, tasks=dag.tasks, edges=[]))
    assert [d.severity for d in found] == ["warning"]  # only: Airflow adds the XCom edge a -> b


def test_missing_required_fields(tmp_path: Path) -> None:
    dag = Dag("req", tasks=[Task("a", "BashOperator"), Task("m", "EmailOperator", {"to": "x@y"})])
    found, text = check(tmp_path, dag)
    d = find(found, "BashOperator task 'a' needs bash_command")
    assert d.severity == "error" and d.json_path == "$.tasks[0].args" and d.line == line_of(text, '"task_id": "a"')
    assert "needs subject, html_content (missing required arguments)" in find(found, "EmailOperator").message


def test_required_field_from_default_args_or_expand(tmp_path: Path) -> None:
    dag = Dag(
        "req2",
        args={"default_args": {"bash_command": "echo default"}},
        tasks=[Task("a", "BashOperator"), Task("b", "PythonOperator", expand={"python_callable": [CodeExpr("f")]})],
    )
    found, _ = check(tmp_path, dag)
    assert found == []


def test_required_field_from_group_default_args(tmp_path: Path) -> None:
    dag = Dag(
        "req3",
        groups=[TaskGroup("g", None, {"default_args": {"bash_command": "echo"}})],
        tasks=[Task("g.a", "BashOperator", group_id="g"), Task("b", "BashOperator")],
    )
    found, _ = check(tmp_path, dag)
    assert [d.task_id for d in found] == ["b"]


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ("dummy", "trigger_rule: 'dummy' was renamed in Airflow 3: use 'always'"),
        ("none_failed_or_skipped", "use 'none_failed_min_one_success'"),
        ("all_sucess", "'all_sucess' is not a trigger rule (did you mean 'all_success'?)"),
        ("whenever", "Airflow 3 knows: all_success, all_failed"),
    ],
)
def test_unknown_trigger_rules(tmp_path: Path, rule: str, fragment: str) -> None:
    found, text = check(tmp_path, Dag("tr", tasks=[bash("a", trigger_rule=rule)]))
    d = find(found, fragment)
    assert d.severity == "error" and d.line == line_of(text, '"trigger_rule"')


def test_all_thirteen_trigger_rules_are_valid(tmp_path: Path) -> None:
    from studio.core.trigger_rules import TRIGGER_RULES

    found, _ = check(tmp_path, Dag("rules", tasks=[bash(f"t{i}", trigger_rule=r) for i, r in enumerate(TRIGGER_RULES)]))
    assert len(TRIGGER_RULES) == 13 and found == []


def test_unknown_dag_argument(tmp_path: Path) -> None:
    found, text = check(tmp_path, Dag("d", args={"max_active_run": 3, "deadline": CodeExpr("x")}, tasks=[bash("a")]))
    d = find(found, "unknown DAG argument 'max_active_run'")
    assert "did you mean 'max_active_runs'" in d.message and d.severity == "error"
    assert d.json_path == "$.args.max_active_run" and d.line == line_of(text, '"max_active_run"')


def test_airflow2_only_dag_arguments_depend_on_the_target() -> None:
    dag = Dag("old", args={"concurrency": 4, "schedule_interval": "@daily"}, tasks=[bash("a")])
    found = validate_dag(dag)
    assert "Airflow 3 removed the argument 'concurrency'; use 'max_active_tasks'" in find(found, "concurrency").message
    assert find(found, "schedule_interval").severity == "error"
    assert validate_dag(dag, target="airflow2") == []


def test_dag_argument_types(tmp_path: Path) -> None:
    dag = Dag("dt", args={"max_active_runs": "x", "catchup": "yes", "tags": "abc"}, tasks=[bash("a")])
    found, _ = check(tmp_path, dag)
    assert find(found, "max_active_runs: expected an integer").severity == "error"
    assert find(found, "catchup: expected true or false").severity == "error"
    assert find(found, "tags: expected a list").severity == "error"


def test_default_args(tmp_path: Path) -> None:
    dag = Dag(
        "da",
        args={"default_args": {"retries": "2", "retrys": 1, "aws_conn_id": "aws", "trigger_rule": "dummy"}},
        tasks=[bash("a")],
    )
    found, text = check(tmp_path, dag)
    w = find(found, "default_args key 'retrys' is not an argument of any task")
    assert w.severity == "warning" and "did you mean 'retries'" in w.message and "Airflow ignores it" in w.message
    assert w.json_path == "$.args.default_args" and w.line == line_of(text, '"default_args"')
    assert find(found, "default_args['retries']: expected an integer").severity == "error"
    assert find(found, "default_args['trigger_rule']: 'dummy' was renamed").severity == "error"
    assert len(found) == 3  # aws_conn_id is an operator field: fine in default_args


def test_default_args_with_custom_operators_are_not_second_guessed(tmp_path: Path) -> None:
    dag = Dag("dc", args={"default_args": {"my_conn": "x"}}, tasks=[Task("c", "custom", class_path="m.Op")])
    found, _ = check(tmp_path, dag)
    assert found == []


def test_unknown_group_argument(tmp_path: Path) -> None:
    dag = Dag("ga", groups=[TaskGroup("g", None, {"tooltp": "x"})], tasks=[bash("g.a", "g")])
    found, _ = check(tmp_path, dag)
    assert "did you mean 'tooltip'" in find(found, "unknown TaskGroup argument 'tooltp'").message


def test_callables_must_be_defined_in_the_module_code(tmp_path: Path) -> None:
    dag = Dag(
        "calls",
        args={"on_failure_callback": CallableRef("alert"), "default_args": {"on_retry_callback": CallableRef("os")}},
        tasks=[py("a"), py("b", "imported_fn"), py("c", "missing_fn"), py("d", "print")],
        module_code=CODE,
    )
    found, text = check(tmp_path, dag)
    assert len(found) == 2
    d = find(found, "function 'missing_fn' is not defined in the DAG's module code (dags/calls.py)")
    assert d.severity == "error" and d.task_id == "c"
    assert d.json_path == "$.tasks[2].args.python_callable"
    assert d.line == line_of(text, '"missing_fn"')
    assert find(found, "'alert'").json_path == "$.args.on_failure_callback"


def test_syntax_error_in_module_code_names_the_module_file_and_line(tmp_path: Path) -> None:
    dag = Dag("broken", tasks=[py("a")], module_code="def work():\n    return 1\n\n\ndef oops(:\n    pass\n")
    found, _ = check(tmp_path, dag)
    d = find(found, "syntax error in the module code")
    assert (d.file, d.line, d.severity) == ("dags/broken.py", 5, "error")
    assert not [x for x in found if "not defined" in x.message]  # no cascade of missing names


def test_taskflow_function_with_two_decorators(tmp_path: Path) -> None:
    dag = Dag(
        "tf",
        tasks=[py("a", operator="@task"), py("b", operator="@task"), py("c", operator="@task.branch")],
        module_code=CODE,
    )
    found, text = check(tmp_path, dag)
    d = find(found, "share function 'work' with different decorators")
    assert d.task_id == "c" and d.json_path == "$.tasks[2].operator" and d.line == line_of(text, '"task_id": "c"')
    assert len(found) == 1  # a and b share @task: fine (the generator uses .override)


def test_expand_keys_of_operators(tmp_path: Path) -> None:
    dag = Dag(
        "map",
        tasks=[
            Task("a", "BashOperator", expand={"bash_command": ["x", "y"], "colour": ["r"]}),
            Task("b", "BashOperator", expand={"bash_command": "not a list"}),
            Task("c", "BashOperator", {"bash_command": "x"}, expand={"bash_command": ["y"]}),
            Task("d", "BashOperator", expand={"bash_command": XComRef("a")}, expand_kwargs=None),
        ],
        edges=[],
    )
    found, text = check(tmp_path, dag)
    d = find(found, "BashOperator.expand() got an unexpected keyword argument 'colour'")
    assert d.json_path == "$.tasks[0].expand" and d.line == line_of(text, '"expand"')
    assert find(found, "expand(bash_command=...) needs a list, a dict or an XCom reference").task_id == "b"
    assert find(found, "is both a partial() and an expand() argument").task_id == "c"
    assert not [x for x in found if x.task_id == "d" and x.severity == "error"]


def test_expand_keys_of_taskflow_tasks_are_function_parameters(tmp_path: Path) -> None:
    dag = Dag(
        "tfmap",
        tasks=[
            py("a", operator="@task", **{}),
            Task("b", "@task", {"python_callable": CallableRef("work")}, expand={"x": [1, 2], "z": [3]}),
            Task("c", "@task", {"python_callable": CallableRef("other")}, expand={"anything": [1]}),
        ],
        module_code=CODE,
    )
    found, _ = check(tmp_path, dag)
    d = find(found, "expand() got an unexpected keyword argument 'z'")
    assert "its function's parameters" in d.message and d.task_id == "b"
    assert len(found) == 1  # 'other' takes **kwargs


def test_expand_kwargs_must_be_a_list_or_xcom() -> None:
    dag = Dag("ek", tasks=[Task("a", "BashOperator", expand_kwargs={"bash_command": "x"})])
    assert find(validate_dag(dag), "expand_kwargs() needs a list of dicts").severity == "error"


def test_sensor_fields_accept_seconds_or_timedelta(tmp_path: Path) -> None:
    sensor = Task("s", "FileSensor", {"filepath": "/x", "poke_interval": 30, "timeout": dt.timedelta(hours=1)})
    found, _ = check(tmp_path, Dag("sens", tasks=[sensor]))
    assert found == []


def test_nul_byte_in_module_code_is_located() -> None:
    dag = Dag("nul", tasks=[py("a")], module_code="def work():\n    return 1\n\x00\n")
    d = find(validate_dag(dag), "null bytes")
    assert (d.line, d.severity) == (3, "error")


def test_secret_written_as_literal_is_a_warning():
    from studio.core.model import Dag, Task
    from studio.core.validation import validate_dag

    def messages(env):
        task = Task("run", "DockerOperator", {"image": "alpine", "private_environment": env})
        return [d for d in validate_dag(Dag("d", tasks=[task])) if "secret" in d.message]

    (diag,) = messages({"TOKEN": "s3cr3t"})
    assert diag.severity == "warning"
    assert "private_environment" in diag.message
    assert messages({"TOKEN": "{{ var.value.token }}"}) == []
