"""Typed values that a DAG or task argument can hold, and their JSON form.

Plain JSON values (str, int, float, bool, None, list, dict with str keys) stand for themselves.
Everything else Airflow users write as an argument is one of the small frozen classes below; in a
project file each is a JSON object tagged with ``"$type"`` so the file stays readable and diffable:

====================  ==========================================================  ==========================
class                 JSON                                                        Python it generates
====================  ==========================================================  ==========================
``timedelta``         ``{"$type": "timedelta", "seconds": 300}``                  ``timedelta(minutes=5)``
``DateTime``          ``{"$type": "datetime", "iso": "2024-01-01T00:00:00",       ``pendulum.datetime(2024,
                      "tz": "Europe/Amsterdam"}``                                 1, 1, tz="Europe/...")``
``CallableRef``       ``{"$type": "callable", "name": "extract"}``                ``extract``
``XComRef``           ``{"$type": "xcom", "task_id": "extract", "key": ...}``     ``extract.output``
``ParamValue``        ``{"$type": "param", "default": 1, "schema": {...}}``       ``Param(1, type=...)``
``CodeExpr``          ``{"$type": "code", "source": "Variable.get('x')"}``        the source, verbatim
====================  ==========================================================  ==========================

``CodeExpr`` is how the importer keeps anything it cannot represent: never dropped, never executed.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CallableRef",
    "CodeExpr",
    "DateTime",
    "ParamValue",
    "Value",
    "ValueError_",
    "XComRef",
    "from_json",
    "to_json",
]


class ValueError_(ValueError):
    """A JSON value that cannot be turned into a model value (bad ``$type`` or fields)."""


@dataclass(frozen=True)
class DateTime:
    """A wall-clock date and time with an optional IANA time zone name (None = Airflow's default, UTC)."""

    value: _dt.datetime  # naive; the zone is ``tz``
    tz: str | None = None

    def __post_init__(self) -> None:
        if self.value.tzinfo is not None:
            raise ValueError_("DateTime.value must be naive; put the zone name in tz")

    def iso(self) -> str:
        return self.value.isoformat()


@dataclass(frozen=True)
class CallableRef:
    """A function defined in the DAG's module code (``dags/<dag_id>.py`` of a project)."""

    name: str


@dataclass(frozen=True)
class XComRef:
    """The XCom value another task pushes (``task.output`` / the result of a TaskFlow call)."""

    task_id: str
    key: str = "return_value"


@dataclass(frozen=True)
class ParamValue:
    """An Airflow ``Param``: a default plus JSON-schema keywords (type, enum, minimum, description...)."""

    default: Any = None
    schema: dict[str, Any] = field(default_factory=dict)
    has_default: bool = True

    def __hash__(self) -> int:  # schema is a dict; hash on its JSON form
        import json

        return hash(
            (json.dumps(to_json(self.default), sort_keys=True), json.dumps(to_json(self.schema), sort_keys=True))
        )


@dataclass(frozen=True)
class CodeExpr:
    """A Python expression kept verbatim (anything the model does not represent structurally)."""

    source: str


Value = (
    None
    | bool
    | int
    | float
    | str
    | list
    | dict
    | _dt.timedelta
    | DateTime
    | CallableRef
    | XComRef
    | ParamValue
    | CodeExpr
)


def to_json(value: Any) -> Any:
    """The JSON-ready form of a model value (see the module docstring for the tags)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, _dt.timedelta):
        seconds = value.total_seconds()
        return {"$type": "timedelta", "seconds": int(seconds) if seconds == int(seconds) else seconds}
    if isinstance(value, DateTime):
        return {"$type": "datetime", "iso": value.iso(), "tz": value.tz}
    if isinstance(value, CallableRef):
        return {"$type": "callable", "name": value.name}
    if isinstance(value, XComRef):
        out: dict[str, Any] = {"$type": "xcom", "task_id": value.task_id}
        if value.key != "return_value":
            out["key"] = value.key
        return out
    if isinstance(value, ParamValue):
        out = {"$type": "param"}
        if value.has_default:
            out["default"] = to_json(value.default)
        if value.schema:
            out["schema"] = to_json(value.schema)
        return out
    if isinstance(value, CodeExpr):
        return {"$type": "code", "source": value.source}
    raise TypeError(f"not a model value: {value!r} ({type(value).__name__})")


def _require(obj: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    if key not in obj:
        raise ValueError_(f"{obj.get('$type')!r} value needs {key!r}")
    val = obj[key]
    if not isinstance(val, kind) or (isinstance(val, bool) and kind is not bool):
        raise ValueError_(f"{obj.get('$type')!r} value: {key!r} has the wrong type ({type(val).__name__})")
    return val


def from_json(data: Any) -> Any:
    """The model value for a JSON value; raises ``ValueError_`` on a malformed ``$type`` object."""
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [from_json(v) for v in data]
    if not isinstance(data, dict):
        raise ValueError_(f"not a JSON value: {data!r}")
    kind = data.get("$type")
    if kind is None:
        return {k: from_json(v) for k, v in data.items()}
    if kind == "timedelta":
        try:
            return _dt.timedelta(seconds=_require(data, "seconds", (int, float)))
        except (OverflowError, ValueError) as exc:  # NaN, infinity, more than 999999999 days
            if isinstance(exc, ValueError_):
                raise
            raise ValueError_(f"'timedelta' value: seconds out of range ({exc})") from None
    if kind == "datetime":
        iso = _require(data, "iso", str)
        tz = data.get("tz")
        if tz is not None and not isinstance(tz, str):
            raise ValueError_("'datetime' value: 'tz' must be a string or null")
        try:
            value = _dt.datetime.fromisoformat(iso)
        except ValueError as exc:
            raise ValueError_(f"'datetime' value: {exc}") from None
        if value.tzinfo is not None:
            raise ValueError_("'datetime' value: 'iso' must not carry an offset; use 'tz'")
        return DateTime(value, tz)
    if kind == "callable":
        return CallableRef(_require(data, "name", str))
    if kind == "xcom":
        key = data.get("key", "return_value")
        if not isinstance(key, str):
            raise ValueError_("'xcom' value: 'key' must be a string")
        return XComRef(_require(data, "task_id", str), key)
    if kind == "param":
        schema = data.get("schema", {})
        if not isinstance(schema, dict):
            raise ValueError_("'param' value: 'schema' must be an object")
        return ParamValue(from_json(data.get("default")), from_json(schema), "default" in data)
    if kind == "code":
        return CodeExpr(_require(data, "source", str))
    raise ValueError_(f"unknown value type {kind!r}")


def type_name(value: Any) -> str:
    """A user-facing name of a value's type, for messages."""
    names = {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "list",
        tuple: "list",
        dict: "dict",
        _dt.timedelta: "timedelta",
        DateTime: "datetime",
        CallableRef: "callable",
        XComRef: "XCom reference",
        ParamValue: "Param",
        CodeExpr: "code expression",
    }
    if value is None:
        return "None"
    return names.get(type(value), type(value).__name__)
