"""Validation of when a DAG runs: schedule, start/end dates, time zones, catchup, params.

Severities follow what Apache Airflow 3.3.2 does when it parses the DAG file (checked against the real
``DagBag``): an invalid cron expression or preset, a non-positive timedelta, an unknown time zone,
``catchup=True`` without a start date, ``@continuous`` with ``max_active_runs`` other than 1, a tag longer
than 100 characters and a param without a default on a scheduled DAG make Airflow refuse the file
(errors). A schedule without any start date and an end date before the start date load fine (warnings).
"""

from __future__ import annotations

import datetime as _dt
import zoneinfo
from typing import Any

from studio.core.validation_context import Reporter, walk_values
from studio.core.values import CodeExpr, DateTime, ParamValue

# airflow/sdk/definitions/timetables/_cron.py: CRON_PRESETS, plus the two presets that are not cron.
CRON_PRESETS: dict[str, str] = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
}
SPECIAL_SCHEDULES = ("@once", "@continuous")
KNOWN_PRESETS = (*SPECIAL_SCHEDULES, *CRON_PRESETS, "@annually")
TAG_MAX_LENGTH = 100


def schedule_problem(schedule: Any) -> str | None:
    """Why Airflow refuses ``schedule`` (a model value), or None when it accepts it or cannot be checked."""
    if schedule is None or isinstance(schedule, CodeExpr):
        return None
    if isinstance(schedule, _dt.timedelta):
        return None if schedule > _dt.timedelta(0) else f"schedule interval must be positive, not {schedule}"
    if isinstance(schedule, (list, tuple)):  # assets; the model keeps each Asset(...) as code
        if all(isinstance(item, CodeExpr) for item in schedule):
            return None
        return "all elements of a schedule list must be assets (Asset(...), asset references or aliases)"
    if not isinstance(schedule, str):
        return (
            f"schedule must be a cron expression, a preset such as @daily, a timedelta or None, "
            f"got {type(schedule).__name__} {schedule!r}"[:200]
        )
    if schedule in SPECIAL_SCHEDULES:
        return None
    expression = CRON_PRESETS.get(schedule, schedule)
    from croniter import croniter  # Airflow validates cron schedules with croniter, so do we

    try:
        croniter(expression)
    except Exception as exc:  # croniter raises several exception types for malformed expressions
        if schedule.strip().startswith("@"):
            return f"unknown schedule preset {schedule!r} (Airflow knows: {', '.join(KNOWN_PRESETS)})"
        return f"invalid cron expression {schedule!r}: {exc}"
    return None


def timezone_problem(tz: str) -> str | None:
    """Why ``tz`` is not a time zone pendulum can load, or None."""
    if tz == "local":  # pendulum's name for the machine's zone
        return None
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return f"unknown time zone {tz!r} (use an IANA name such as 'UTC' or 'Europe/Amsterdam')"
    return None


def _aware(value: DateTime) -> _dt.datetime | None:
    if value.tz is None:
        return value.value.replace(tzinfo=_dt.UTC)
    if timezone_problem(value.tz) or value.tz == "local":
        return None
    return value.value.replace(tzinfo=zoneinfo.ZoneInfo(value.tz))


def _dag_date(r: Reporter, name: str) -> tuple[Any, str]:
    """The DAG's ``start_date``/``end_date`` and its SourceMap key (a DAG arg first, else default_args)."""
    if r.dag.args.get(name) is not None:
        return r.dag.args[name], f"dag.args.{name}"
    default_args = r.dag.args.get("default_args")
    if isinstance(default_args, dict) and default_args.get(name) is not None:
        return default_args[name], "dag.args.default_args"
    return None, f"dag.args.{name}"


def check_timezones(r: Reporter, values: list[tuple[str, str | None, Any]]) -> None:
    """Every datetime anywhere in the DAG must name a time zone that exists."""
    for key, task_id, value in values:
        for item in walk_values(value):
            if isinstance(item, DateTime) and item.tz is not None:
                problem = timezone_problem(item.tz)
                if problem:
                    r.error(
                        key,
                        problem + " — pendulum raises InvalidTimezone and Airflow refuses the file",
                        task_id=task_id,
                    )


def check_schedule(r: Reporter) -> None:
    """Schedule value, start/end dates, catchup, @continuous, params of scheduled DAGs, tags."""
    args = r.dag.args
    schedule = args.get("schedule")
    problem = schedule_problem(schedule)
    if problem:
        r.error("dag.args.schedule", problem)
    schedulable = isinstance(schedule, (str, _dt.timedelta)) and problem is None  # time-based schedules
    start, _start_key = _dag_date(r, "start_date")
    end, end_key = _dag_date(r, "end_date")

    if schedulable and start is None:
        if args.get("catchup") is True:
            r.error(
                "dag.args.catchup",
                "catchup=True needs a start_date (on the DAG or in default_args); "
                "Airflow refuses the DAG: 'start_date is required when catchup=True'",
            )
        else:
            r.warning(
                "dag.args.schedule",
                f"schedule {_shown(schedule)} without a start_date: Airflow 3 loads the "
                "DAG and schedules it from the time it first parses it; set start_date (on the DAG or "
                "in default_args) to fix the first logical date",
            )
    if isinstance(start, DateTime) and isinstance(end, DateTime):
        a, b = _aware(start), _aware(end)
        if a is not None and b is not None and b < a:
            r.warning(
                end_key,
                f"end_date {end.iso()} is before start_date {start.iso()}: "
                "Airflow loads the DAG but never schedules a run",
            )

    if schedule == "@continuous":
        runs = args.get("max_active_runs")
        if runs != 1 and not isinstance(runs, CodeExpr):
            shown = "the default 16" if runs is None else repr(runs)
            r.error(
                "dag.args.max_active_runs" if "max_active_runs" in args else "dag.args.schedule",
                f"schedule '@continuous' needs max_active_runs=1 (got {shown}); Airflow refuses the DAG",
            )

    params = args.get("params")
    if schedulable and isinstance(params, dict):
        for name, param in params.items():
            if isinstance(param, ParamValue) and not param.has_default:
                r.error(
                    "dag.args.params",
                    f"param {name!r} has no default: Airflow refuses a schedule when a "
                    "required param has no default value (set a default or schedule=None)",
                )

    tags = args.get("tags")
    if isinstance(tags, (list, tuple)):
        for tag in tags:
            if isinstance(tag, CodeExpr):
                continue
            if not isinstance(tag, str):
                r.error("dag.args.tags", f"tags must be strings, got {type(tag).__name__} {tag!r}"[:200])
            elif len(tag) > TAG_MAX_LENGTH:
                r.error(
                    "dag.args.tags",
                    f"tag {tag[:30]!r}... is {len(tag)} characters long; Airflow allows at most {TAG_MAX_LENGTH}",
                )


def _shown(schedule: Any) -> str:
    return repr(schedule) if isinstance(schedule, str) else str(schedule)
