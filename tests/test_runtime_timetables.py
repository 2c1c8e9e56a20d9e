"""Timetables: the sdk's description of a DAG's schedule and the pure runtime functions over it.

Expected dates are worked out by hand from Airflow's documented rules (trigger timetables run at the
cron time, data-interval ones at the end of the interval; catchup=False keeps only the latest; DST per
the DAG's time zone); tests/test_runtime_timetables_airflow.py checks the same against Airflow itself."""

from __future__ import annotations

import datetime as dt
import json
import textwrap

import pendulum
import pytest

from studio.runtime.timetables import (
    DataInterval,
    TimeRestriction,
    infer_manual_data_interval,
    next_dagrun_info,
    parse_timezone,
    preview,
    restriction_of,
    run_id,
    validate,
)
from studio.sdk import hook
from studio.sdk.dag import DAG
from studio.sdk.describe import describe_dag, describe_timetable
from studio.sdk.loader import load_dag_file
from studio.sdk.operators import EmptyOperator
from studio.sdk.timetables import CronTriggerTimetable, DeltaDataIntervalTimetable, EventsTimetable

UTC = dt.UTC


def _desc(**kwargs) -> dict:
    with DAG("d", **kwargs) as dag:
        EmptyOperator(task_id="t")
    return json.loads(json.dumps(describe_timetable(dag)))  # JSON-safe, as the fork server sends it


def _at(*args: int, tz: str = "UTC") -> pendulum.DateTime:
    return pendulum.datetime(*args, tz=tz)


def _runs(desc: dict, n: int, now) -> list[tuple[str, str, str]]:
    return [(i.run_after.isoformat(), i.data_interval.start.isoformat(), i.data_interval.end.isoformat())
            for i in preview(desc, n, now)]  # fmt: skip


# --- description ---------------------------------------------------------------------------------


def test_airflow3_maps_cron_and_timedelta_to_trigger_timetables():
    daily = _desc(schedule="@daily", start_date=dt.datetime(2024, 1, 1))
    assert (daily["kind"], daily["class"], daily["expression"]) == ("cron_trigger", "CronTriggerTimetable", "0 0 * * *")
    assert daily["flavour"] == "airflow3" and daily["timezone"] == "UTC"
    assert daily["start_date"] == "2024-01-01T00:00:00+00:00" and daily["interval"] == {"seconds": 0.0}
    delta = _desc(schedule=dt.timedelta(hours=6), start_date=dt.datetime(2024, 1, 1))
    assert (delta["kind"], delta["delta"]) == ("delta_trigger", {"seconds": 21600.0})


def test_schedule_interval_gets_airflow2_data_interval_timetables():
    cron = _desc(schedule_interval="@hourly", start_date=dt.datetime(2024, 1, 1))
    assert (cron["kind"], cron["class"], cron["flavour"]) == (
        "cron_data_interval",
        "CronDataIntervalTimetable",
        "airflow2",
    )
    delta = _desc(schedule_interval=dt.timedelta(days=1), start_date=dt.datetime(2024, 1, 1))
    assert delta["kind"] == "delta_data_interval"


@pytest.mark.parametrize(
    ("schedule", "kind", "limit"),
    [(None, "null", None), ("@once", "once", None), ("@continuous", "continuous", 1)],
)
def test_special_schedules(schedule, kind, limit):
    desc = _desc(schedule=schedule, start_date=dt.datetime(2024, 1, 1), max_active_runs=1)
    assert (desc["kind"], desc["active_runs_limit"]) == (kind, limit)
    assert desc["can_be_scheduled"] is (schedule is not None)


