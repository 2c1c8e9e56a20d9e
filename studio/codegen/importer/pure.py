"""Pure functions the importer may evaluate while reading a DAG file (never the file's own code).

Only side-effect-free, deterministic operations on literal values are evaluated: a few builtins
(``range``, ``len``, ``enumerate``, ``zip``...), ``str``/``list``/``dict`` methods, ``timedelta``,
``datetime``, ``pendulum.datetime``/``duration``/``timezone``, ``textwrap.dedent``. Each raises
``NotConstant`` when its arguments are not plain values, so the caller keeps the expression as code.
Sizes are bounded so a hostile file cannot make the importer build huge values.
"""

from __future__ import annotations

import datetime as _dt
import inspect
import os.path
import textwrap
from collections.abc import Callable
from typing import Any

from studio.codegen.importer.objects import SourceFile, Timezone
from studio.core.values import DateTime

MAX_ITEMS = 100_000  # longest list/range/string the importer builds


class NotConstant(Exception):
    """The operation needs a value that is only known when the file runs."""


PLAIN = (str, int, float, bool, type(None), _dt.timedelta, DateTime, Timezone)


def is_plain(value: Any, depth: int = 0) -> bool:
    """Plain data: literals, containers of literals, durations, dates, time zones."""
    if isinstance(value, PLAIN):
        return True
    if depth > 20:
        return False
    if isinstance(value, (list, tuple, set, frozenset)):
        return all(is_plain(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(is_plain(k, depth + 1) and is_plain(v, depth + 1) for k, v in value.items())
    return False


def require_plain(*values: Any) -> None:
    for value in values:
        if not is_plain(value):
            raise NotConstant


def check_size(value: Any) -> Any:
    if isinstance(value, (str, list, tuple)) and len(value) > MAX_ITEMS:
        raise NotConstant
    return value


def _range(*args: Any) -> list[int]:
    if not all(isinstance(a, int) and not isinstance(a, bool) for a in args) or not 1 <= len(args) <= 3:
        raise NotConstant
    r = range(*args)
    if len(r) > MAX_ITEMS:
        raise NotConstant
    return list(r)


def _plain_builtin(fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        require_plain(*args, *kwargs.values())
        try:
            return check_size(fn(*args, **kwargs))
        except (TypeError, ValueError, OverflowError, KeyError, IndexError) as exc:
            raise NotConstant from exc

    return call


def _any_items(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Builtins that only iterate their argument (its items may be tasks: ``enumerate(tasks)``)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        for arg in args:
            if not isinstance(arg, (list, tuple, str, dict, set, frozenset)):
                require_plain(arg)
        require_plain(*kwargs.values())
        try:
            return check_size(fn(*args, **kwargs))
        except (TypeError, ValueError) as exc:
            raise NotConstant from exc

    return call


BUILTINS: dict[str, Callable[..., Any]] = {
    "range": _range,
    "len": _any_items(len),
    "list": _any_items(list),
    "tuple": _any_items(tuple),
    "enumerate": _any_items(lambda *a, **k: list(enumerate(*a, **k))),
    "zip": _any_items(lambda *a: list(zip(*a))),
    "reversed": _any_items(lambda a: list(reversed(a))),
    "str": _plain_builtin(str),
    "int": _plain_builtin(int),
    "float": _plain_builtin(float),
    "bool": _plain_builtin(bool),
    "dict": _plain_builtin(dict),
    "set": _plain_builtin(set),
    "sorted": _plain_builtin(sorted),
    "min": _plain_builtin(min),
    "max": _plain_builtin(max),
    "sum": _plain_builtin(sum),
    "abs": _plain_builtin(abs),
    "round": _plain_builtin(round),
    "any": _plain_builtin(any),
    "all": _plain_builtin(all),
}


# --- dates, durations, time zones -----------------------------------------------------------------
def _timedelta(*args: Any, **kwargs: Any) -> _dt.timedelta:
    require_plain(*args, *kwargs.values())
    try:
        return _dt.timedelta(*args, **kwargs)
    except (TypeError, ValueError, OverflowError) as exc:
        raise NotConstant from exc


def _duration(**kwargs: Any) -> _dt.timedelta:
    if set(kwargs) - {"weeks", "days", "hours", "minutes", "seconds", "milliseconds", "microseconds"}:
        raise NotConstant  # years/months are calendar-dependent
    return _timedelta(**kwargs)


def _zone_name(tz: Any) -> str | None:
    if tz is None:
        return None
    if isinstance(tz, Timezone):
        return tz.name
    if isinstance(tz, str):
        return tz
    raise NotConstant


def _datetime(*args: Any, tzinfo: Any = None, **kwargs: Any) -> DateTime:
    require_plain(*args, *kwargs.values())
    tz = _zone_name(tzinfo)
    try:
        return DateTime(_dt.datetime(*args, **kwargs), tz)
    except (TypeError, ValueError, OverflowError) as exc:
        raise NotConstant from exc


def _pendulum_datetime(*args: Any, tz: Any = None, **kwargs: Any) -> DateTime:
    if "tzinfo" in kwargs:
        raise NotConstant
    return _datetime(*args, tzinfo=tz, **kwargs)


def _timezone(source: str) -> Callable[..., Timezone]:
    def call(name: Any) -> Timezone:
        if not isinstance(name, str):
            raise NotConstant
        return Timezone(name, source)

    return call


def _text(fn: Callable[..., str]) -> Callable[..., str]:
    def call(*args: Any, **kwargs: Any) -> str:
        if not args or not isinstance(args[0], str):
            raise NotConstant
        require_plain(*args, *kwargs.values())
        return fn(*args, **kwargs)

    return call


def _path(value: Any) -> Any:
    if isinstance(value, SourceFile):
        return value
    raise NotConstant


def _basename(value: Any) -> str:
    if isinstance(value, SourceFile):
        return value.name
    if isinstance(value, str):
        return os.path.basename(value)
    raise NotConstant


def _splitext(value: Any) -> tuple[str, str]:
    if isinstance(value, str):
        return os.path.splitext(value)
    raise NotConstant


def known_function(path: str, source: str) -> Callable[..., Any] | None:
    """The evaluator for an imported function path, or None."""
    if path in ("pendulum.timezone", "pendulum.Timezone", "zoneinfo.ZoneInfo", "pytz.timezone"):
        return _timezone(source)
    return _FUNCTIONS.get(path)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "datetime.timedelta": _timedelta,
    "datetime.datetime": _datetime,
    "pendulum.datetime": _pendulum_datetime,
    "pendulum.duration": _duration,
    "textwrap.dedent": _text(textwrap.dedent),
    "textwrap.indent": _text(textwrap.indent),
    "inspect.cleandoc": _text(inspect.cleandoc),
    "pathlib.Path": _path,
    "os.path.basename": _basename,
    "os.path.splitext": _splitext,
}

# Calls whose value changes from one parse to the next: kept as code, with a warning.
NONDETERMINISTIC = {
    "datetime.datetime.now",
    "datetime.datetime.utcnow",
    "datetime.datetime.today",
    "datetime.date.today",
    "pendulum.now",
    "pendulum.today",
    "pendulum.yesterday",
    "pendulum.tomorrow",
    "airflow.utils.dates.days_ago",
    "airflow.utils.timezone.utcnow",
    "airflow.sdk.timezone.utcnow",
    "time.time",
}

KNOWN_ATTRIBUTES: dict[str, str] = {"datetime.timezone.utc": "UTC", "pendulum.UTC": "UTC", "pytz.utc": "UTC"}


# --- methods of plain values ----------------------------------------------------------------------
_STR_METHODS = {
    "format",
    "join",
    "upper",
    "lower",
    "replace",
    "strip",
    "lstrip",
    "rstrip",
    "split",
    "rsplit",
    "title",
    "capitalize",
    "startswith",
    "endswith",
    "zfill",
    "removeprefix",
    "removesuffix",
    "casefold",
    "center",
    "ljust",
    "rjust",
    "count",
    "find",
    "splitlines",
}
_LIST_READ = {"index", "count", "copy"}
_LIST_WRITE = {"append", "extend", "insert", "pop", "remove", "reverse"}
_DICT_READ = {"get", "items", "keys", "values", "copy"}
_DICT_WRITE = {"update", "setdefault", "pop"}


def mutates(obj: Any, name: str) -> bool:
    """Whether ``obj.name(...)`` changes a list or dict in place (``append``, ``update``...)."""
    return (isinstance(obj, list) and name in _LIST_WRITE) or (isinstance(obj, dict) and name in _DICT_WRITE)


def has_method(obj: Any, name: str) -> bool:
    if isinstance(obj, str):
        return name in _STR_METHODS
    if isinstance(obj, list):
        return name in _LIST_READ or name in _LIST_WRITE
    if isinstance(obj, tuple):
        return name in ("index", "count")
    if isinstance(obj, dict):
        return name in _DICT_READ or name in _DICT_WRITE
    return False


def call_method(obj: Any, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """``obj.name(*args, **kwargs)`` for a plain container or string; mutating list/dict methods allowed."""
    if isinstance(obj, str) or name in _LIST_READ or name in _DICT_READ - {"items", "keys", "values", "copy"}:
        require_plain(*args, *kwargs.values())
    try:
        result = getattr(obj, name)(*args, **kwargs)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        raise NotConstant from exc
    if isinstance(obj, dict) and name in ("items", "keys", "values"):
        return list(result)
    return check_size(result)
