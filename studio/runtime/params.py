"""Validation of a run's params: ``--conf`` merged over the DAG's ``Param``s, checked like Airflow.

Airflow's ``DAG.create_dagrun`` deep-merges the run's conf over ``dag.params`` and validates every
``Param`` (``jsonschema.validate(value, schema, format_checker=FormatChecker())``); a value that fails
raises ``ParamValidationError`` and no run is created. ``resolve_params`` does the same on the
description's params (``{"default", "schema"}``, see ``studio.sdk.describe``) with a small validator for
the JSON-schema keywords Airflow users write: ``type`` (a name or a list, incl. ``"null"``), ``enum``,
``const``, ``minimum``/``maximum``, ``exclusiveMinimum``/``exclusiveMaximum``, ``multipleOf``,
``minLength``/``maxLength``, ``pattern``, ``format`` (date and email; date-time and time pass, as in Airflow without rfc3339-validator),
``items`` (a schema), ``minItems``/``maxItems``, ``properties``/``required`` and ``anyOf``/``oneOf``.
Other keywords are accepted unchecked. Conf keys that are not params pass through, unvalidated.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from studio.core.diagnostics import Diagnostic, StudioError

_TYPES: dict[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list | tuple),
    "object": lambda v: isinstance(v, dict),
}


class ParamError(StudioError):
    """A param's value does not satisfy its schema (``dagstudio run`` exits 2, nothing is written)."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        self.message = message
        super().__init__(Diagnostic("error", f"invalid param {name!r}: {message}"))


def resolve_params(params: dict[str, dict[str, Any]], conf: dict[str, Any]) -> dict[str, Any]:
    """The run's params: each DAG param's default, overridden by ``conf``; every param validated.

    A param without a default (its description's default is None) that ``conf`` does not set is
    validated as None: like Airflow's "No value passed and Param has no default value" (or a None
    default failing its schema), it is an error unless the schema allows null."""
    out = dict(conf)
    for name, param in params.items():
        schema = param.get("schema") or {}
        given = name in conf
        value = conf[name] if given else param.get("default")
        problem = check(value, schema)
        if problem is not None:
            if not given and value is None:
                problem = "no value passed and the param has no default value (set it with --conf)"
            raise ParamError(name, problem)
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise ParamError(name, "the value is not JSON-serializable") from None
        out[name] = value
    return out


def check(value: Any, schema: Any, where: str = "") -> str | None:
    """The first problem of ``value`` against ``schema`` (None when it is valid)."""
    if schema is True or not isinstance(schema, dict):
        return None
    at = f" at {where}" if where else ""
    for checker in (_check_type, _check_values, _check_number, _check_string, _check_array, _check_object):
        problem = checker(value, schema)
        if problem is not None:
            return problem + at
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            passing = sum(check(value, option) is None for option in options)
            if passing == 0 or (key == "oneOf" and passing > 1):
                return f"{_show(value)} does not match {'any' if key == 'anyOf' else 'exactly one'} of {key}" + at
    for option in schema.get("allOf") or ():
        problem = check(value, option, where)
        if problem is not None:
            return problem
    return None


def _check_type(value: Any, schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if kind is None:
        return None
    kinds = kind if isinstance(kind, list) else [kind]
    if any(_TYPES.get(k, lambda v: True)(value) for k in kinds):
        return None
    wanted = " or ".join(repr(k) for k in kinds)
    return f"{_show(value)} is not of type {wanted}"


def _check_values(value: Any, schema: dict[str, Any]) -> str | None:
    if "enum" in schema and not any(_equal(value, option) for option in schema["enum"] or ()):
        return f"{_show(value)} is not one of {schema['enum']!r}"
    if "const" in schema and not _equal(value, schema["const"]):
        return f"{_show(value)} is not {schema['const']!r}"
    return None


def _check_number(value: Any, schema: dict[str, Any]) -> str | None:
    if not _TYPES["number"](value):
        return None
    if "minimum" in schema and value < schema["minimum"]:
        return f"{value!r} is less than the minimum of {schema['minimum']!r}"
    if "maximum" in schema and value > schema["maximum"]:
        return f"{value!r} is greater than the maximum of {schema['maximum']!r}"
    low, high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if isinstance(low, int | float) and not isinstance(low, bool) and value <= low:
        return f"{value!r} is less than or equal to the exclusive minimum of {low!r}"
    if isinstance(high, int | float) and not isinstance(high, bool) and value >= high:
        return f"{value!r} is greater than or equal to the exclusive maximum of {high!r}"
    step = schema.get("multipleOf")
    if step and (value / step) != int(value / step):
        return f"{value!r} is not a multiple of {step!r}"
    return None


def _check_string(value: Any, schema: dict[str, Any]) -> str | None:
    if not isinstance(value, str):
        return None
    if "minLength" in schema and len(value) < schema["minLength"]:
        return f"{_show(value)} is shorter than {schema['minLength']} characters"
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        return f"{_show(value)} is longer than {schema['maxLength']} characters"
    pattern = schema.get("pattern")
    if pattern is not None:
        try:
            if re.search(pattern, value) is None:
                return f"{_show(value)} does not match {pattern!r}"
        except re.error:
            return None
    fmt = schema.get("format")
    if fmt is not None and not _format_ok(fmt, value):
        return f"{_show(value)} is not a {fmt!r}"
    return None


def _format_ok(fmt: str, value: str) -> bool:
    """``format`` as Airflow 3.3.2's ``FormatChecker()`` checks it: ``date`` (ISO 8601 date) and ``email``
    (has an ``@``); ``date-time`` and ``time`` need ``rfc3339-validator``, which Airflow does not
    install, so they (and other formats) pass unchecked, as in Airflow."""
    if fmt == "date":
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return False
        return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value))
    if fmt == "email":
        return "@" in value
    return True


def _check_array(value: Any, schema: dict[str, Any]) -> str | None:
    if not isinstance(value, list | tuple):
        return None
    if "minItems" in schema and len(value) < schema["minItems"]:
        return f"{_show(value)} has fewer than {schema['minItems']} items"
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        return f"{_show(value)} has more than {schema['maxItems']} items"
    if schema.get("uniqueItems") and len({json.dumps(v, sort_keys=True) for v in value}) < len(value):
        return f"{_show(value)} has non-unique items"
    items = schema.get("items")
    if isinstance(items, dict):
        for index, item in enumerate(value):
            problem = check(item, items, f"item {index}")
            if problem is not None:
                return problem
    return None


def _check_object(value: Any, schema: dict[str, Any]) -> str | None:
    if not isinstance(value, dict):
        return None
    for key in schema.get("required") or ():
        if key not in value:
            return f"{key!r} is a required property"
    for key, sub in (schema.get("properties") or {}).items():
        if key in value:
            problem = check(value[key], sub, f"property {key!r}")
            if problem is not None:
                return problem
    return None


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but True != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _show(value: Any) -> str:
    text = json.dumps(value) if _jsonable(value) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