def test_timezone_and_dates_come_from_start_date_in_utc():
    desc = _desc(
        schedule="0 6 * * *",
        start_date=pendulum.datetime(2024, 3, 20, tz="Europe/Amsterdam"),
        end_date=pendulum.datetime(2024, 4, 20, tz="Europe/Amsterdam"),
        catchup=True,
    )
    assert desc["timezone"] == "Europe/Amsterdam"
    assert desc["start_date"] == "2024-03-19T23:00:00+00:00"  # CET = UTC+1
    assert desc["end_date"] == "2024-04-19T22:00:00+00:00"  # CEST = UTC+2
    assert desc["catchup"] is True
    fixed = _desc(schedule="@daily", start_date=dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2))))
    assert fixed["timezone"] == "+02:00" and parse_timezone("+02:00").offset == 7200


def test_explicit_timetables_and_their_parameters():
    trig = _desc(schedule=CronTriggerTimetable("@weekly", timezone="America/New_York", interval=dt.timedelta(days=7),
                                               run_immediately=dt.timedelta(hours=1)))  # fmt: skip
    assert (trig["expression"], trig["timezone"], trig["explicit"]) == ("0 0 * * 0", "America/New_York", True)
    assert (trig["interval"], trig["run_immediately"]) == ({"seconds": 604800.0}, 3600.0)
    events = _desc(schedule=EventsTimetable([dt.datetime(2024, 5, 2), dt.datetime(2024, 5, 1)]))
    assert events["events"] == ["2024-05-01T00:00:00+00:00", "2024-05-02T00:00:00+00:00"]  # sorted
    from dateutil.relativedelta import relativedelta

    monthly = _desc(schedule=DeltaDataIntervalTimetable(relativedelta(months=1, day=31)))
    assert monthly["delta"] == {"relativedelta": {"months": 1, "day": 31}}


def test_invalid_schedule_fails_when_the_dag_is_built():
    with pytest.raises(ValueError, match="not a valid schedule"):
        DAG("bad", schedule=42)


# --- DAG files: import paths and the Airflow 2 flavour -------------------------------------------

TIMETABLE_PATHS = sorted(
    m
    for m in hook.MODULES
    if "timetable" in m and {n for _, ns in hook.MODULES[m] for n in ns} - {"Timetable", "BaseTimetable"}
)


@pytest.mark.parametrize("module", TIMETABLE_PATHS)
def test_dag_file_importing_each_timetable_path_loads_and_describes(tmp_path, module):
    names = [n for _, ns in hook.MODULES[module] for n in ns]
    cases = {
        "CronTriggerTimetable": ('CronTriggerTimetable("*/7 * * * *", timezone="UTC")', "cron_trigger"),
        "CronDataIntervalTimetable": ('CronDataIntervalTimetable("@monthly", "Europe/Amsterdam")', "cron_data_interval"),
        "DeltaTriggerTimetable": ("DeltaTriggerTimetable(timedelta(hours=2))", "delta_trigger"),
        "DeltaDataIntervalTimetable": ("DeltaDataIntervalTimetable(timedelta(hours=2))", "delta_data_interval"),
        "MultipleCronTriggerTimetable": ('MultipleCronTriggerTimetable("0 1 * * *", "0 2 * * *", timezone="UTC")',
                                         "multiple_cron_trigger"),
        "NullTimetable": ("NullTimetable()", "null"),
        "OnceTimetable": ("OnceTimetable()", "once"),
        "ContinuousTimetable": ("ContinuousTimetable()", "continuous"),
        "EventsTimetable": ("EventsTimetable([datetime(2024, 1, 1)])", "events"),
        "AssetOrTimeSchedule": ('AssetOrTimeSchedule(timetable=NullTimetable(), assets=[Asset("s3://x")])', "null"),
        "AssetTriggeredTimetable": ('AssetTriggeredTimetable(Asset("s3://x"))', "asset"),
    }  # fmt: skip
    usable = [n for n in names if n in cases]
    body = "\n".join(
        f'with DAG("dag_{i}", schedule={cases[name][0]}, start_date=datetime(2024, 1, 1), max_active_runs=1):\n'
        f'    EmptyOperator(task_id="t")'
        for i, name in enumerate(usable)
    )
    path = tmp_path / "timetable_dag.py"
    path.write_text(
        "from datetime import datetime, timedelta\n"
        "from airflow.sdk import DAG, Asset\n"
        "from airflow.timetables.simple import NullTimetable\n"
        "from airflow.providers.standard.operators.empty import EmptyOperator\n"
        f"from {module} import {', '.join(usable)}\n{body}\n"
    )
    dags = load_dag_file(path)
    for i, name in enumerate(usable):
        described = describe_dag(dags[f"dag_{i}"])["timetable"]
        assert described["kind"] == cases[name][1]
        assert described["flavour"] == "airflow3"
        json.dumps(described)


