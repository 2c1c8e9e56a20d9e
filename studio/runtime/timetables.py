"""Airflow 3.3's timetables as pure functions over the DAG description's ``"timetable"`` (docs/ENGINE.md).

``next_dagrun_info`` is what the scheduler asks after each automated run (feeding back that run's data
interval), ``infer_manual_data_interval`` what a manual run gets, ``run_id`` the id Airflow gives a
scheduled run, ``preview`` the inspector's "next N runs". The arithmetic is Airflow's own
(airflow/timetables/{_cron,_delta,interval,trigger,simple,events}.py), line for line, on pendulum
DateTimes: cron times are computed by croniter on naive wall-clock times in the timetable's time zone
(DST fixed as Airflow fixes it), deltas in UTC. ``now`` is always passed in; nothing reads the clock."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pendulum
from dateutil.relativedelta import relativedelta, weekday

from studio.runtime.timetables_kinds import (
    CronSchedule,
    DagRunInfo,
    DataInterval,
    DeltaSchedule,
    Schedule,
    TimeRestriction,
)

DateTime = pendulum.DateTime
__all__ = [
    "DagRunInfo",
    "DataInterval",
    "TimeRestriction",
    "infer_manual_data_interval",
    "next_dagrun_info",
    "preview",
    "restriction_of",
    "run_id",
    "validate",
]


def to_datetime(value: Any) -> DateTime | None:
    """An aware pendulum DateTime from an ISO string or a datetime (naive means UTC, as Airflow's default)."""
    if value is None:
        return None
    if isinstance(value, str):
        return pendulum.parse(value, tz="UTC")  # type: ignore[return-value]
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value if isinstance(value, DateTime) else pendulum.instance(value)


def parse_timezone(name: str) -> Any:
    """A pendulum time zone from the description's name: IANA (``"Europe/Amsterdam"``) or ``"+02:00"``."""
    match = re.fullmatch(r"([+-])(\d\d):(\d\d)", name)
    if match:
        seconds = (int(match[2]) * 3600 + int(match[3]) * 60) * (1 if match[1] == "+" else -1)
        return pendulum.FixedTimezone(seconds)
    return pendulum.timezone(name)


def decode_delta(value: dict[str, Any]) -> dt.timedelta | relativedelta:
    """The inverse of ``studio.sdk.timetables.encode_delta``."""
    if "seconds" in value:
        return dt.timedelta(seconds=value["seconds"])
    fields = dict(value["relativedelta"])
    if "weekday" in fields:
        day, n = fields["weekday"]
        fields["weekday"] = weekday(day, n)
    return relativedelta(**fields)


def restriction_of(desc: dict[str, Any]) -> TimeRestriction:
    """The DAG's own TimeRestriction: its start_date, end_date and catchup (the description's)."""
    tt = _timetable(desc)
    return TimeRestriction(to_datetime(tt.get("start_date")), to_datetime(tt.get("end_date")), bool(tt.get("catchup")))


def _schedule(tt: dict[str, Any]) -> Schedule:
    kind = tt["kind"]
    if kind in ("cron_trigger", "cron_data_interval"):
        return CronSchedule(tt["expression"], parse_timezone(tt["timezone"]))
    if kind in ("delta_trigger", "delta_data_interval"):
        return DeltaSchedule(decode_delta(tt["delta"]))
    raise ValueError(f"timetable kind {kind!r} has no periodic schedule")


def _now(now: Any) -> DateTime:
    value = to_datetime(now)
    if value is None:
        raise ValueError("now is required")
    return pendulum.instance(value.astimezone(dt.UTC))


def _timetable(desc: dict[str, Any]) -> dict[str, Any]:
    return desc.get("timetable", desc)  # a whole DAG description or just its "timetable"


def next_dagrun_info(
    desc: dict[str, Any],
    last_automated_data_interval: DataInterval | None,
    restriction: TimeRestriction | None = None,
    *,
    now: Any,
) -> DagRunInfo | None:
    """The next automated run after the one whose data interval is given (None: the first run), as
    Airflow's ``Timetable.next_dagrun_info``; ``restriction`` defaults to the DAG's own (start_date,
    end_date, catchup). None means no run is due under this restriction (maybe later)."""
    tt = _timetable(desc)
    restriction = restriction if restriction is not None else restriction_of(tt)
    current = _now(now)
    if last_automated_data_interval is not None:
        start, end = to_datetime(last_automated_data_interval.start), to_datetime(last_automated_data_interval.end)
        last_automated_data_interval = DataInterval(start, end)  # type: ignore[arg-type]
    kind = tt["kind"]
    if kind in ("cron_data_interval", "delta_data_interval"):
        return _schedule(tt).data_interval_next(last_automated_data_interval, restriction, current)
    if kind in ("cron_trigger", "delta_trigger"):
        return _trigger_next(tt, _schedule(tt), last_automated_data_interval, restriction, current)
    if kind == "multiple_cron_trigger":
        return _multiple_next(tt, last_automated_data_interval, restriction, current)
    if kind == "once":
        if last_automated_data_interval is not None:
            return None
        run_after = restriction.earliest or current
        if restriction.latest is not None and run_after > restriction.latest:
            return None
        return DagRunInfo.exact(run_after)
    if kind == "continuous":
        return _continuous_next(last_automated_data_interval, restriction, current)
    if kind == "events":
        return _events_next(tt, last_automated_data_interval, restriction, current)
    return None  # null, asset (and custom, see validate): never scheduled by time


def _trigger_next(
    tt: dict[str, Any], sched: Schedule, last: DataInterval | None, restriction: TimeRestriction, now: DateTime
) -> DagRunInfo | None:
    """``_TriggerTimetable.next_dagrun_info`` (airflow/timetables/trigger.py)."""
    interval = decode_delta(tt.get("interval") or {"seconds": 0})
    if restriction.catchup:
        if last is not None:
            next_start = sched.get_next(last.end)
        elif restriction.earliest is None:
            next_start = _first_run(tt, sched, now)
        else:
            next_start = sched.align_to_next(restriction.earliest)
    else:
        candidates = [sched.align_to_prev(now)]
        if last is not None:
            candidates.append(sched.get_next(last.end))
        elif restriction.earliest is None:
            candidates.append(_first_run(tt, sched, now))
        if restriction.earliest is not None:
            candidates.append(sched.align_to_next(restriction.earliest))
        next_start = max(candidates)
    if restriction.latest is not None and restriction.latest < next_start:
        return None
    return DagRunInfo.interval(to_datetime(next_start - interval), next_start)  # type: ignore[arg-type]


def _first_run(tt: dict[str, Any], sched: Schedule, now: DateTime) -> DateTime:
    """``_calc_first_run``: with no start date, the latest past time or the next one (``run_immediately``)."""
    past = sched.align_to_prev(now)
    if isinstance(sched, DeltaSchedule):
        return past
    upcoming = sched.align_to_next(now)
    run_immediately = tt.get("run_immediately", False)
    if run_immediately is True:
        return past
    if isinstance(run_immediately, (int, float)) and not isinstance(run_immediately, bool):
        buffer = dt.timedelta(seconds=run_immediately)
    else:
        buffer = max((upcoming - past) / 10, dt.timedelta(minutes=5))
    return past if now - past <= buffer else upcoming


def _multiple_next(
    tt: dict[str, Any], last: DataInterval | None, restriction: TimeRestriction, now: DateTime
) -> DagRunInfo | None:
    """``MultipleCronTriggerTimetable.next_dagrun_info``: the earliest next run of its crons (with catchup
    False, the latest one not after now, else the earliest)."""
    tz = parse_timezone(tt["timezone"])
    infos = [_trigger_next(tt, CronSchedule(expr, tz), last, restriction, now) for expr in tt["expressions"]]
    stamp = now.timestamp()

    def key(info: DagRunInfo | None) -> float:
        if info is None or info.logical_date is None:
            return float("inf")
        ts = info.logical_date.timestamp()
        return ts if restriction.catchup or ts > stamp else -ts

    return min(infos, key=key)


def _continuous_next(last: DataInterval | None, restriction: TimeRestriction, now: DateTime) -> DagRunInfo | None:
    start_date = restriction.earliest or now
    if last is not None:
        if last.end > now:
            start = start_date
            end = start + (last.end - last.start).as_timedelta()
        else:
            start, end = last.end, now
    else:
        start, end = start_date, max(start_date, now)
    if restriction.latest is not None and end > restriction.latest:
        return None
    return DagRunInfo.interval(start, end)


def _events_next(
    tt: dict[str, Any], last: DataInterval | None, restriction: TimeRestriction, now: DateTime
) -> DagRunInfo | None:
    earliest = restriction.earliest
    if not restriction.catchup and (earliest is None or now > earliest):
        earliest = now
    for event in (to_datetime(e) for e in tt["events"]):
        assert event is not None
        if earliest and event < earliest:
            continue
        if last and event <= last.end:
            continue
        break
    else:
        return None
    if restriction.latest is not None and event > restriction.latest:
        return None
    return DagRunInfo.exact(event)


def validate(desc: dict[str, Any]) -> str | None:
    """Why Airflow would reject this timetable (``Timetable.validate``: a bad cron expression, a delta
    that does not move forward, an unknown time zone), or None."""
    from croniter import CroniterBadCronError, CroniterBadDateError, croniter

    tt = _timetable(desc)
    if tt["kind"] == "custom":
        return f"custom timetable {tt['class']} is not supported by DAG Studio's scheduler"
    try:
        if "timezone" in tt:
            parse_timezone(tt["timezone"])
        for expression in tt.get("expressions") or ([tt["expression"]] if "expression" in tt else []):
            croniter(expression)
        if "delta" in tt:
            moment = dt.datetime(2000, 1, 1)
            if moment + decode_delta(tt["delta"]) <= moment:
                return f"schedule interval must be positive, not {tt['delta']}"
    except (CroniterBadCronError, CroniterBadDateError) as err:
        return str(err)
    except Exception as err:  # pendulum's unknown time zone, a malformed description
        return f"{type(err).__name__}: {err}"
    return None


def infer_manual_data_interval(desc: dict[str, Any], run_after: Any) -> DataInterval:
    """The data interval of a manual run triggered at ``run_after`` (Airflow's method of that name)."""
    tt = _timetable(desc)
    when = to_datetime(run_after)
    assert when is not None
    kind = tt["kind"]
    if kind in ("cron_data_interval", "delta_data_interval"):
        return _schedule(tt).infer_manual(when)
    if kind in ("cron_trigger", "delta_trigger"):
        interval = decode_delta(tt.get("interval") or {"seconds": 0})
        return DataInterval(to_datetime(when - interval), when)  # type: ignore[arg-type]
    if kind == "multiple_cron_trigger":
        interval = decode_delta(tt.get("interval") or {"seconds": 0})
        return DataInterval(to_datetime(when - interval), when)  # type: ignore[arg-type]
    if kind == "events" and tt.get("restrict_to_events") and tt["events"]:
        events = [to_datetime(e) for e in tt["events"]]
        if when < events[0]:  # type: ignore[operator]
            return DataInterval.exact(events[0])  # type: ignore[arg-type]
        return DataInterval.exact(next(e for e in reversed(events) if e <= when))  # type: ignore[operator]
    return DataInterval.exact(when)


def run_id(run_after: Any, run_type: str = "scheduled", random_suffix: str | None = None) -> str:
    """``<run_type>__<run_after ISO>`` as Airflow 3 names runs (``Timetable.generate_run_id``;
    ``DagRun.generate_run_id`` adds ``_<random>`` for a run without a logical date)."""
    when = to_datetime(run_after)
    assert when is not None
    suffix = when.isoformat() if random_suffix is None else f"{when.isoformat()}_{random_suffix}"
    return f"{run_type}__{suffix}"


def preview(
    desc: dict[str, Any], n: int, now: Any, last_automated_data_interval: DataInterval | None = None
) -> list[DagRunInfo]:
    """The next ``n`` automated runs the scheduler would create, as seen at ``now`` (fewer if the
    timetable ends), each computed from the previous one's data interval."""
    tt = _timetable(desc)
    if tt["kind"] == "continuous":
        n = min(n, 1)  # each next run depends on when the previous one ends
    out: list[DagRunInfo] = []
    last = last_automated_data_interval
    while len(out) < n:
        info = next_dagrun_info(tt, last, now=now)
        if info is None or info.data_interval is None:
            break
        out.append(info)
        last = info.data_interval
    return out
