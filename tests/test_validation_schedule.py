"""Validation of schedules, start/end dates, time zones, catchup, @continuous, params and tags."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from studio.core.model import Dag
from studio.core.validation import validate_dag
from studio.core.validation_schedule import schedule_problem, timezone_problem
from studio.core.values import CodeExpr, DateTime, ParamValue
from tests.test_validation import bash, check, find, line_of

START = DateTime(dt.datetime(2024, 1, 1), "Europe/Amsterdam")


def dag_with(**args: object) -> Dag:
    return Dag("sched", args=dict(args), tasks=[bash("a")])


@pytest.mark.parametrize(
    "schedule",
    [
        None,
        "@once",
        "@continuous",
        "@hourly",
        "@daily",
        "@weekly",
        "@monthly",
        "@quarterly",
        "@yearly",
        "@annually",
        "*/5 * * * *",
        "0 6 * * MON-FRI",
        "0 0 * * * *",  # croniter (and so Airflow) accepts a sixth column
        dt.timedelta(hours=6),
        CodeExpr("[Asset('s3://bucket/key')]"),
        [CodeExpr("ORDERS"), CodeExpr("Asset('s3://lake/customers')")],
    ],
)
def test_schedules_airflow_accepts(schedule: object) -> None:
    assert schedule_problem(schedule) is None


@pytest.mark.parametrize(
    ("schedule", "fragment"),
    [
        ("0 25 * * *", "invalid cron expression '0 25 * * *'"),
        ("every day", "invalid cron expression 'every day'"),
        ("@minutely", "unknown schedule preset '@minutely' (Airflow knows: @once, @continuous, @hourly"),
        ("@reboot", "unknown schedule preset '@reboot'"),
        (dt.timedelta(0), "schedule interval must be positive"),
        (dt.timedelta(minutes=-5), "schedule interval must be positive"),
        (5, "schedule must be a cron expression, a preset such as @daily, a timedelta or None, got int 5"),
        (["@daily"], "all elements of a schedule list must be assets"),
        ({"a": 1}, "got dict"),
    ],
)
def test_schedules_airflow_refuses(tmp_path: Path, schedule: object, fragment: str) -> None:
    found, text = check(tmp_path, dag_with(schedule=schedule, start_date=START))
    d = find(found, fragment)
    assert d.severity == "error" and d.json_path == "$.args.schedule"
    assert d.line == line_of(text, '"schedule"')


def test_schedule_without_start_date_loads_in_airflow_3(tmp_path: Path) -> None:
    found, text = check(tmp_path, dag_with(schedule="@daily"))
    d = find(found, "without a start_date")
    assert d.severity == "warning" and d.line == line_of(text, '"schedule"')


def test_catchup_without_start_date_is_refused(tmp_path: Path) -> None:
    found, text = check(tmp_path, dag_with(schedule="@daily", catchup=True))
    d = find(found, "catchup=True needs a start_date")
    assert d.severity == "error" and d.json_path == "$.args.catchup" and d.line == line_of(text, '"catchup"')


def test_start_date_in_default_args_counts() -> None:
    assert validate_dag(dag_with(schedule="@daily", catchup=True, default_args={"start_date": START})) == []


def test_no_schedule_needs_no_start_date() -> None:
    assert validate_dag(dag_with()) == []
    assert validate_dag(dag_with(schedule=None, catchup=True)) == []


def test_unknown_time_zones(tmp_path: Path) -> None:
    bad = DateTime(dt.datetime(2024, 1, 1), "Mars/Olympus_Mons")
    found, text = check(tmp_path, dag_with(schedule="@daily", start_date=bad))
    d = find(found, "unknown time zone 'Mars/Olympus_Mons'")
    assert d.severity == "error" and d.json_path == "$.args.start_date" and d.line == line_of(text, '"start_date"')
    nested = dag_with(default_args={"end_date": DateTime(dt.datetime(2024, 1, 1), "Nowhere/X")})
    assert find(validate_dag(nested), "'Nowhere/X'").severity == "error"
    assert timezone_problem("UTC") is None and timezone_problem("America/Argentina/Buenos_Aires") is None
    assert timezone_problem("../../etc/passwd") is not None


def test_end_date_before_start_date(tmp_path: Path) -> None:
    # 2023-12-31 23:30 UTC is 00:30 in Amsterdam, half an hour after the start: compared as instants
    end = DateTime(dt.datetime(2023, 12, 31, 23, 30), "UTC")
    found, _ = check(tmp_path, dag_with(schedule="@daily", start_date=START, end_date=end))
    assert not [d for d in found if "before" in d.message]
    end = DateTime(dt.datetime(2023, 6, 1), "UTC")
    found, text = check(tmp_path, dag_with(schedule="@daily", start_date=START, end_date=end))
    d = find(found, "end_date 2023-06-01T00:00:00 is before start_date 2024-01-01T00:00:00")
    assert d.severity == "warning" and d.line == line_of(text, '"end_date"')


def test_dates_must_be_datetimes(tmp_path: Path) -> None:
    found, _ = check(tmp_path, dag_with(schedule="@daily", start_date="2024-01-01"))
    assert find(found, "start_date: expected a datetime").severity == "error"


def test_continuous_needs_max_active_runs_1(tmp_path: Path) -> None:
    found, text = check(tmp_path, dag_with(schedule="@continuous", start_date=START))
    d = find(found, "'@continuous' needs max_active_runs=1 (got the default 16)")
    assert d.severity == "error" and d.line == line_of(text, '"schedule"')
    found, text = check(tmp_path, dag_with(schedule="@continuous", start_date=START, max_active_runs=3))
    assert find(found, "(got 3)").line == line_of(text, '"max_active_runs"')
    assert validate_dag(dag_with(schedule="@continuous", start_date=START, max_active_runs=1)) == []


def test_scheduled_dag_with_a_param_without_default(tmp_path: Path) -> None:
    params = {"limit": ParamValue(10, {"type": "integer"}), "who": ParamValue(None, {"type": "string"}, False)}
    found, _ = check(tmp_path, dag_with(schedule="@daily", start_date=START, params=params))
    assert find(found, "param 'who' has no default").severity == "error"
    assert validate_dag(dag_with(params=params)) == []  # manual DAGs may require params


def test_tags(tmp_path: Path) -> None:
    found, _ = check(tmp_path, dag_with(tags=["ok", "x" * 101, 7]))
    assert find(found, "is 101 characters long; Airflow allows at most 100").severity == "error"
    assert find(found, "tags must be strings, got int 7").severity == "error"