def _write(path, imports: str, schedule: str = '"@daily"') -> None:
    path.write_text(
        textwrap.dedent(imports)
        + f'\nwith DAG("d", schedule={schedule}, start_date=datetime(2024, 1, 1)):\n    BashOperator(task_id="t", bash_command="true")\n'
    )


def test_airflow2_imports_give_airflow2_mapping_per_file(tmp_path):
    af2 = tmp_path / "af2.py"
    _write(
        af2, "from datetime import datetime\nfrom airflow import DAG\nfrom airflow.operators.bash import BashOperator\n"
    )
    af3 = tmp_path / "af3.py"
    _write(af3, "from datetime import datetime\nfrom airflow import DAG\n"
                "from airflow.providers.standard.operators.bash import BashOperator\n")  # fmt: skip
    for _ in range(2):  # the hook's modules stay cached: the flavour must still be per file
        assert describe_dag(load_dag_file(af2)["d"])["timetable"]["kind"] == "cron_data_interval"
        assert describe_dag(load_dag_file(af3)["d"])["timetable"]["kind"] == "cron_trigger"
    _write(af2, "from datetime import datetime\nfrom airflow.sdk import DAG\n"
                "from airflow.providers.standard.operators.bash import BashOperator\n")  # fmt: skip
    assert describe_dag(load_dag_file(af2)["d"])["timetable"]["flavour"] == "airflow3"  # edited: now Airflow 3
    mod_import = tmp_path / "af2_module_import.py"
    _write(mod_import, "from datetime import datetime\nimport airflow.operators.bash\nfrom airflow.sdk import DAG\n"
                       "BashOperator = airflow.operators.bash.BashOperator\n")  # fmt: skip
    assert describe_dag(load_dag_file(mod_import)["d"])["timetable"]["flavour"] == "airflow2"


# --- runtime: next_dagrun_info, manual intervals, run ids, preview -------------------------------


def test_cron_trigger_catchup_runs_at_each_cron_time_from_start():
    desc = _desc(schedule="@daily", start_date=dt.datetime(2024, 1, 1), catchup=True)
    assert _runs(desc, 2, _at(2024, 3, 5, 13, 30)) == [
        ("2024-01-01T00:00:00+00:00", "2024-01-01T00:00:00+00:00", "2024-01-01T00:00:00+00:00"),
        ("2024-01-02T00:00:00+00:00", "2024-01-02T00:00:00+00:00", "2024-01-02T00:00:00+00:00"),
    ]


def test_data_interval_catchup_runs_at_the_end_of_each_interval():
    desc = _desc(schedule_interval="@daily", start_date=dt.datetime(2024, 1, 1), catchup=True)
    first = next_dagrun_info(desc, None, now=_at(2024, 3, 5, 13, 30))
    assert first is not None and first.logical_date == _at(2024, 1, 1)
    assert first.data_interval == DataInterval(_at(2024, 1, 1), _at(2024, 1, 2)) and first.run_after == _at(2024, 1, 2)
    assert run_id(first.run_after) == "scheduled__2024-01-02T00:00:00+00:00"  # Airflow 3 names runs by run_after


