"""``Param`` and ``ParamsDict``: DAG/task params with defaults and JSON-schema validation.

Airflow validates with the ``jsonschema`` package; the sdk may not depend on it, so this module checks the
schema keywords DAG authors use (type, enum, const, minimum/maximum, exclusive bounds, multipleOf,
minLength/maxLength, pattern, format date/date-time, items, minItems/maxItems, uniqueItems, required,
properties, additionalProperties). Unknown keywords are accepted, like jsonschema does.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import ItemsView, Iterator, Mapping, MutableMapping, ValuesView
from typing import Any

from studio.sdk.exceptions import ParamValidationError

NOTSET: Any = type("ArgNotSet", (), {"__repr__": lambda self: "NOTSET"})()

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list, tuple),
    "object": (dict,),
    "null": (type(None),),
}


def _type_ok(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(name, (object,)))


def _format_ok(value: Any, fmt: str) -> bool:
    if not isinstance(value, str):
        return True
    try:
        if fmt == "date":
            dt.date.fromisoformat(value)
        elif fmt == "date-time":
            dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        elif fmt == "time":
            dt.time.fromisoformat(value)
    except ValueError:
        return False
    return True


def validate_schema(value: Any, schema: Mapping[str, Any], path: str = "value") -> None:
    """Raise ``ParamValidationError`` when ``value`` does not satisfy ``schema``."""
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not any(_type_ok(value, name) for name in names):
            raise ParamValidationError(f"{value!r} is not of type {' or '.join(map(repr, names))} ({path})")
    if "enum" in schema and value not in schema["enum"]:
        raise ParamValidationError(f"{value!r} is not one of {schema['enum']!r} ({path})")
    if "const" in schema and value != schema["const"]:
        raise ParamValidationError(f"{value!r} was expected to be {schema['const']!r} ({path})")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_number(value, schema, path)
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            raise ParamValidationError(f"{value!r} is too short ({path})")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise ParamValidationError(f"{value!r} is too long ({path})")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            raise ParamValidationError(f"{value!r} does not match {schema['pattern']!r} ({path})")
        if "format" in schema and not _format_ok(value, schema["format"]):
            raise ParamValidationError(f"{value!r} is not a {schema['format']!r} ({path})")
    if isinstance(value, (list, tuple)):
        _check_array(value, schema, path)
    if isinstance(value, dict):
        _check_object(value, schema, path)


def _check_number(value: float, schema: Mapping[str, Any], path: str) -> None:
    checks = (
        ("minimum", lambda b: value < b, "less than the minimum of"),
        ("maximum", lambda b: value > b, "greater than the maximum of"),
        ("exclusiveMinimum", lambda b: value <= b, "less than or equal to the minimum of"),
        ("exclusiveMaximum", lambda b: value >= b, "greater than or equal to the maximum of"),
        ("multipleOf", lambda b: (value / b) != int(value / b), "not a multiple of"),
    )
    for key, failed, text in checks:
        if key in schema and failed(schema[key]):
            raise ParamValidationError(f"{value!r} is {text} {schema[key]!r} ({path})")


def _check_array(value: list | tuple, schema: Mapping[str, Any], path: str) -> None:
    if "minItems" in schema and len(value) < schema["minItems"]:
        raise ParamValidationError(f"{value!r} is too short ({path})")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        raise ParamValidationError(f"{value!r} is too long ({path})")
    if schema.get("uniqueItems") and len({json.dumps(v, sort_keys=True) for v in value}) != len(value):
        raise ParamValidationError(f"{value!r} has non-unique elements ({path})")
    if isinstance(schema.get("items"), Mapping):
        for i, item in enumerate(value):
            validate_schema(item, schema["items"], f"{path}[{i}]")


def _check_object(value: dict, schema: Mapping[str, Any], path: str) -> None:
    for name in schema.get("required", ()):
        if name not in value:
            raise ParamValidationError(f"{name!r} is a required property ({path})")
    props = schema.get("properties", {})
    for name, sub in props.items():
        if name in value:
            validate_schema(value[name], sub, f"{path}.{name}")
    if schema.get("additionalProperties") is False:
        extra = sorted(set(value) - set(props))
        if extra:
            raise ParamValidationError(f"additional properties {extra!r} are not allowed ({path})")


class Param:
    """A param's default value, description and JSON schema (``type=``, ``minimum=`` ... as keywords)."""

    def __init__(self, default: Any = NOTSET, description: str | None = None, source: str | None = None, **kwargs: Any):
        if default is not NOTSET:
            self._check_json(default)
        self.value = default
        self.description = description
        self.schema: dict[str, Any] = kwargs.pop("schema") if "schema" in kwargs else kwargs
        self.source = source

    def __copy__(self) -> Param:
        return Param(self.value, self.description, schema=self.schema, source=self.source)

    def __repr__(self) -> str:
        return f"Param({self.value!r}, schema={self.schema!r})"

    @staticmethod
    def _check_json(value: Any) -> None:
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise ParamValidationError(
                f"All provided parameters must be json-serializable. The value '{value}' is not serializable."
            ) from None

    @property
    def has_value(self) -> bool:
        return self.value is not NOTSET

    def resolve(self, value: Any = NOTSET, suppress_exception: bool = False) -> Any:
        """Validate ``value`` (or the default) against the schema and return it."""
        if value is not NOTSET:
            self._check_json(value)
        final = self.value if value is NOTSET else value
        try:
            if final is NOTSET:
                raise ParamValidationError("No value passed and Param has no default value")
            validate_schema(final, self.schema)
        except ParamValidationError:
            if suppress_exception:
                return None
            raise
        self.value = final
        return final

    def dump(self) -> dict[str, Any]:
        default = None if self.value is NOTSET else self.value
        return {"default": default, "description": self.description, "schema": self.schema}


