"""Model values as Python source: string and number literals, durations, dates, Params, XComs, code.

``value_node`` turns any model value (``studio.core.values``) into a layout node (``layout.py``). Every
literal it writes reads back with ``ast.literal_eval`` to exactly the model's value: strings use double
quotes unless that needs more escapes (as ``ruff format`` does), escape everything that is not
printable (NUL, lone surrogates, line separators, zero-width characters), and use triple quotes only for
multi-line text that needs no escape at all. Names the value needs (``timedelta``, ``pendulum``,
``Param``) and the expression of another task's XCom come from a ``ValueContext``.
"""

from __future__ import annotations

import ast
import datetime as _dt
import functools
import keyword
import math
import unicodedata
from typing import Any, Protocol

from studio.codegen.layout import Atom, Brackets, Node, call
from studio.core.values import CallableRef, CodeExpr, DateTime, ParamValue, XComRef

__all__ = [
    "CodegenError",
    "ValueContext",
    "code_text",
    "datetime_literal",
    "dotted_name",
    "is_kwarg_name",
    "kwargs_items",
    "string_literal",
    "timedelta_literal",
    "value_node",
]


class CodegenError(ValueError):
    """A model value that has no valid Python form (an invalid code expression or function name)."""


class ValueContext(Protocol):
    """What rendering a value needs from the generator."""

    def name(self, module: str, name: str | None = None) -> str:
        """The bound name of ``from module import name`` (``import module`` when name is None)."""
        ...

    def airflow(self, symbol: str) -> str:
        """The bound name of an Airflow authoring name (``DAG``, ``Param``...) for the target."""
        ...

    def xcom(self, ref: XComRef) -> str:
        """The expression for another task's XCom (``extract.output``, ``extract_task["key"]``)."""
        ...


# --- literals --------------------------------------------------------------------------------------
_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def string_literal(text: str, multiline: bool = True) -> str:
    """A Python literal for ``text`` that round-trips exactly (see the module docstring)."""
    if multiline and _triple_quote_safe(text):
        return f'"""{text}"""'
    quote = "'" if text.count('"') > text.count("'") else '"'
    if text.isascii() and text.isprintable() and "\\" not in text and quote not in text:
        return f"{quote}{text}{quote}"
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch == quote:
            out.append("\\" + quote)
        elif ch.isprintable():
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return quote + "".join(out) + quote


def _triple_quote_safe(text: str) -> bool:
    """Multi-line text that reads the same between triple quotes, written as is."""
    if "\n" not in text.rstrip("\n") or "\\" in text or '"""' in text:
        return False
    if text.startswith('"') or text.endswith('"'):
        return False
    lines = text.split("\n")
    return all(line.isprintable() and line == line.rstrip() for line in lines)


def number_literal(value: int | float) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else 'float("-inf")'
    return repr(value)


