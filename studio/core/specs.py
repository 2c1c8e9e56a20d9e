"""Operator specs: the one description of each operator/sensor type that everything else reads.

The palette, the inspector, validation, the code generator and the importer all look operators up here
(see ``catalog.py`` for the specs themselves). Adding an operator is adding one ``OperatorSpec``.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Literal

from studio.core.values import CallableRef, CodeExpr, DateTime, ParamValue, XComRef, type_name

FieldType = Literal[
    "str",  # text
    "int",
    "float",  # any number
    "bool",
    "timedelta",
    "datetime",
    "list",
    "dict",
    "callable",  # a function of the module code (or a code expression such as a lambda)
    "enum",  # one of ``choices``
    "str_or_list",  # e.g. email: "a@x" or ["a@x", "b@x"]
    "any",
]

Kind = Literal["operator", "sensor", "taskflow", "custom"]

MISSING: Any = object()


@dataclass(frozen=True)
class ImportPath:
    """Where Airflow defines a class or decorator: ``from <module> import <name>``."""

    module: str
    name: str

    def __str__(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(frozen=True)
class FieldSpec:
    """One argument of an operator: its type, default, help text, and whether Airflow templates it."""

    name: str
    type: FieldType
    help: str = ""
    default: Any = MISSING
    required: bool = False
    templated: bool = False
    choices: tuple[str, ...] = ()
    secret: bool = False  # never shown in clear or written into generated code as a literal

    @property
    def has_default(self) -> bool:
        return self.default is not MISSING


@dataclass(frozen=True)
class OperatorSpec:
    """One operator, sensor or TaskFlow decorator type.

    ``id`` is the name users see and the project file stores (``"BashOperator"``, ``"@task.branch"``).
    For TaskFlow specs ``airflow3``/``airflow2`` name the decorator object (``task``) and ``decorator``
    the attribute chain after it (``"branch"`` for ``@task.branch``; empty for plain ``@task``).
    """

    id: str
    label: str
    category: str
    kind: Kind
    airflow3: ImportPath | None
    airflow2: ImportPath | None
    fields: tuple[FieldSpec, ...] = ()
    help: str = ""
    icon: str = ""
    decorator: str = ""
    provider: str = ""  # pip distribution that provides it in a real Airflow (for docs and deploy checks)
    field_map: dict[str, FieldSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "field_map", {f.name: f for f in self.fields})

    def field(self, name: str) -> FieldSpec | None:
        return self.field_map.get(name)

    def import_path(self, target: str) -> ImportPath | None:
        return self.airflow2 if target == "airflow2" else self.airflow3

    @property
    def required_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.required)

    @property
    def templated_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.templated)


def check_type(spec: FieldSpec, value: Any) -> str | None:
    """None when ``value`` fits ``spec``; otherwise a message such as ``expected an integer, got "3"``.

    Code expressions and XCom references are accepted everywhere: they are resolved at run time.
    """
    if isinstance(value, (CodeExpr, XComRef)):
        return None
    if value is None and spec.has_default and spec.default is None:
        return None
    if value is None and not spec.required:
        return None
    ok = _FITS[spec.type](value)
    if ok and spec.type == "enum" and value not in spec.choices:
        return f"{value!r} is not one of: {', '.join(spec.choices)}"
    if ok:
        return None
    shown = f'"{value}"' if isinstance(value, str) else repr(value) if not isinstance(value, dict) else "a dict"
    return f"expected {_EXPECTED[spec.type]}, got {type_name(value)} {shown}"


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


_FITS: dict[str, Any] = {
    "str": lambda v: isinstance(v, str),
    "int": _is_int,
    "float": lambda v: _is_int(v) or isinstance(v, float),
    "bool": lambda v: isinstance(v, bool),
    "timedelta": lambda v: isinstance(v, _dt.timedelta) or _is_int(v) or isinstance(v, float),
    "datetime": lambda v: isinstance(v, DateTime),
    "list": lambda v: isinstance(v, (list, tuple)),
    "dict": lambda v: isinstance(v, dict),
    "callable": lambda v: isinstance(v, CallableRef),
    "enum": lambda v: isinstance(v, str),
    "str_or_list": lambda v: isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v)),
    "any": lambda v: True,
}

_EXPECTED = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "timedelta": "a timedelta (or seconds)",
    "datetime": "a datetime",
    "list": "a list",
    "dict": "a dict",
    "callable": "a function of the DAG's module code",
    "enum": "one of the listed values",
    "str_or_list": "a string or a list of strings",
    "any": "any value",
}

__all__ = ["MISSING", "FieldSpec", "ImportPath", "OperatorSpec", "ParamValue", "check_type"]
