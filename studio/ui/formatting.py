"""Short, user-facing text for model values and DAG facts, as the panels show them.

Pure functions without Qt, so the wording is easy to test: a schedule reads ``@daily`` or
``every 1 h 30 min``, a start date ``2024-01-01 (Europe/Amsterdam)``, a task's trigger rule is the one
that applies (its own, else the DAG's ``default_args``, else Airflow's default ``all_success``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from studio.core.model import Dag, Task
from studio.core.trigger_rules import DEFAULT_TRIGGER_RULE
from studio.core.values import CallableRef, CodeExpr, DateTime, ParamValue, XComRef

_UNITS = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))


def describe_timedelta(value: dt.timedelta) -> str:
    """``1 h 30 min``, ``2 d``, ``0.5 s``: the largest whole units, at most seconds."""
    seconds = value.total_seconds()
    if seconds == 0:
        return "0 s"
    sign = "-" if seconds < 0 else ""
    rest = abs(seconds)
    parts = []
    for unit, size in _UNITS:
        count = int(rest // size)
        if count:
            parts.append(f"{count} {unit}")
            rest -= count * size
    if rest:
        parts.append(f"{round(rest, 6):g} s")
    return sign + " ".join(parts)


def describe_datetime(value: DateTime) -> str:
    """``2024-01-01`` or ``2024-01-01 06:30`` plus the zone (``UTC`` when the model leaves it open)."""
    stamp = value.value
    if stamp.time() == dt.time(0, 0):
        text = stamp.date().isoformat()
    elif stamp.second == 0 and stamp.microsecond == 0:
        text = stamp.strftime("%Y-%m-%d %H:%M")
    else:
        text = stamp.isoformat(sep=" ")
    return f"{text} ({value.tz or 'UTC'})"


def describe_value(value: Any) -> str:
    """One line for any model value (long values are shortened with an ellipsis)."""
    if isinstance(value, bool) or value is None:
        text = str(value)
    elif isinstance(value, dt.timedelta):
        text = describe_timedelta(value)
    elif isinstance(value, DateTime):
        text = describe_datetime(value)
    elif isinstance(value, CallableRef):
        text = f"{value.name}()"
    elif isinstance(value, XComRef):
        text = f"XCom of {value.task_id}" + (f" [{value.key}]" if value.key != "return_value" else "")
    elif isinstance(value, ParamValue):
        text = f"Param({describe_value(value.default)})" if value.has_default else "Param()"
    elif isinstance(value, CodeExpr):
        text = " ".join(value.source.split())
    elif isinstance(value, (list, tuple)):
        text = "[" + ", ".join(describe_value(v) for v in value) + "]"
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k}: {describe_value(v)}" for k, v in value.items()) + "}"
    else:
        text = str(value)
    return text if len(text) <= 80 else text[:79] + "…"


def describe_schedule(dag: Dag) -> str:
    """The DAG's schedule: a preset or cron as written, ``every …`` for a timedelta, ``None`` (manual only)."""
    if "schedule" not in dag.args:
        return "None"
    value = dag.args["schedule"]
    if isinstance(value, dt.timedelta):
        return "every " + describe_timedelta(value)
    return describe_value(value)


def effective_trigger_rule(dag: Dag, task: Task) -> tuple[str, str]:
    """(trigger rule, where it comes from: ``"task"``, ``"default_args"`` or ``"default"``)."""
    if "trigger_rule" in task.args:
        return describe_value(task.args["trigger_rule"]), "task"
    defaults = dag.args.get("default_args")
    if isinstance(defaults, dict) and "trigger_rule" in defaults:
        return describe_value(defaults["trigger_rule"]), "default_args"
    return DEFAULT_TRIGGER_RULE, "default"


def describe_operator(task: Task) -> str:
    """The operator as a user knows it: ``BashOperator``, ``@task.branch``, or a custom class's name."""
    name = task.class_path.rsplit(".", 1)[-1] if task.operator == "custom" and task.class_path else task.operator
    return name + " (mapped)" if task.is_mapped else name


def dag_summary(dag: Dag) -> str:
    """``@daily · from 2024-01-01 (UTC) · 7 tasks``: what the header above the task table says."""
    parts = [f"schedule {describe_schedule(dag)}"]
    start = dag.args.get("start_date")
    if start is None and isinstance(dag.args.get("default_args"), dict):
        start = dag.args["default_args"].get("start_date")
    if start is not None:
        parts.append(f"from {describe_value(start)}")
    count = len(dag.tasks)
    parts.append(f"{count} task" + ("" if count == 1 else "s"))
    return " · ".join(parts)
