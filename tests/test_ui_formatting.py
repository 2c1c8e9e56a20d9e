"""The wording the panels use for schedules, dates, operators and trigger rules (pure functions, no Qt)."""

from __future__ import annotations

import datetime as dt

from studio.core.model import Dag, Task
from studio.core.values import CallableRef, CodeExpr, DateTime, ParamValue, XComRef
from studio.ui.formatting import (
    dag_summary,
    describe_operator,
    describe_schedule,
    describe_timedelta,
    describe_value,
    effective_trigger_rule,
)


def test_timedelta_uses_the_largest_whole_units():
    assert describe_timedelta(dt.timedelta(hours=1, minutes=30)) == "1 h 30 min"
    assert describe_timedelta(dt.timedelta(days=2)) == "2 d"
    assert describe_timedelta(dt.timedelta(seconds=90061)) == "1 d 1 h 1 min 1 s"
    assert describe_timedelta(dt.timedelta(milliseconds=500)) == "0.5 s"
    assert describe_timedelta(dt.timedelta(0)) == "0 s"
    assert describe_timedelta(-dt.timedelta(minutes=5)) == "-5 min"


def test_schedules_read_as_written():
    assert describe_schedule(Dag("d", args={"schedule": "@hourly"})) == "@hourly"
    assert describe_schedule(Dag("d", args={"schedule": "0 6 * * 1-5"})) == "0 6 * * 1-5"
    assert describe_schedule(Dag("d", args={"schedule": dt.timedelta(minutes=15)})) == "every 15 min"
    assert describe_schedule(Dag("d", args={"schedule": None})) == "None"
    assert describe_schedule(Dag("d")) == "None"  # Airflow 3's default: manual runs only
    assert describe_schedule(Dag("d", args={"schedule": CodeExpr("Dataset('s3://x')")})) == "Dataset('s3://x')"


def test_values():
    assert describe_value(DateTime(dt.datetime(2024, 1, 1), "Europe/Amsterdam")) == "2024-01-01 (Europe/Amsterdam)"
    assert describe_value(DateTime(dt.datetime(2024, 1, 1, 6, 30))) == "2024-01-01 06:30 (UTC)"
    assert describe_value(CallableRef("train")) == "train()"
    assert describe_value(XComRef("extract")) == "XCom of extract"
    assert describe_value(XComRef("extract", "rows")) == "XCom of extract [rows]"
    assert describe_value(ParamValue(5, {"type": "integer"})) == "Param(5)"
    assert describe_value(CodeExpr("Variable.get(\n  'x')")) == "Variable.get( 'x')"
    assert describe_value([1, "a", None]) == "[1, a, None]"
    assert describe_value({"k": True}) == "{k: True}"
    long = describe_value("x" * 200)
    assert len(long) == 80 and long.endswith("…")


def test_trigger_rule_comes_from_task_then_default_args_then_airflow():
    dag = Dag("d", args={"default_args": {"trigger_rule": "none_failed"}})
    own = Task("a", "EmptyOperator", {"trigger_rule": "all_done"})
    inherited = Task("b", "EmptyOperator", {})
    assert effective_trigger_rule(dag, own) == ("all_done", "task")
    assert effective_trigger_rule(dag, inherited) == ("none_failed", "default_args")
    assert effective_trigger_rule(Dag("e"), inherited) == ("all_success", "default")


def test_operator_names():
    assert describe_operator(Task("a", "BashOperator")) == "BashOperator"
    assert describe_operator(Task("a", "custom", class_path="pkg.ops.MyOperator")) == "MyOperator"
    assert describe_operator(Task("a", "@task", expand={"x": [1, 2]})) == "@task (mapped)"


def test_dag_summary():
    dag = Dag(
        "d",
        args={"schedule": "@daily", "default_args": {"start_date": DateTime(dt.datetime(2024, 3, 1), "UTC")}},
        tasks=[Task("a", "EmptyOperator")],
    )
    assert dag_summary(dag) == "schedule @daily · from 2024-03-01 (UTC) · 1 task"
