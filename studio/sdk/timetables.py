"""Airflow's timetable classes as DAG files import them (``airflow.timetables.*`` and ``airflow.sdk``),
and ``create_timetable``: the timetable a DAG's ``schedule`` stands for (Airflow 3 or Airflow 2 mapping).

These classes only describe a schedule; ``studio.runtime.timetables`` computes the runs from the
description. Nothing here imports croniter (DAG-file import stays light); pendulum is imported lazily
when a DAG is described. Constructor signatures are Airflow 3.3's (the core ``airflow.timetables`` ones,
which also accept the ``airflow.sdk`` spellings: ``expression=``, a positional ``timezone``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

# airflow/sdk/definitions/timetables/_cron.py CRON_PRESETS (also airflow/utils/dates.py cron_presets).
CRON_PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
}
_RELATIVEDELTA_FIELDS = (
    "years", "months", "days", "leapdays", "hours", "minutes", "seconds", "microseconds",
    "year", "month", "day", "hour", "minute", "second", "microsecond",
)  # fmt: skip


def encode_delta(value: Any) -> dict[str, Any]:
    """A ``timedelta`` as ``{"seconds": s}``, a ``relativedelta`` as ``{"relativedelta": {field: v}}``."""
    if isinstance(value, dt.timedelta):
        return {"seconds": value.total_seconds()}
    fields = {name: getattr(value, name) for name in _RELATIVEDELTA_FIELDS if getattr(value, name, None)}
    weekday = getattr(value, "weekday", None)
    if weekday is not None:
        fields["weekday"] = [weekday.weekday, weekday.n]
    return {"relativedelta": fields}


def timezone_name(tz: Any) -> str:
    """An IANA name (``"Europe/Amsterdam"``, ``"UTC"``) or a fixed offset (``"+02:00"``), as pendulum names it."""
    import pendulum

    if isinstance(tz, str):
        return str(pendulum.timezone(tz).name)
    if tz is None or tz is dt.UTC:
        return "UTC"
    return str(pendulum.instance(dt.datetime(2000, 1, 1, tzinfo=tz)).tzinfo.name)


class Timetable:
    """The base of every timetable (Airflow's ``BaseTimetable``): what the scheduler needs to know."""

    kind = ""
    description = ""
    periodic = True
    can_be_scheduled = True
    active_runs_limit: int | None = None

    def describe(self) -> dict[str, Any]:
        """The kind-specific part of the description (docs/ENGINE.md, "Timetables")."""
        return {}

    @property
    def summary(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.summary})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.describe() == other.describe()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(type(self).__name__)


BaseTimetable = Timetable


class NullTimetable(Timetable):
    """``schedule=None``: never scheduled, manual runs only."""

    kind, description, periodic, can_be_scheduled = "null", "Never, external triggers only", False, False

    @property
    def summary(self) -> str:
        return "None"


class OnceTimetable(Timetable):
    """``schedule="@once"``: one run at the start date (or as soon as possible)."""

    kind, description, periodic = "once", "Once, as soon as possible", False

    @property
    def summary(self) -> str:
        return "@once"


class ContinuousTimetable(Timetable):
    """``schedule="@continuous"``: a new run as soon as the previous one ends (one at a time)."""

    kind, description, periodic, active_runs_limit = "continuous", "As frequently as possible", False, 1

    @property
    def summary(self) -> str:
        return "@continuous"


class _Cron(Timetable):
    def __init__(self, cron: str | None, timezone: Any, expression: str | None) -> None:
        cron = cron if cron is not None else expression
        if not isinstance(cron, str):
            raise TypeError(f"{type(self).__name__}() requires a cron expression string, got {cron!r}")
        if timezone is None:
            raise TypeError(f"{type(self).__name__}() missing required argument: 'timezone'")
        self.expression = CRON_PRESETS.get(cron, cron)
        self.timezone = timezone

    @property
    def summary(self) -> str:
        return self.expression

    def describe(self) -> dict[str, Any]:
        return {"expression": self.expression, "timezone": timezone_name(self.timezone)}


class CronDataIntervalTimetable(_Cron):
    """Data intervals between consecutive cron times; a run starts at the END of its interval."""

    kind = "cron_data_interval"

    def __init__(self, cron: str | None = None, timezone: Any = None, *, expression: str | None = None) -> None:
        super().__init__(cron, timezone, expression)


class CronTriggerTimetable(_Cron):
    """A run at each cron time (like cron); its data interval is ``interval`` long, ending then."""

    kind = "cron_trigger"

    def __init__(
        self,
        cron: str | None = None,
        timezone: Any = None,
        *,
        interval: Any = dt.timedelta(),
        run_immediately: bool | dt.timedelta = False,
        expression: str | None = None,
    ) -> None:
        super().__init__(cron, timezone, expression)
        self.interval, self.run_immediately = interval, run_immediately

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), **_trigger_fields(self.interval, self.run_immediately)}


def _trigger_fields(interval: Any, run_immediately: Any) -> dict[str, Any]:
    if isinstance(run_immediately, dt.timedelta):
        run_immediately = run_immediately.total_seconds()
    return {"interval": encode_delta(interval), "run_immediately": run_immediately}


class MultipleCronTriggerTimetable(Timetable):
    """Runs at the times of any of several crons (one run when several fire together)."""

    kind = "multiple_cron_trigger"

    def __init__(
        self,
        *crons: str,
        timezone: Any,
        interval: Any = dt.timedelta(),
        run_immediately: bool | dt.timedelta = False,
    ) -> None:
        if not crons:
            raise ValueError("cron expression required")
        self.timetables = [
            CronTriggerTimetable(c, timezone=timezone, interval=interval, run_immediately=run_immediately)
            for c in crons
        ]
        self.timezone, self.interval, self.run_immediately = timezone, interval, run_immediately

    @property
    def summary(self) -> str:
        return ", ".join(t.summary for t in self.timetables)

    def describe(self) -> dict[str, Any]:
        return {
            "expressions": [t.expression for t in self.timetables],
            "timezone": timezone_name(self.timezone),
            **_trigger_fields(self.interval, self.run_immediately),
        }