def test_no_catchup_keeps_only_the_latest():
    now = _at(2024, 3, 5, 13, 30)
    trigger = next_dagrun_info(_desc(schedule="@daily", start_date=dt.datetime(2024, 1, 1)), None, now=now)
    assert trigger is not None and trigger.run_after == _at(2024, 3, 5)  # the latest past cron time
    interval = _desc(schedule_interval="@daily", start_date=dt.datetime(2024, 1, 1))
    info = next_dagrun_info(interval, None, now=now)
    assert info is not None and info.data_interval == DataInterval(_at(2024, 3, 4), _at(2024, 3, 5))
    after = next_dagrun_info(interval, info.data_interval, now=now)
    assert after is not None and after.run_after == _at(2024, 3, 6)  # the next one is in the future


def test_dst_transitions_keep_the_wall_clock_time():
    ams = _desc(schedule="0 0 * * *", start_date=pendulum.datetime(2024, 3, 29, tz="Europe/Amsterdam"), catchup=True)
    assert [r[0] for r in _runs(ams, 4, _at(2024, 6, 1))] == [
        "2024-03-28T23:00:00+00:00", "2024-03-29T23:00:00+00:00", "2024-03-30T23:00:00+00:00",
        "2024-03-31T22:00:00+00:00",  # midnight CEST after the spring-forward of 31 March
    ]  # fmt: skip
    gap = _desc(schedule="30 2 * * *", start_date=pendulum.datetime(2024, 3, 30, tz="Europe/Amsterdam"), catchup=True)
    # 02:30 does not exist on 31 March (02:00 -> 03:00): the run moves to 03:30 CEST.
    assert [r[0] for r in _runs(gap, 2, _at(2024, 6, 1))] == ["2024-03-30T01:30:00+00:00", "2024-03-31T01:30:00+00:00"]
    ny = _desc(schedule="30 1 * * *", start_date=pendulum.datetime(2024, 11, 2, tz="America/New_York"), catchup=True)
    # 01:30 happens twice on 3 November: Airflow takes the second (EST, fold=1).
    assert [r[0] for r in _runs(ny, 2, _at(2024, 12, 1))] == ["2024-11-02T05:30:00+00:00", "2024-11-03T06:30:00+00:00"]


def test_end_date_and_future_start_date():
    desc = _desc(schedule="@daily", start_date=dt.datetime(2024, 1, 1), end_date=dt.datetime(2024, 1, 3), catchup=True)
    assert len(preview(desc, 10, _at(2024, 6, 1))) == 3  # 1, 2 and 3 January (end_date inclusive)
    future = _desc(schedule="@daily", start_date=dt.datetime(2025, 1, 1, 12))
    info = next_dagrun_info(future, None, now=_at(2024, 6, 1))
    assert info is not None and info.run_after == _at(2025, 1, 2)  # first cron time at or after the start


def test_once_none_and_continuous():
    once = _desc(schedule="@once", start_date=dt.datetime(2024, 2, 1))
    first = next_dagrun_info(once, None, now=_at(2024, 6, 1))
    assert first is not None and first.run_after == _at(2024, 2, 1)
    assert next_dagrun_info(once, first.data_interval, now=_at(2024, 6, 1)) is None
    assert next_dagrun_info(_desc(schedule=None), None, now=_at(2024, 6, 1)) is None
    cont = _desc(schedule="@continuous", start_date=dt.datetime(2024, 2, 1), max_active_runs=1)
    run = next_dagrun_info(cont, None, now=_at(2024, 6, 1))
    assert run is not None and run.data_interval == DataInterval(_at(2024, 2, 1), _at(2024, 6, 1))
    assert len(preview(cont, 10, _at(2024, 6, 1))) == 1


def test_events_skip_past_ones_without_catchup():
    desc = _desc(schedule=EventsTimetable([dt.datetime(2024, 1, 1), dt.datetime(2024, 7, 1), dt.datetime(2024, 9, 1)]))
    assert [r[0] for r in _runs(desc, 5, _at(2024, 6, 1))] == ["2024-07-01T00:00:00+00:00", "2024-09-01T00:00:00+00:00"]


