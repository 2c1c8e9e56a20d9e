"""The two periodic schedules under Airflow's timetables: a cron expression in a time zone
(airflow/timetables/_cron.py ``CronMixin``) and a fixed delta (``_delta.py`` ``DeltaMixin``), each with
the data-interval flavour of ``next_dagrun_info`` (airflow/timetables/interval.py), and the
value types of Airflow's timetable API (airflow/timetables/base.py). Pure: ``now`` is
passed in. ``studio.runtime.timetables`` builds on these."""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

import pendulum
from croniter import croniter
from dateutil.relativedelta import relativedelta

DateTime = pendulum.DateTime


class DataInterval(NamedTuple):
    """The data interval a DagRun operates over (aware datetimes)."""

    start: DateTime
    end: DateTime

    @classmethod
    def exact(cls, at: DateTime) -> DataInterval:
        return cls(at, at)


class DagRunInfo(NamedTuple):
    """When a run may be created (``run_after``) and its data interval; logical date = interval start."""

    run_after: DateTime
    data_interval: DataInterval | None

    @classmethod
    def exact(cls, at: DateTime) -> DagRunInfo:
        return cls(at, DataInterval.exact(at))

    @classmethod
    def interval(cls, start: DateTime, end: DateTime) -> DagRunInfo:
        return cls(end, DataInterval(start, end))

    @property
    def logical_date(self) -> DateTime | None:
        return self.data_interval.start if self.data_interval else None


class TimeRestriction(NamedTuple):
    """Runs not before ``earliest`` nor after ``latest`` (both inclusive); ``catchup`` False skips missed runs."""

    earliest: DateTime | None
    latest: DateTime | None
    catchup: bool


def convert_to_utc(value: dt.datetime) -> DateTime:
    return pendulum.instance(value.astimezone(pendulum.UTC))


def make_aware(value: dt.datetime, tz: Any) -> DateTime:
    """A naive wall-clock time in ``tz``; an ambiguous (folded) time is its second occurrence."""
    return tz.convert(value.replace(fold=1))  # type: ignore[no-any-return]


def make_naive(value: dt.datetime, tz: Any) -> dt.datetime:
    local = value.astimezone(tz)
    return dt.datetime(local.year, local.month, local.day, local.hour, local.minute, local.second, local.microsecond)


class Schedule:
    """Next/previous schedule times and the data-interval timetable built on them."""

    def get_next(self, current: DateTime) -> DateTime:
        raise NotImplementedError

    def get_prev(self, current: DateTime) -> DateTime:
        raise NotImplementedError

    def align_to_next(self, current: DateTime) -> DateTime:
        raise NotImplementedError

    def align_to_prev(self, current: DateTime) -> DateTime:
        raise NotImplementedError

    def skip_to_latest(self, earliest: DateTime | None, now: DateTime) -> DateTime:
        raise NotImplementedError

    def infer_manual(self, run_after: DateTime) -> DataInterval:
        raise NotImplementedError

    def data_interval_next(
        self, last: DataInterval | None, restriction: TimeRestriction, now: DateTime
    ) -> DagRunInfo | None:
        """``_DataIntervalTimetable.next_dagrun_info``: runs at the END of each interval."""
        earliest = restriction.earliest
        if not restriction.catchup:
            earliest = self.skip_to_latest(earliest, now)
        elif earliest is not None:
            earliest = self.align_to_next(earliest)
        if last is None:
            if earliest is None:
                return None
            start = earliest
        else:
            aligned_end = self.align_to_prev(last.end)
            start = max(aligned_end, earliest) if earliest is not None else aligned_end
            if start <= last.start:  # a schedule change realigned onto the previous run
                start = self.get_next(start)
                if start <= last.start:
                    raise ValueError(f"timetable did not advance past {last.start} after one retry")
        if restriction.latest is not None and start > restriction.latest:
            return None
        return DagRunInfo.interval(start, self.get_next(start))


