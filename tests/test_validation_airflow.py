"""Validation severities against real Apache Airflow 3.3.2: an error exactly when DagBag refuses the file.

Each case is one hand-written Airflow file and the same DAG built with the model API. Airflow loads all
files in one DagBag; a case with a validation error must be an import error, a case with only
warnings must load (and still get its warning).
"""

from __future__ import annotations

import datetime as dt

import pytest

from studio.core.diagnostics import has_errors
from studio.core.model import Dag, Edge, Task, TaskGroup
from studio.core.validation import validate_dag
from studio.core.values import DateTime, ParamValue

HEAD = """import pendulum
from datetime import timedelta
from airflow.sdk import DAG, Param, TaskGroup
from airflow.providers.standard.operators.bash import BashOperator
"""
START = DateTime(dt.datetime(2024, 1, 1), "UTC")
START_PY = 'pendulum.datetime(2024, 1, 1, tz="UTC")'


def bash(task_id: str, **args: object) -> Task:
    return Task(task_id, "BashOperator", {"bash_command": "echo", **args})


def case(dag_args: str, body: str) -> str:
    return f'{HEAD}\nwith DAG("{{dag_id}}", {dag_args}):\n' + "".join(f"    {line}\n" for line in body.splitlines())


# name -> (model DAG, Airflow source, fragment of the expected message or None for a clean DAG)
CASES: dict[str, tuple[Dag, str, str | None]] = {
    "ok": (
        Dag("ok", {"schedule": "@daily", "start_date": START}, [bash("a"), bash("b")], edges=[Edge("a", "b")]),
        case(
            f'schedule="@daily", start_date={START_PY}',
            'a = BashOperator(task_id="a", bash_command="echo")\n'
            'b = BashOperator(task_id="b", bash_command="echo")\na >> b',
        ),
        None,
    ),
    "cycle": (
        Dag("cycle", {}, [bash("a"), bash("b")], edges=[Edge("a", "b"), Edge("b", "a")]),
        case(
            "schedule=None",
            'a = BashOperator(task_id="a", bash_command="echo")\n'
            'b = BashOperator(task_id="b", bash_command="echo")\na >> b >> a',
        ),
        "cycle: a -> b -> a",
    ),
    "duplicate_task": (
        Dag("duplicate_task", {}, [bash("a"), bash("a")]),
        case(
            "schedule=None",
            'BashOperator(task_id="a", bash_command="echo")\nBashOperator(task_id="a", bash_command="echo")',
        ),
        "is used by 2 tasks",
    ),
    "bad_task_id": (
        Dag("bad_task_id", {}, [bash("a b")]),
        case("schedule=None", 'BashOperator(task_id="a b", bash_command="echo")'),
        "invalid task_id",
    ),
    "long_task_id": (
        Dag("long_task_id", {}, [bash("x" * 251)]),
        case("schedule=None", f'BashOperator(task_id="{"x" * 251}", bash_command="echo")'),
        "at most 250",
    ),
    "bad_group_id": (
        Dag(
            "bad_group_id",
            {},
            [Task("a", "BashOperator", {"bash_command": "echo"}, group_id="g.x")],
            groups=[TaskGroup("g.x", None, {"prefix_group_id": False})],
        ),
        case(
            "schedule=None",
            'with TaskGroup("g.x", prefix_group_id=False):\n    BashOperator(task_id="a", bash_command="echo")',
        ),
        "invalid group_id",
    ),
    "unknown_field": (
        Dag("unknown_field", {}, [bash("a", nonsense=3)]),
        case("schedule=None", 'BashOperator(task_id="a", bash_command="echo", nonsense=3)'),
        "unknown argument 'nonsense'",
    ),
    "missing_required": (
        Dag("missing_required", {}, [Task("a", "BashOperator")]),
        case("schedule=None", 'BashOperator(task_id="a")'),
        "needs bash_command",
    ),
    "wrong_type": (
        Dag("wrong_type", {}, [bash("a", retries="three")]),
        case("schedule=None", 'BashOperator(task_id="a", bash_command="echo", retries="three")'),
        "retries: expected an integer",
    ),
    "bad_cron": (
        Dag("bad_cron", {"schedule": "0 25 * * *", "start_date": START}, [bash("a")]),
        case(f'schedule="0 25 * * *", start_date={START_PY}', 'BashOperator(task_id="a", bash_command="echo")'),
        "invalid cron expression",
    ),
    "bad_preset": (
        Dag("bad_preset", {"schedule": "@minutely", "start_date": START}, [bash("a")]),
        case(f'schedule="@minutely", start_date={START_PY}', 'BashOperator(task_id="a", bash_command="echo")'),
        "unknown schedule preset",
    ),
    "renamed_rule": (
        Dag("renamed_rule", {}, [bash("a", trigger_rule="none_failed_or_skipped")]),
        case("schedule=None", 'BashOperator(task_id="a", bash_command="echo", trigger_rule="none_failed_or_skipped")'),
        "was renamed in Airflow 3",
    ),
    "unknown_dag_arg": (
        Dag("unknown_dag_arg", {"foo": 1}, [bash("a")]),
        case("schedule=None, foo=1", 'BashOperator(task_id="a", bash_command="echo")'),
        "unknown DAG argument 'foo'",
    ),
    "catchup_no_start": (
        Dag("catchup_no_start", {"schedule": "@daily", "catchup": True}, [bash("a")]),
        case('schedule="@daily", catchup=True', 'BashOperator(task_id="a", bash_command="echo")'),
        "catchup=True needs a start_date",
    ),
    "no_start": (
        Dag("no_start", {"schedule": "0 * * * *"}, [bash("a")]),
        case('schedule="0 * * * *"', 'BashOperator(task_id="a", bash_command="echo")'),
        "without a start_date",
    ),
    "end_before_start": (
        Dag(
            "end_before_start",
            {"schedule": "@daily", "start_date": START, "end_date": DateTime(dt.datetime(2023, 1, 1), "UTC")},
            [bash("a")],
        ),
        case(
            f'schedule="@daily", start_date={START_PY}, end_date=pendulum.datetime(2023, 1, 1, tz="UTC")',
            'BashOperator(task_id="a", bash_command="echo")',
        ),
        "is before start_date",
    ),
    "default_args_unknown": (
        Dag("default_args_unknown", {"default_args": {"retrys": 2}}, [bash("a")]),
        case('schedule=None, default_args={"retrys": 2}', 'BashOperator(task_id="a", bash_command="echo")'),
        "default_args key 'retrys'",
    ),
    "bad_timezone": (
        Dag(
            "bad_timezone",
            {"schedule": "@daily", "start_date": DateTime(dt.datetime(2024, 1, 1), "Mars/X")},
            [bash("a")],
        ),
        case(
            'schedule="@daily", start_date=pendulum.datetime(2024, 1, 1, tz="Mars/X")',
            'BashOperator(task_id="a", bash_command="echo")',
        ),
        "unknown time zone",
    ),
    "continuous": (
        Dag("continuous", {"schedule": "@continuous", "start_date": START}, [bash("a")]),
        case(f'schedule="@continuous", start_date={START_PY}', 'BashOperator(task_id="a", bash_command="echo")'),
        "needs max_active_runs=1",
    ),
    "bad_expand": (
        Dag("bad_expand", {}, [Task("a", "BashOperator", expand={"colour": ["r"]})]),
        case("schedule=None", 'BashOperator.partial(task_id="a").expand(colour=["r"])'),
        "unexpected keyword argument 'colour'",
    ),
    "param_without_default": (
        Dag(
            "param_without_default",
            {"schedule": "@daily", "start_date": START, "params": {"who": ParamValue(None, {"type": "string"}, False)}},
            [bash("a")],
        ),
        case(
            f'schedule="@daily", start_date={START_PY}, params={{"who": Param(type="string")}}',
            'BashOperator(task_id="a", bash_command="echo")',
        ),
        "has no default",
    ),
    "nested_flat_group": (
        Dag(
            "nested_flat_group",
            {},
            [
                Task("outer.first", "BashOperator", {"bash_command": "echo"}, group_id="outer"),
                Task("c", "BashOperator", {"bash_command": "echo"}, group_id="outer.flat"),
                Task("deep.d", "BashOperator", {"bash_command": "echo"}, group_id="deep"),
            ],
            groups=[
                TaskGroup("outer"),
                TaskGroup("outer.flat", "outer", {"prefix_group_id": False}),
                TaskGroup("deep", "outer.flat"),
            ],
        ),
        case(
            "schedule=None",
            'with TaskGroup("outer"):\n'
            '    BashOperator(task_id="first", bash_command="echo")\n'
            '    with TaskGroup("flat", prefix_group_id=False):\n'
            '        BashOperator(task_id="c", bash_command="echo")\n'
            '        with TaskGroup("deep"):\n'
            '            BashOperator(task_id="d", bash_command="echo")',
        ),
        None,
    ),
    "long_tag": (
        Dag("long_tag", {"tags": ["t" * 101]}, [bash("a")]),
        case(f'schedule=None, tags=["{"t" * 101}"]', 'BashOperator(task_id="a", bash_command="echo")'),
        "at most 100",
    ),
}


@pytest.fixture(scope="module")
def dagbag(airflow_oracle, tmp_path_factory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("validation_cases")
    for name, (_, source, _) in CASES.items():
        (folder / f"{name}.py").write_text(source.replace("{dag_id}", name))
    return folder, airflow_oracle(folder)


@pytest.mark.airflow
@pytest.mark.parametrize("name", list(CASES))
def test_validation_agrees_with_airflow(name: str, dagbag) -> None:  # type: ignore[no-untyped-def]
    folder, bag = dagbag
    dag, _, fragment = CASES[name]
    found = validate_dag(dag)
    refused = str(folder / f"{name}.py") in bag["import_errors"]
    assert has_errors(found) == refused, (
        name,
        [str(d) for d in found],
        bag["import_errors"].get(str(folder / f"{name}.py")),
    )
    if fragment is None:
        assert found == [] and name in bag["dags"]
        assert sorted(bag["dags"][name]["tasks"]) == sorted(dag.task_ids)  # the ids the model predicts
    else:
        assert any(fragment in d.message for d in found), [str(d) for d in found]
    if not refused:
        assert name in bag["dags"]
