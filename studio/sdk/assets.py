"""``Asset`` (Airflow 2: ``Dataset``), ``AssetAlias`` and the ``|``/``&`` conditions used as asset
schedules and task outlets. The local engine does not trigger DAGs on assets; these objects describe them."""

from __future__ import annotations

from typing import Any


class BaseAsset:
    """Something a schedule can wait for; combine with ``|`` (any) and ``&`` (all)."""

    def __or__(self, other: BaseAsset) -> AssetAny:
        return AssetAny(self, other)

    def __and__(self, other: BaseAsset) -> AssetAll:
        return AssetAll(self, other)

    def describe(self) -> str:
        raise NotImplementedError


class Asset(BaseAsset):
    """A named data item identified by ``uri`` (each defaults to the other)."""

    def __init__(
        self,
        name: str | None = None,
        uri: str | None = None,
        *,
        group: str = "asset",
        extra: dict[str, Any] | None = None,
        watchers: list[Any] | None = None,
    ) -> None:
        if name is None and uri is None:
            raise TypeError("Asset() requires either 'name' or 'uri'")
        self.name = name if name is not None else str(uri)
        self.uri = uri if uri is not None else str(name)
        self.group = group
        self.extra = dict(extra or {})
        self.watchers = list(watchers or [])

    def __repr__(self) -> str:
        return f"Asset(name={self.name!r}, uri={self.uri!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Asset) and (self.name, self.uri) == (other.name, other.uri)

    def __hash__(self) -> int:
        return hash((self.name, self.uri))

    def describe(self) -> str:
        return self.uri


Dataset = Asset


class AssetAlias(BaseAsset):
    """A name standing for assets decided at run time."""

    def __init__(self, name: str, group: str = "asset") -> None:
        self.name, self.group = name, group

    def describe(self) -> str:
        return f"alias:{self.name}"


class _AssetBooleanCondition(BaseAsset):
    joiner = ""

    def __init__(self, *objects: BaseAsset) -> None:
        self.objects = list(objects)

    def describe(self) -> str:
        return "(" + f" {self.joiner} ".join(o.describe() for o in self.objects) + ")"


class AssetAny(_AssetBooleanCondition):
    joiner = "|"


class AssetAll(_AssetBooleanCondition):
    joiner = "&"


def describe_schedule(schedule: Any) -> str | None:
    """A DAG's schedule as text: cron/preset strings as given, timedeltas in seconds, assets by uri."""
    import datetime as dt

    if schedule is None or isinstance(schedule, str):
        return schedule
    if isinstance(schedule, dt.timedelta):
        return f"timedelta:{schedule.total_seconds():g}"
    if isinstance(schedule, BaseAsset):
        return f"assets:{schedule.describe()}"
    if isinstance(schedule, (list, tuple)) and all(isinstance(s, BaseAsset) for s in schedule):
        return "assets:" + " & ".join(s.describe() for s in schedule)
    return repr(schedule)