class CronSchedule(Schedule):
    """A cron expression read in a time zone (croniter on naive wall-clock times, DST fixed)."""

    def __init__(self, expression: str, tz: Any) -> None:
        self.expression, self.tz = expression, tz

    def _every_hour(self, cron: croniter) -> bool:
        """The "fold hour" workaround applies to crons running at least hourly (``_covers_every_hour``)."""
        return bool(cron.expanded[1] == ["*"])

    def get_next(self, current: DateTime) -> DateTime:
        naive = make_naive(current, self.tz)
        cron = croniter(self.expression, start_time=naive)
        scheduled = cron.get_next(dt.datetime)
        if not self._every_hour(cron):
            return convert_to_utc(make_aware(scheduled, self.tz))
        return convert_to_utc(current.in_timezone(self.tz) + (scheduled - naive))

    def get_prev(self, current: DateTime) -> DateTime:
        naive = make_naive(current, self.tz)
        cron = croniter(self.expression, start_time=naive)
        scheduled = cron.get_prev(dt.datetime)
        if not self._every_hour(cron):
            return convert_to_utc(make_aware(scheduled, self.tz))
        return convert_to_utc(current.in_timezone(self.tz) - (naive - scheduled))

    def align_to_next(self, current: DateTime) -> DateTime:
        following = self.get_next(current)
        return following if self.get_prev(following) != current else current

    def align_to_prev(self, current: DateTime) -> DateTime:
        previous = self.get_prev(current)
        return previous if self.get_next(previous) != current else current

    def skip_to_latest(self, earliest: DateTime | None, now: DateTime) -> DateTime:
        """``CronDataIntervalTimetable._skip_to_latest``: the interval that ended last before ``now``."""
        last_start = self.get_prev(now)
        next_start = self.get_next(last_start)
        if next_start == now:
            new_start = last_start
        elif next_start > now:
            new_start = self.get_prev(last_start)
        else:
            raise AssertionError("next schedule shouldn't be earlier")
        return new_start if earliest is None else max(new_start, self.align_to_next(earliest))

    def infer_manual(self, run_after: DateTime) -> DataInterval:
        end = self.align_to_prev(run_after)
        return DataInterval(self.get_prev(end), end)


class DeltaSchedule(Schedule):
    """A timedelta or relativedelta step (UTC arithmetic, as Airflow's)."""

    def __init__(self, delta: dt.timedelta | relativedelta) -> None:
        self.delta = delta

    def get_next(self, current: DateTime) -> DateTime:
        return convert_to_utc(current + self.delta)

    def get_prev(self, current: DateTime) -> DateTime:
        return convert_to_utc(current - self.delta)

    def align_to_next(self, current: DateTime) -> DateTime:
        return current

    def align_to_prev(self, current: DateTime) -> DateTime:
        return current

    def _round(self, value: DateTime, anchor: DateTime) -> DateTime:
        """The latest boundary at or before ``value``: months/years step from ``anchor``, fixed deltas
        round on the epoch grid."""
        delta = self.delta
        if isinstance(delta, relativedelta) and (delta.months or delta.years):
            boundary = anchor
            while self.get_next(boundary) <= value:
                boundary = self.get_next(boundary)
            return boundary
        if isinstance(delta, dt.timedelta):
            seconds = delta.total_seconds()
        else:
            seconds = (
                delta.years * 365 * 24 * 60 * 60
                + delta.months * 30 * 24 * 60 * 60
                + delta.days * 24 * 60 * 60
                + delta.hours * 60 * 60
                + delta.minutes * 60
                + delta.seconds
            )
        stamp = value.timestamp()
        return DateTime.fromtimestamp(stamp - (stamp % seconds), tz=value.tzinfo)

    def skip_to_latest(self, earliest: DateTime | None, now: DateTime) -> DateTime:
        new_start = self.get_prev(self._round(now, earliest or now))
        return new_start if earliest is None else max(new_start, earliest)

    def infer_manual(self, run_after: DateTime) -> DataInterval:
        return DataInterval(self.get_prev(run_after), run_after)
