"""Timetables against real Apache Airflow 3.3.2 (tests/oracle/timetable_oracle.py).

For several hundred (schedule, start_date + time zone, end_date, catchup, now) combinations, the next 8
runs the scheduler would create — run_after, data interval (logical date = its start) and run id, each
computed from the previous run as Airflow's scheduler does — and the manual data intervals are those
Airflow's own timetable classes compute with the clock frozen at ``now``. Ours: the same DAG built with
``studio.sdk`` and described, then ``studio.runtime.timetables``. Includes DST zones (Europe/Amsterdam,
America/New_York, across both transitions), presets, monthly/yearly and ``*/7`` crons, timedeltas,
relativedeltas, ``@once``/``@continuous``/None, explicit timetable classes (both import paths), and
Airflow 2's mapping (Airflow run with ``[scheduler] create_cron_data_intervals = True``; ours with
``schedule_interval=``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import subprocess
import tempfile
from pathlib import Path

import pendulum
import pytest
from dateutil.relativedelta import relativedelta

from studio.runtime.timetables import infer_manual_data_interval, next_dagrun_info, run_id
from studio.sdk import timetables as sdk_timetables
from studio.sdk.dag import DAG
from studio.sdk.describe import describe_timetable
from studio.sdk.operators import EmptyOperator
from tests.oracle.airflow_env import airflow_env, airflow_python

pytestmark = pytest.mark.airflow

ORACLE = Path(__file__).parent / "oracle" / "timetable_oracle.py"
N = 8


def _dt(naive: str, tz: str | None) -> dict:
    return {"__dt__": naive, "tz": tz}


def _cls(module: str, name: str, *args: object, **kwargs: object) -> dict:
    return {"type": "class", "module": module, "name": name, "args": list(args), "kwargs": kwargs}


TD = {"__td__": 3600 * 3}
PERIODIC = [
    {"type": "cron", "value": v}
    for v in ["@daily", "@hourly", "@weekly", "@monthly", "@yearly", "@quarterly", "*/7 * * * *", "30 2 * * *",
              "0 */6 * * *", "15 1-3 * * 1-5", "0 9 * * 1", "0 0 31 * *", "45 * * * *"]
] + [
    {"type": "timedelta", "value": {"__td__": s}} for s in (6 * 3600, 86400, 45 * 60)
] + [
    {"type": "relativedelta", "value": {"__rd__": f}} for f in ({"months": 1}, {"days": 1, "hours": 2})
]  # fmt: skip
TRIVIAL = [{"type": "none"}, {"type": "cron", "value": "@once"}, {"type": "cron", "value": "@continuous"}]
EXPLICIT = [
    _cls("airflow.timetables.interval", "CronDataIntervalTimetable", "0 0 * * *", "Europe/Amsterdam"),
    _cls("airflow.sdk", "CronDataIntervalTimetable", "30 1 * * *", "America/New_York"),
    _cls("airflow.timetables.trigger", "CronTriggerTimetable", "0 3 * * *", timezone="America/New_York", interval=TD),
    _cls("airflow.sdk", "CronTriggerTimetable", "*/20 * * * *", timezone="UTC", run_immediately=True),
    _cls("airflow.timetables.trigger", "CronTriggerTimetable", "0 */4 * * *", timezone="UTC", run_immediately=None),
    _cls("airflow.sdk", "CronTriggerTimetable", "0 12 * * *", timezone="UTC", run_immediately={"__td__": 7200}),
    _cls("airflow.timetables.interval", "DeltaDataIntervalTimetable", {"__td__": 12 * 3600}),
    _cls("airflow.sdk", "DeltaDataIntervalTimetable", {"__rd__": {"months": 1}}),
    _cls("airflow.timetables.trigger", "DeltaTriggerTimetable", {"__td__": 2 * 86400}, interval={"__td__": 86400}),
    _cls("airflow.sdk", "MultipleCronTriggerTimetable", "0 9 * * *", "30 17 * * *", timezone="Europe/Amsterdam"),
    _cls("airflow.timetables.simple", "OnceTimetable"),
    _cls("airflow.timetables.simple", "ContinuousTimetable"),
    _cls("airflow.timetables.simple", "NullTimetable"),
    _cls("airflow.timetables.events", "EventsTimetable",
         [_dt("2024-03-30T12:00:00", "Europe/Amsterdam"), _dt("2024-04-01T08:00:00", "Europe/Amsterdam"),
          _dt("2024-04-05T00:00:00", "UTC"), _dt("2024-11-02T00:00:00", "UTC"), _dt("2025-01-01T00:00:00", "UTC")],
         restrict_to_events=True),
]  # fmt: skip
STARTS = [
    (_dt("2024-01-01T00:00:00", None), None),
    (_dt("2024-03-20T00:00:00", "Europe/Amsterdam"), None),
    (_dt("2024-10-25T06:00:00", "America/New_York"), _dt("2024-11-20T00:00:00", "America/New_York")),
    (_dt("2024-03-28T10:00:00", "Europe/Amsterdam"), _dt("2024-04-02T00:00:00", "Europe/Amsterdam")),
    (_dt("2025-06-01T00:00:00", "UTC"), None),  # in the future
    (None, None),
]
NOWS = ["2024-04-02T10:17:00+00:00", "2024-11-03T06:30:00+00:00", "2024-04-01T00:00:00+00:00"]
MANUAL = ["2024-03-31T01:30:00+00:00", "2024-11-03T05:30:00+00:00", "2024-06-15T12:00:00+00:00"]


def build() -> list[dict]:
    cases = []
    combos = itertools.chain(
        itertools.product(PERIODIC, STARTS, [True, False], NOWS[:2], [False, True]),
        itertools.product(TRIVIAL + EXPLICIT, STARTS, [True, False], NOWS, [False]),
        itertools.product(PERIODIC[:7], STARTS[:3], [False], NOWS[2:], [False, True]),
    )
    for schedule, (start, end), catchup, now, airflow2 in combos:
        if airflow2 and schedule["type"] not in ("cron", "timedelta", "relativedelta"):
            continue
        if catchup and start is None and schedule["type"] != "none":
            continue  # Airflow: "start_date is required when catchup=True"
        cases.append({"id": len(cases), "schedule": schedule, "start_date": start, "end_date": end,
                      "catchup": catchup, "now": now, "airflow2": airflow2, "n": N, "manual": MANUAL,
                      "max_active_runs": 1 if "continuous" in str(schedule).lower() else 16})  # fmt: skip
    return cases


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "__dt__" in value:
            naive = dt.datetime.fromisoformat(value["__dt__"])
            return naive if value.get("tz") is None else pendulum.instance(naive, tz=value["tz"])
        if "__td__" in value:
            return dt.timedelta(seconds=value["__td__"])
        if "__rd__" in value:
            return relativedelta(**value["__rd__"])
        return {k: _decode(v) for k, v in value.items()}
    return value


def ours(case: dict) -> dict:
    spec = case["schedule"]
    if spec["type"] == "none":
        schedule = None
    elif spec["type"] == "class":
        schedule = getattr(sdk_timetables, spec["name"])(*_decode(spec["args"]), **_decode(spec["kwargs"]))
    else:
        schedule = _decode(spec["value"])
    kwargs = {
        "catchup": case["catchup"],
        "max_active_runs": case["max_active_runs"],
        ("schedule_interval" if case["airflow2"] else "schedule"): schedule,
    }
    for key in ("start_date", "end_date"):
        if case[key] is not None:
            kwargs[key] = _decode(case[key])
    with DAG(f"case_{case['id']}", **kwargs) as dag:
        EmptyOperator(task_id="t")
    desc = json.loads(json.dumps({"timetable": describe_timetable(dag)}))  # what the fork server sends
    runs, last = [], None
    for _ in range(case["n"]):  # as the scheduler: each run from the previous one's data interval
        info = next_dagrun_info(desc, last, now=case["now"])
        if info is None:
            break
        last = info.data_interval
        runs.append([info.run_after.isoformat(), last.start.isoformat(), last.end.isoformat(),
                     run_id(info.run_after)])  # fmt: skip
    manual = [[i.start.isoformat(), i.end.isoformat()] for i in
              (infer_manual_data_interval(desc, when) for when in case["manual"])]  # fmt: skip
    return {"class": desc["timetable"]["class"], "runs": runs, "manual": manual}


@pytest.fixture(scope="module")
def airflow_results() -> tuple[list[dict], list[dict]]:
    cases = build()
    with tempfile.TemporaryDirectory(prefix="airflow-home-") as home:
        proc = subprocess.run(
            [str(airflow_python()), str(ORACLE)],
            input=json.dumps(cases),
            capture_output=True,
            text=True,
            env=airflow_env(Path(home)),
            timeout=900,
        )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return cases, json.loads(proc.stdout)


def test_enough_cases_and_airflow_ran_them(airflow_results):
    cases, expected = airflow_results
    assert len(cases) >= 60
    errors = [(c["id"], e["error"]) for c, e in zip(cases, expected, strict=True) if "error" in e]
    assert not errors, errors[:5]
    assert sum(len(e["runs"]) == N for e in expected) > len(cases) // 3  # most cases really schedule
    assert {e["class"] for e in expected} >= {
        "CronTriggerTimetable", "CronDataIntervalTimetable", "DeltaTriggerTimetable", "DeltaDataIntervalTimetable",
        "MultipleCronTriggerTimetable", "EventsTimetable", "OnceTimetable", "ContinuousTimetable", "NullTimetable",
    }  # fmt: skip


def test_next_runs_and_manual_intervals_match_airflow(airflow_results):
    cases, expected = airflow_results
    mismatches = []
    for case, want in zip(cases, expected, strict=True):
        got = ours(case)
        if got != {k: want[k] for k in ("class", "runs", "manual")}:
            mismatches.append(f"case {json.dumps(case)}\n  airflow {want}\n  ours    {got}")
    assert not mismatches, f"{len(mismatches)} of {len(cases)} differ:\n" + "\n".join(mismatches[:3])


DAG_FILES = {
    "plain_schedules.py": """
        import datetime
        import pendulum
        from airflow import DAG
        from airflow.providers.standard.operators.empty import EmptyOperator
        ams = pendulum.datetime(2024, 3, 25, tz="Europe/Amsterdam")
        for name, schedule in [("daily", "@daily"), ("every7", "*/7 * * * *"), ("monthly", "@monthly"),
                               ("hours6", datetime.timedelta(hours=6)), ("once", "@once"), ("none", None)]:
            with DAG(f"plain_{name}", schedule=schedule, start_date=ams, catchup=True):
                EmptyOperator(task_id="t")
        with DAG("plain_nocatchup", schedule="0 2 * * *", start_date=ams,
                 default_args={"end_date": datetime.datetime(2024, 4, 3)}):
            EmptyOperator(task_id="t")
    """,
    "sdk_timetables.py": """
        import datetime
        import pendulum
        from airflow.sdk import (DAG, CronDataIntervalTimetable, CronTriggerTimetable, DeltaDataIntervalTimetable,
                                 DeltaTriggerTimetable, MultipleCronTriggerTimetable)
        from airflow.timetables.events import EventsTimetable  # airflow.sdk's fails to serialize in 3.3.2
        from airflow.providers.standard.operators.empty import EmptyOperator
        start = pendulum.datetime(2024, 10, 30, tz="America/New_York")
        for name, timetable in [
            ("cdi", CronDataIntervalTimetable("30 1 * * *", "America/New_York")),
            ("ct", CronTriggerTimetable("0 */5 * * *", timezone="America/New_York", interval=datetime.timedelta(hours=5))),
            ("ddi", DeltaDataIntervalTimetable(datetime.timedelta(hours=20))),
            ("dt", DeltaTriggerTimetable(datetime.timedelta(days=1), interval=datetime.timedelta(hours=12))),
            ("ev", EventsTimetable([pendulum.datetime(2024, 11, 3, 1, 30, tz="America/New_York"),
                                    pendulum.datetime(2024, 11, 1, tz="America/New_York")])),
            ("mc", MultipleCronTriggerTimetable("0 9 * * 1-5", "0 12 * * 0,6", timezone="America/New_York")),
        ]:
            with DAG(f"sdk_{name}", schedule=timetable, start_date=start, catchup=True):
                EmptyOperator(task_id="t")
    """,
    "core_timetables.py": """
        import datetime
        from airflow.sdk import DAG
        from airflow.timetables.events import EventsTimetable
        from airflow.timetables.interval import CronDataIntervalTimetable, DeltaDataIntervalTimetable
        from airflow.timetables.simple import ContinuousTimetable, NullTimetable, OnceTimetable
        from airflow.timetables.trigger import CronTriggerTimetable, DeltaTriggerTimetable, MultipleCronTriggerTimetable
        from airflow.providers.standard.operators.empty import EmptyOperator
        start = datetime.datetime(2024, 3, 28, tzinfo=datetime.timezone.utc)
        for name, timetable, runs in [
            ("cdi", CronDataIntervalTimetable("0 0 * * *", "Europe/Amsterdam"), 16),
            ("ct", CronTriggerTimetable("@hourly", timezone="Europe/Amsterdam"), 16),
            ("ddi", DeltaDataIntervalTimetable(datetime.timedelta(hours=7)), 16),
            ("dt", DeltaTriggerTimetable(datetime.timedelta(hours=7)), 16),
            ("ev", EventsTimetable([datetime.datetime(2024, 4, 1, tzinfo=datetime.timezone.utc)]), 16),
            ("mc", MultipleCronTriggerTimetable("15 * * * *", "45 */2 * * *", timezone="UTC"), 16),
            ("once", OnceTimetable(), 16),
            ("cont", ContinuousTimetable(), 1),
            ("null", NullTimetable(), 16),
        ]:
            with DAG(f"core_{name}", schedule=timetable, start_date=start, catchup=True, max_active_runs=runs):
                EmptyOperator(task_id="t")
    """,
    "definitions_paths.py": """
        import datetime
        from airflow.sdk import DAG
        from airflow.sdk.definitions.timetables.trigger import CronTriggerTimetable
        from airflow.sdk.definitions.timetables.interval import DeltaDataIntervalTimetable
        from airflow.sdk.definitions.timetables.simple import OnceTimetable
        from airflow.providers.standard.operators.empty import EmptyOperator
        start = datetime.datetime(2024, 4, 1)
        for name, timetable in [("ct", CronTriggerTimetable("0 6 * * *", timezone="UTC")),
                                ("ddi", DeltaDataIntervalTimetable(datetime.timedelta(days=2))),
                                ("once", OnceTimetable())]:
            with DAG(f"defs_{name}", schedule=timetable, start_date=start):
                EmptyOperator(task_id="t")
    """,
}
FILES_NOW = "2024-04-02T10:17:00+00:00"


def test_dag_files_importing_each_timetable_path_match_airflow(tmp_path):
    """The same DAG files loaded by Airflow's DagBag and by our loader: class and next 8 runs per DAG."""
    import textwrap

    from studio.sdk.describe import describe_dag
    from studio.sdk.loader import load_dag_file

    for name, source in DAG_FILES.items():
        (tmp_path / name).write_text(textwrap.dedent(source))
    with tempfile.TemporaryDirectory(prefix="airflow-home-") as home:
        proc = subprocess.run(
            [str(airflow_python()), str(ORACLE), "--files", str(tmp_path), FILES_NOW, str(N)],
            capture_output=True,
            text=True,
            env=airflow_env(Path(home)),
            timeout=600,
        )
    assert proc.returncode == 0, proc.stderr[-4000:]
    expected = json.loads(proc.stdout)
    assert expected["import_errors"] == {}
    got = {}
    for name in DAG_FILES:
        for dag_id, dag in load_dag_file(tmp_path / name).items():
            desc = describe_dag(dag)
            runs, last = [], None
            for _ in range(N):
                info = next_dagrun_info(desc, last, now=FILES_NOW)
                if info is None:
                    break
                last = info.data_interval
                runs.append([info.run_after.isoformat(), last.start.isoformat(), last.end.isoformat(),
                             run_id(info.run_after)])  # fmt: skip
            got[dag_id] = {"class": desc["timetable"]["class"], "runs": runs}
    assert len(expected["dags"]) == 25
    assert got == expected["dags"]