class _Delta(Timetable):
    def __init__(self, delta: Any) -> None:
        if not isinstance(delta, dt.timedelta) and not hasattr(delta, "months"):
            raise TypeError(f"{type(self).__name__}() requires a timedelta or relativedelta, got {delta!r}")
        self.delta = delta

    @property
    def summary(self) -> str:
        return str(self.delta)

    def describe(self) -> dict[str, Any]:
        return {"delta": encode_delta(self.delta)}


class DeltaDataIntervalTimetable(_Delta):
    """Data intervals of a fixed length; a run starts at the END of its interval."""

    kind = "delta_data_interval"


class DeltaTriggerTimetable(_Delta):
    """A run every ``delta``; its data interval is ``interval`` long, ending then."""

    kind = "delta_trigger"

    def __init__(self, delta: Any, *, interval: Any = dt.timedelta()) -> None:
        super().__init__(delta)
        self.interval = interval

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "interval": encode_delta(self.interval)}


class EventsTimetable(Timetable):
    """Runs at listed datetimes (duplicates ignored)."""

    kind = "events"

    def __init__(
        self,
        event_dates: Iterable[dt.datetime],
        restrict_to_events: bool = False,
        presorted: bool = False,
        description: str | None = None,
    ) -> None:
        self.event_dates = list(event_dates) if presorted else sorted(event_dates)
        self.restrict_to_events = restrict_to_events
        if description is None:
            self.description = f"{len(self.event_dates)} events" if self.event_dates else "No events"
        else:
            self.description = description

    @property
    def summary(self) -> str:
        return self.description

    def describe(self) -> dict[str, Any]:
        return {
            "events": [_aware_iso(d) for d in self.event_dates],
            "restrict_to_events": bool(self.restrict_to_events),
        }


class AssetOrTimeSchedule(Timetable):
    """Runs on the inner ``timetable``'s times and (in Airflow) when ``assets`` are updated."""

    def __init__(self, *, timetable: Timetable, assets: Any) -> None:
        self.timetable, self.assets = timetable, assets
        self.kind = timetable.kind
        self.periodic, self.can_be_scheduled = timetable.periodic, timetable.can_be_scheduled
        self.active_runs_limit = timetable.active_runs_limit

    @property
    def summary(self) -> str:
        return f"Asset or {self.timetable.summary}"

    def describe(self) -> dict[str, Any]:
        from studio.sdk.assets import describe_schedule

        assets = self.assets if not isinstance(self.assets, (list, tuple)) else list(self.assets)
        return {**self.timetable.describe(), "assets": describe_schedule(assets)}


class AssetTriggeredTimetable(Timetable):
    """``schedule=<assets>``: triggered by asset updates, never by time (not by the local scheduler)."""

    kind, description = "asset", "Triggered by assets"

    def __init__(self, assets: Any) -> None:
        self.assets = assets

    @property
    def summary(self) -> str:
        return "Asset"

    def describe(self) -> dict[str, Any]:
        from studio.sdk.assets import describe_schedule

        return {"assets": describe_schedule(self.assets)}


def _aware_iso(value: dt.datetime) -> str:
    return (value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)).isoformat()


def create_timetable(schedule: Any, timezone: Any, *, airflow2: bool = False) -> Timetable:
    """The timetable for a DAG's ``schedule`` (``_create_timetable`` of airflow/sdk/definitions/dag.py).

    Airflow 3.3 with its default config (``[scheduler] create_cron_data_intervals = False``; the
    timedelta branch reads the same option) maps a cron string or preset to ``CronTriggerTimetable``
    and a timedelta/relativedelta to ``DeltaTriggerTimetable``. Airflow 2 files (``airflow2``) get
    Airflow 2's mapping: ``CronDataIntervalTimetable`` / ``DeltaDataIntervalTimetable``."""
    from studio.sdk.assets import AssetAll, BaseAsset

    if isinstance(schedule, Timetable):
        return schedule
    if isinstance(schedule, BaseAsset):
        return AssetTriggeredTimetable(schedule)
    if isinstance(schedule, (list, tuple, set, frozenset)) and schedule:
        if not all(isinstance(x, BaseAsset) for x in schedule):
            raise ValueError("All elements in 'schedule' should be either assets, asset references, or asset aliases")
        return AssetTriggeredTimetable(AssetAll(*schedule))
    if schedule is None:
        return NullTimetable()
    if schedule == "@once":
        return OnceTimetable()
    if schedule == "@continuous":
        return ContinuousTimetable()
    if isinstance(schedule, dt.timedelta) or hasattr(schedule, "months"):
        return DeltaDataIntervalTimetable(schedule) if airflow2 else DeltaTriggerTimetable(schedule)
    if isinstance(schedule, str):
        if airflow2:
            return CronDataIntervalTimetable(schedule, timezone)
        return CronTriggerTimetable(schedule, timezone=timezone)
    raise ValueError(f"{schedule!r} is not a valid schedule.")


__all__ = [
    "AssetOrTimeSchedule",
    "AssetTriggeredTimetable",
    "BaseTimetable",
    "ContinuousTimetable",
    "CronDataIntervalTimetable",
    "CronTriggerTimetable",
    "DeltaDataIntervalTimetable",
    "DeltaTriggerTimetable",
    "EventsTimetable",
    "MultipleCronTriggerTimetable",
    "NullTimetable",
    "OnceTimetable",
    "Timetable",
    "create_timetable",
]
