"""Oracle for tests/test_runtime_timetables_airflow.py; runs under Apache Airflow 3.3.2.

Reads a JSON list of cases on stdin (see ``build`` in tests/test_runtime_timetables_airflow.py for
the spec format); for each builds a real ``airflow.sdk.DAG`` with that schedule, start_date, end_date
and catchup, serializes it as the DAG processor does, and drives ``SerializedDAG.next_dagrun_info``
the way the scheduler does (feeding back the last run's info) with Airflow's clock frozen at the case's
``now``. Prints per case: the timetable class, the next N runs (run_after, data interval, run id) and
``infer_manual_data_interval`` for the given trigger times.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import sys
import traceback

import airflow.timetables.trigger as trigger_module
import pendulum
from airflow._shared.timezones import timezone as timezone_module
from airflow.configuration import conf
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG
from airflow.sdk.configuration import conf as sdk_conf
from airflow.serialization.serialized_objects import DagSerialization
from airflow.timetables import interval as interval_module
from airflow.utils.types import DagRunType
from dateutil.relativedelta import relativedelta

_NOW = [pendulum.now("UTC")]


def _frozen_utcnow() -> pendulum.DateTime:
    return _NOW[0]


class _FrozenTime:
    @staticmethod
    def time() -> float:
        return _NOW[0].timestamp()


trigger_module.utcnow = _frozen_utcnow
interval_module.utcnow = _frozen_utcnow
timezone_module.utcnow = _frozen_utcnow
trigger_module.time = _FrozenTime  # MultipleCronTriggerTimetable reads time.time()


def decode(value):
    """Spec values: {"__dt__": naive iso, "tz": name|None}, {"__td__": seconds}, {"__rd__": fields}."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        if "__dt__" in value:
            naive = dt.datetime.fromisoformat(value["__dt__"])
            return naive if value.get("tz") is None else pendulum.instance(naive, tz=value["tz"])
        if "__td__" in value:
            return dt.timedelta(seconds=value["__td__"])
        if "__rd__" in value:
            return relativedelta(**value["__rd__"])
        return {k: decode(v) for k, v in value.items()}
    return value


def schedule_of(spec):
    kind = spec["type"]
    if kind == "none":
        return None
    if kind == "cron":
        return spec["value"]
    if kind in ("timedelta", "relativedelta"):
        return decode(spec["value"])
    module = importlib.import_module(spec["module"])
    return getattr(module, spec["name"])(*decode(spec.get("args", [])), **decode(spec.get("kwargs", {})))


def iso(value):
    return value.isoformat() if value is not None else None


def run_case(case):
    flag = "True" if case["airflow2"] else "False"
    for config in (conf, sdk_conf):
        config.set("scheduler", "create_cron_data_intervals", flag)
        config.set("scheduler", "create_delta_data_intervals", flag)
    kwargs = {"schedule": schedule_of(case["schedule"]), "catchup": case["catchup"]}
    kwargs["max_active_runs"] = case["max_active_runs"]
    for key in ("start_date", "end_date"):
        if case.get(key) is not None:
            kwargs[key] = decode(case[key])
    with DAG(f"case_{case['id']}", **kwargs) as dag:
        EmptyOperator(task_id="t")
    result = drive(dag, case["now"], case["n"])
    timetable = DagSerialization.from_dict(DagSerialization.to_dict(dag)).timetable
    manual = []
    for when in case["manual"]:
        interval = timetable.infer_manual_data_interval(run_after=pendulum.parse(when))
        manual.append([iso(interval.start), iso(interval.end)])
    return {**result, "manual": manual}


def drive(dag, now: str, n: int) -> dict:
    """The DAG's timetable class and next ``n`` runs as the scheduler creates them, at ``now``."""
    _NOW[0] = pendulum.parse(now)
    serialized = DagSerialization.from_dict(DagSerialization.to_dict(dag))
    timetable = serialized.timetable
    runs, info = [], None
    for _ in range(n):
        info = serialized.next_dagrun_info(last_automated_run_info=info)
        if info is None:
            break
        run_id = timetable.generate_run_id(
            run_type=DagRunType.SCHEDULED, run_after=info.run_after, data_interval=info.data_interval
        )
        interval = info.data_interval
        runs.append([iso(info.run_after), iso(interval and interval.start), iso(interval and interval.end), run_id])
    return {"class": type(timetable).__name__, "runs": runs}


def dag_files(folder: str, now: str, n: int) -> None:
    """``--files FOLDER NOW N``: every DAG of the folder as Airflow's DagBag loads it (default config)."""
    import contextlib

    for config in (conf, sdk_conf):
        config.set("scheduler", "create_cron_data_intervals", "False")
        config.set("scheduler", "create_delta_data_intervals", "False")
    out_stream = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(folder)
        out = {"import_errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": {}}
        for dag_id, dag in sorted(bag.dags.items()):
            out["dags"][dag_id] = drive(dag, now, n)
    json.dump(out, out_stream)


def main() -> None:
    if sys.argv[1:2] == ["--files"]:
        dag_files(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    out = []
    for case in json.load(sys.stdin):
        try:
            out.append(run_case(case))
        except Exception as err:
            out.append({"error": f"{type(err).__name__}: {err}", "trace": traceback.format_exc()[-1500:]})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