class ParamsDict(MutableMapping[str, Any]):
    """A mapping of names to ``Param``; reading an item gives the param's value."""

    def __init__(self, dict_obj: Mapping[str, Any] | None = None, suppress_exception: bool = False):
        self.__dict: dict[str, Param] = {}
        for key, value in (dict_obj or {}).items():
            self.__dict[key] = value if isinstance(value, Param) else Param(value)
        self.suppress_exception = suppress_exception

    def __bool__(self) -> bool:
        return bool(self.__dict)

    def __copy__(self) -> ParamsDict:
        return ParamsDict(self.__dict, self.suppress_exception)

    def __deepcopy__(self, memo: dict[int, Any]) -> ParamsDict:
        return ParamsDict({k: copy.deepcopy(v, memo) for k, v in self.__dict.items()}, self.suppress_exception)

    def __contains__(self, key: object) -> bool:
        return key in self.__dict

    def __len__(self) -> int:
        return len(self.__dict)

    def __delitem__(self, key: str) -> None:
        del self.__dict[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.__dict)

    def __repr__(self) -> str:
        return repr(self.dump())

    def __setitem__(self, key: str, value: Any) -> None:
        if isinstance(value, Param):
            self.__dict[key] = value
        elif key in self.__dict:
            self.__dict[key].resolve(value=value, suppress_exception=self.suppress_exception)
        else:
            self.__dict[key] = Param(value)

    def __getitem__(self, key: str) -> Any:
        return self.__dict[key].resolve(suppress_exception=self.suppress_exception)

    def get_param(self, key: str) -> Param:
        return self.__dict[key]

    def items(self) -> ItemsView[str, Any]:
        return ItemsView(self.__dict)  # type: ignore[arg-type]

    def values(self) -> ValuesView[Any]:
        return ValuesView(self.__dict)  # type: ignore[arg-type]

    def update(self, *args: Any, **kwargs: Any) -> None:
        if len(args) == 1 and not kwargs and isinstance(args[0], ParamsDict):
            return super().update(args[0].__dict)
        super().update(*args, **kwargs)

    def _fill_missing_param_source(self, source: str) -> None:
        for param in self.__dict.values():
            if param.source is None:
                param.source = source

    def dump(self) -> dict[str, Any]:
        return {k: v.value for k, v in self.__dict.items()}

    def validate(self) -> dict[str, Any]:
        """Resolve every param; raise ``ParamValidationError`` naming the first invalid one."""
        resolved = {}
        for key, param in self.__dict.items():
            try:
                resolved[key] = param.resolve(suppress_exception=self.suppress_exception)
            except ParamValidationError as err:
                raise ParamValidationError(f"Invalid input for param {key}: {err}") from None
        return resolved