def timedelta_literal(value: _dt.timedelta, name: str) -> str:
    """``timedelta(hours=1, minutes=30)``: the largest exact units, a leading minus when negative."""
    total = (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds
    if total == 0:
        return f"{name}(seconds=0)"
    rest = abs(total)
    parts = []
    for unit, size in (("days", 86_400_000_000), ("hours", 3_600_000_000), ("minutes", 60_000_000)):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{unit}={count}")
    seconds, micro = divmod(rest, 1_000_000)
    if seconds:
        parts.append(f"seconds={seconds}")
    if micro:
        parts.append(f"milliseconds={micro // 1000}" if micro % 1000 == 0 else f"microseconds={micro}")
    return f"{'-' if total < 0 else ''}{name}({', '.join(parts)})"


def datetime_literal(value: DateTime, name: str) -> str:
    """``pendulum.datetime(2024, 1, 1, 6, 30, tz="UTC")``: trailing zero time parts left out."""
    dt = value.value
    fields = [dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.microsecond]
    while len(fields) > 3 and fields[-1] == 0:
        fields.pop()
    args = [str(f) for f in fields]
    if value.tz is not None:
        args.append(f"tz={string_literal(value.tz, multiline=False)}")
    return f"{name}.datetime({', '.join(args)})"


def is_kwarg_name(key: Any) -> bool:
    """True when ``key`` can be written as ``key=...`` in a call and reads back unchanged."""
    return (
        isinstance(key, str)
        and key.isidentifier()
        and not keyword.iskeyword(key)
        and unicodedata.normalize("NFKC", key) == key
    )


def dotted_name(name: str) -> str:
    """``name`` checked to be a (dotted) Python name, as a function reference is written."""
    parts = name.split(".")
    if not all(is_kwarg_name(p) for p in parts):
        raise CodegenError(f"{name!r} is not a Python name (a function of the DAG's module code)")
    return name


@functools.lru_cache(maxsize=4096)
def code_text(source: str) -> str:
    """A code expression as written in an argument list, parenthesized only when it must be."""
    src = source.strip()
    expected = None
    for candidate in (src, f"({src})", f"({src}\n)"):  # ``x := 1`` and ``n for n in s`` need parentheses
        try:
            expected = ast.dump(ast.parse(candidate, mode="eval").body)
        except SyntaxError as exc:
            error = exc.msg
            continue
        src = candidate
        break
    if expected is None or not src.strip("()\n"):
        raise CodegenError(f"not a Python expression: {source.strip()!r} ({error})")
    if _fits_everywhere(src, expected):
        return src
    wrapped = f"({src}\n)" if "#" in src else f"({src})"
    if _fits_everywhere(wrapped, expected):
        return wrapped
    raise CodegenError(f"cannot be used as an argument: {src!r}")


def _fits_everywhere(src: str, expected: str) -> bool:
    """Whether ``src`` means the same as a keyword argument, a list item and a dict value, and compiles."""
    probes = ((f"_(_={src}, __=0)", lambda t: t.keywords[0].value), (f"[{src}, 0]", lambda t: t.elts[0]))
    probes += ((f"{{0: {src}, 1: 0}}", lambda t: t.values[0]),)  # type: ignore[assignment]
    for text, pick in probes:
        try:
            tree = ast.parse(text, mode="eval").body
            if ast.dump(pick(tree)) != expected:
                return False
            compile(text, "<expression>", "eval")
        except (SyntaxError, AttributeError, IndexError, ValueError):
            return False
    return True


# --- values ----------------------------------------------------------------------------------------
def value_node(value: Any, ctx: ValueContext) -> Node:
    """The layout node of a model value."""
    if value is None or isinstance(value, bool):
        return Atom(repr(value))
    if isinstance(value, (int, float)):
        return Atom(number_literal(value))
    if isinstance(value, str):
        return Atom(string_literal(value))
    if isinstance(value, (list, tuple)):
        return Brackets("", "[", "]", [("", value_node(v, ctx)) for v in value])
    if isinstance(value, dict):
        return dict_node(value, ctx)
    if isinstance(value, _dt.timedelta):
        return Atom(timedelta_literal(value, ctx.name("datetime", "timedelta")))
    if isinstance(value, DateTime):
        return Atom(datetime_literal(value, ctx.name("pendulum")))
    if isinstance(value, CallableRef):
        return Atom(dotted_name(value.name))
    if isinstance(value, XComRef):
        return Atom(ctx.xcom(value))
    if isinstance(value, ParamValue):
        return param_node(value, ctx)
    if isinstance(value, CodeExpr):
        return Atom(code_text(value.source))
    raise CodegenError(f"not a model value: {value!r} ({type(value).__name__})")


def dict_node(mapping: dict[Any, Any], ctx: ValueContext) -> Brackets:
    items = []
    for key, val in mapping.items():
        key_text = string_literal(key, multiline=False) if isinstance(key, str) else _flat_key(key, ctx)
        items.append((f"{key_text}: ", value_node(val, ctx)))
    return Brackets("", "{", "}", items)


def _flat_key(key: Any, ctx: ValueContext) -> str:
    node = value_node(key, ctx)
    if not isinstance(node, Atom) or "\n" in node.text:
        raise CodegenError(f"unsupported dict key {key!r}")
    return node.text


def kwargs_items(mapping: dict[Any, Any], ctx: ValueContext) -> list[tuple[str, Node]]:
    """``key=value`` items; keys that cannot be keywords (``"a b"``, ``"class"``) go into ``**{...}``."""
    items: list[tuple[str, Node]] = []
    others: dict[Any, Any] = {}
    for key, val in mapping.items():
        if is_kwarg_name(key):
            items.append((f"{key}=", value_node(val, ctx)))
        else:
            others[key] = val
    if others:
        items.append(("**", dict_node(others, ctx)))
    return items


def param_node(param: ParamValue, ctx: ValueContext) -> Brackets:
    """``Param(default, type="integer", minimum=1, description="...")``."""
    items: list[tuple[str, Node]] = []
    if param.has_default:
        items.append(("", value_node(param.default, ctx)))
    items.extend(kwargs_items(param.schema, ctx))
    return call(ctx.airflow("Param"), items)