def test_run_immediately_without_start_date():
    now = _at(2024, 3, 5, 0, 4)  # 4 minutes after midnight
    soon = _desc(schedule=CronTriggerTimetable("@daily", timezone="UTC", run_immediately=None))
    assert next_dagrun_info(soon, None, now=now).run_after == _at(2024, 3, 5)  # within max(10%, 5 min)
    never = _desc(schedule=CronTriggerTimetable("@daily", timezone="UTC", run_immediately=False))
    # False is not True: Airflow then applies the 10% buffer too, and catchup=False offers the latest past time
    assert next_dagrun_info(never, None, now=now).run_after == _at(2024, 3, 5)
    late = _desc(schedule=CronTriggerTimetable("@daily", timezone="UTC", run_immediately=True))
    restriction = TimeRestriction(None, None, catchup=True)
    assert next_dagrun_info(late, None, restriction, now=_at(2024, 3, 5, 20)).run_after == _at(2024, 3, 5)
    assert next_dagrun_info(never, None, restriction, now=_at(2024, 3, 5, 20)).run_after == _at(2024, 3, 6)


def test_manual_data_intervals():
    at = _at(2024, 3, 25, 1)
    interval = _desc(schedule_interval="@daily", start_date=dt.datetime(2024, 1, 1))
    assert infer_manual_data_interval(interval, at) == DataInterval(_at(2024, 3, 24), _at(2024, 3, 25))
    trigger = _desc(schedule=CronTriggerTimetable("@daily", timezone="UTC", interval=dt.timedelta(hours=3)))
    assert infer_manual_data_interval(trigger, at) == DataInterval(_at(2024, 3, 24, 22), at)
    assert infer_manual_data_interval(_desc(schedule=None), at) == DataInterval(at, at)


def test_preview_and_restriction_from_the_whole_description():
    with DAG("d", schedule="*/7 * * * *", start_date=dt.datetime(2024, 1, 1)) as dag:
        EmptyOperator(task_id="t")
    desc = describe_dag(dag)
    assert restriction_of(desc) == TimeRestriction(_at(2024, 1, 1), None, False)
    runs = preview(desc, 10, _at(2024, 3, 5, 13, 30))
    assert len(runs) == 10
    assert runs[0].run_after == _at(2024, 3, 5, 13, 28)  # */7 within the hour: ..., 13:21, 13:28, 13:35
    assert runs[2].run_after == _at(2024, 3, 5, 13, 42) and runs[5].run_after == _at(2024, 3, 5, 14, 0)
    assert run_id(runs[5].run_after, "manual") == "manual__2024-03-05T14:00:00+00:00"


def test_validate_reports_what_airflow_rejects():
    assert validate(_desc(schedule="@daily")) is None
    assert "61" in validate(_desc(schedule="61 * * * *"))
    assert validate(_desc(schedule=dt.timedelta(seconds=-5))).startswith("schedule interval must be positive")
    assert validate(_desc(schedule=CronTriggerTimetable("@daily", timezone="UTC"))) is None
    broken = {**_desc(schedule="@daily"), "timezone": "Mars/Olympus"}
    assert validate(broken) is not None


def test_custom_timetable_subclass_is_described_and_rejected(tmp_path):
    path = tmp_path / "custom.py"
    path.write_text(
        "from datetime import datetime\n"
        "from airflow.sdk import DAG\n"
        "from airflow.timetables.base import Timetable\n"
        "class Weekdays(Timetable):\n"
        "    pass\n"
        'with DAG("d", schedule=Weekdays(), start_date=datetime(2024, 1, 1)):\n'
        "    pass\n"
    )
    desc = describe_dag(load_dag_file(path)["d"])
    assert (desc["timetable"]["kind"], desc["timetable"]["class"]) == ("custom", "Weekdays")
    assert "Weekdays" in validate(desc)
    assert next_dagrun_info(desc, None, now=_at(2024, 6, 1)) is None
