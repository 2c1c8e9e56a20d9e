"""``describe_dag(dag)``: the JSON-safe DAG description the engine schedules from (docs/ENGINE.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from studio.sdk.assets import describe_schedule
from studio.sdk.dag import DAG
from studio.sdk.mapped import MappedOperator
from studio.sdk.operators import BranchMixIn, ShortCircuitOperator, SkipMixin
from studio.sdk.sensors import BaseSensorOperator
from studio.sdk.templating import json_safe
from studio.sdk.timetables import Timetable, timezone_name
from studio.sdk.xcom_arg import XComArg, find_xcom_args, mapped_task_groups


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _timezone_name(tz: Any) -> str:
    name = getattr(tz, "name", None) or getattr(tz, "key", None) or getattr(tz, "zone", None)
    if name:
        return str(name)
    if tz is dt.UTC:
        return "UTC"
    return str(tz)


def _sensor(task: Any) -> dict[str, Any] | None:
    cls = task.operator_class if isinstance(task, MappedOperator) else type(task)
    if not issubclass(cls, BaseSensorOperator):
        return None
    get = (
        (lambda n, d: task.probe_kwargs.get(n, d))
        if isinstance(task, MappedOperator)
        else (lambda n, d: getattr(task, n, d))
    )
    max_wait = _seconds(get("max_wait", None))
    timeout = get("timeout", None)
    return {
        "mode": get("mode", "poke"),
        "poke_interval": _seconds(get("poke_interval", 60)),
        "timeout": _seconds(timeout) if timeout is not None else 7 * 24 * 3600.0,
        "soft_fail": bool(get("soft_fail", False)),
        "exponential_backoff": bool(get("exponential_backoff", False)),
        "max_wait": max_wait,
    }


def _map_sources(task: MappedOperator) -> list[int | str]:
    """Per expanded argument: its literal length, or the id of the upstream task whose XCom it maps over."""
    values = [task.expand_input] if task.expand_kind == "list_of_dicts" else list(task.expand_input.values())
    return [v.operator.task_id if isinstance(v, XComArg) else len(v) for v in values]


def _map_groups(task: Any) -> list[dict[str, Any]]:
    """The mapped task groups the task is in, innermost first, each with its ``map_sources``."""
    groups = []
    for group in mapped_task_groups(task):
        values = [group.expand_input] if group.expand_kind == "list_of_dicts" else list(group.expand_input.values())
        sources = [v.operator.task_id if isinstance(v, XComArg) else len(v) for v in values]
        groups.append({"group_id": group.group_id, "map_sources": sources})
    return groups


def _can_skip_downstream(task: Any, cls: type) -> bool:
    """Airflow's ``inherits_from_skipmixin`` as its scheduler sees it: a SkipMixin operator, except a
    mapped ``@task.branch``/``@task.short_circuit`` (its serialized flag comes out False)."""
    if isinstance(task, MappedOperator) and task.mapped_into == "op_kwargs":
        return False
    return issubclass(cls, SkipMixin)


def _expand(task: Any) -> dict[str, Any] | None:
    if not isinstance(task, MappedOperator):
        return None
    length = task.literal_length()
    if length is not None:
        return {"kind": "literal", "length": length}
    sources = []
    for arg in find_xcom_args(task.expand_input):
        ref = {"task_id": arg.operator.task_id, "key": arg.key}
        if ref not in sources:
            sources.append(ref)
    first = sources[0] if sources else {"task_id": None, "key": None}
    only_xcom = isinstance(task.expand_input, XComArg) or (
        isinstance(task.expand_input, dict) and len(task.expand_input) == 1 and len(sources) == 1
    )
    return {"kind": "xcom", **first, "sources": sources, "exact": only_xcom}


def priority_weights(dag: DAG, order: list[Any]) -> dict[str, int]:
    """Effective priority weights (weight_rule applied) with one pass per direction over ``order``."""
    down: dict[str, set[str]] = {}
    for task in reversed(order):
        found: set[str] = set()
        for child in task.downstream_task_ids:
            found.add(child)
            found |= down[child]
        down[task.task_id] = found
    up: dict[str, set[str]] = {}
    for task in order:
        found = set()
        for parent in task.upstream_task_ids:
            found.add(parent)
            found |= up[parent]
        up[task.task_id] = found
    own = {t.task_id: int(t.priority_weight) for t in order}
    weights = {}
    for task in order:
        rule = str(getattr(task.weight_rule, "value", task.weight_rule))
        relatives = () if rule == "absolute" else (up if rule == "upstream" else down)[task.task_id]
        weights[task.task_id] = own[task.task_id] + sum(own[t] for t in relatives)
    return weights


def describe_task(task: Any, weight: int | None = None) -> dict[str, Any]:
    cls = task.operator_class if isinstance(task, MappedOperator) else type(task)
    get = getattr
    return {
        "task_id": task.task_id,
        "operator": cls.__name__,
        "upstream": sorted(task.upstream_task_ids),
        "downstream": sorted(task.downstream_task_ids),
        "trigger_rule": str(get(task.trigger_rule, "value", task.trigger_rule)),
        "retries": int(get(task, "retries", 0) or 0),
        "retry_delay": _seconds(get(task, "retry_delay", 300.0)),
        "retry_exponential_backoff": get(task, "retry_exponential_backoff", False),
        "max_retry_delay": _seconds(get(task, "max_retry_delay", None)),
        "execution_timeout": _seconds(get(task, "execution_timeout", None)),
        "priority_weight": int(task.priority_weight_total if weight is None else weight),
        "pool": get(task, "pool", "default_pool") or "default_pool",
        "pool_slots": int(get(task, "pool_slots", 1)),
        "depends_on_past": bool(get(task, "depends_on_past", False)),
        "ignore_first_depends_on_past": bool(get(task, "ignore_first_depends_on_past", False)),
        "wait_for_downstream": bool(get(task, "wait_for_downstream", False)),
        "is_setup": bool(task.is_setup),
        "is_teardown": bool(task.is_teardown),
        "on_failure_fail_dagrun": bool(get(task, "on_failure_fail_dagrun", False)),
        "is_mapped": isinstance(task, MappedOperator),
        "expand": _expand(task),
        "map_sources": _map_sources(task) if isinstance(task, MappedOperator) else None,
        "map_groups": _map_groups(task),
        "can_skip_downstream": _can_skip_downstream(task, cls),
        "group_id": task.task_group.group_id if task.task_group is not None else None,
        "sensor": _sensor(task),
        "branch": issubclass(cls, BranchMixIn),
        "short_circuit": issubclass(cls, ShortCircuitOperator),
        "ignore_downstream_trigger_rules": bool(get(task, "ignore_downstream_trigger_rules", True))
        if issubclass(cls, ShortCircuitOperator)
        else False,
        "has_callbacks": {
            name: bool(get(task, f"on_{name}_callback", None))
            for name in ("execute", "success", "failure", "retry", "skipped")
        },
    }


def _utc(value: Any) -> Any:
    """Airflow's ``convert_to_utc``: naive datetimes are UTC (``[core] default_timezone``)."""
    import pendulum

    if value is None:
        return None
    if isinstance(value, str):
        value = pendulum.parse(value, tz="UTC")
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return pendulum.instance(value.astimezone(dt.UTC))


def time_restriction(dag: Any) -> tuple[Any, Any]:
    """``(earliest, latest)`` in UTC as Airflow's ``SerializedDAG._time_restriction`` computes them, with the
    task dates as ``DAG.add_task`` adjusts them (no earlier than the DAG's start, no later than its end)."""
    start, end = _utc(dag.start_date), _utc(dag.end_date)
    starts, ends = [], []
    for task in dag.tasks:
        own_start, own_end = _utc(getattr(task, "start_date", None)), _utc(getattr(task, "end_date", None))
        task_start = own_start if start is None else (max(own_start, start) if own_start else start)
        task_end = own_end if end is None else (min(own_end, end) if own_end else end)
        if task_start is not None:
            starts.append(task_start)
        if task_end is not None:
            ends.append(task_end)
    if start is not None:
        starts.append(start)
    earliest = min(starts) if starts else None
    latest = end
    if len(ends) == len(dag.tasks):
        if end is not None:
            ends.append(end)
        if ends:
            latest = max(ends)
    return earliest, latest


def describe_timetable(dag: Any) -> dict[str, Any]:
    """The JSON-safe description of ``dag``'s effective timetable (docs/ENGINE.md, "Timetables")."""
    timetable = dag.timetable
    earliest, latest = time_restriction(dag)
    return {
        "kind": timetable.kind or "custom",  # a user's Timetable subclass: not run by the local scheduler
        "class": type(timetable).__name__,
        "flavour": "airflow2" if getattr(dag, "airflow2", False) else "airflow3",
        "explicit": isinstance(dag.schedule, Timetable),
        "timezone": timezone_name(dag.timezone),
        **timetable.describe(),
        "start_date": earliest.isoformat() if earliest is not None else None,
        "end_date": latest.isoformat() if latest is not None else None,
        "catchup": bool(getattr(dag, "catchup", False)),
        "periodic": timetable.periodic,
        "can_be_scheduled": timetable.can_be_scheduled,
        "active_runs_limit": timetable.active_runs_limit,
        "summary": timetable.summary,
    }


def describe_dag(dag: DAG) -> dict[str, Any]:
    """The description of ``dag``: run settings, params and its tasks in topological order."""
    order = dag.topological_sort()
    weights = priority_weights(dag, order)
    params = {}
    for name in dag.params:
        param = dag.params.get_param(name)
        params[name] = {
            "default": json_safe(param.value) if param.has_value else None,
            "schema": json_safe(param.schema),
        }
    return {
        "dag_id": dag.dag_id,
        "fileloc": dag.fileloc,
        "schedule": describe_schedule(dag.schedule),
        "timetable": describe_timetable(dag),
        "start_date": _iso(dag.start_date),
        "timezone": _timezone_name(dag.timezone),
        "max_active_tasks": int(dag.max_active_tasks),
        "max_active_runs": int(getattr(dag, "max_active_runs", 16)),
        "is_paused_upon_creation": getattr(dag, "is_paused_upon_creation", None),
        "dagrun_timeout": _seconds(dag.dagrun_timeout),
        "fail_fast": bool(dag.fail_fast),
        "catchup": bool(getattr(dag, "catchup", False)),
        "params": params,
        "has_callbacks": {"on_success": bool(dag.on_success_callback), "on_failure": bool(dag.on_failure_callback)},
        "tasks": [describe_task(task, weights[task.task_id]) for task in order],
    }
