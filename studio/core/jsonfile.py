"""Project JSON files: a readable, deterministic writer and a locator from JSON path to line number.

The writer uses 2-space indentation and puts short leaf lists/objects (an edge, a position, a small
args dict) on one line, so git diffs of project files stay small and readable. The locator lets
validation report ``dags/etl.json:23`` for ``$.tasks[2].args.retries``.
"""

from __future__ import annotations

import contextlib
import json
import re
from json.decoder import scanstring
from typing import Any

INLINE_WIDTH = 88


def dumps(data: Any) -> str:
    """Deterministic JSON text (key order as given, UTF-8 kept, trailing newline)."""
    return _dump(data, 0) + "\n"


def _is_leaf(value: Any) -> bool:
    if isinstance(value, list):
        return all(not isinstance(v, (list, dict)) for v in value)
    if isinstance(value, dict):
        return all(not isinstance(v, (list, dict)) for v in value.values())
    return True


def _dump(value: Any, indent: int) -> str:
    if not isinstance(value, (list, dict)) or not value:
        return json.dumps(value, ensure_ascii=False)
    one_line = json.dumps(value, ensure_ascii=False)
    if _is_leaf(value) and len(one_line) + indent <= INLINE_WIDTH:
        return one_line
    pad = " " * (indent + 2)
    if isinstance(value, list):
        items = [pad + _dump(v, indent + 2) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
    items = [f"{pad}{json.dumps(str(k), ensure_ascii=False)}: {_dump(v, indent + 2)}" for k, v in value.items()]
    return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"


_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_WS = re.compile(r"[ \t\n\r]*")


def locate_lines(text: str) -> dict[str, int]:
    """Map every JSON path (``$``, ``$.tasks[0].task_id``...) of valid JSON ``text`` to its 1-based line.

    The line is where the value starts (for object members: the line of the key). Invalid JSON gives
    whatever was mapped before the error; ``json.loads`` reports the error itself.
    """
    lines: dict[str, int] = {}
    newlines = [i for i, ch in enumerate(text) if ch == "\n"]

    def line_of(pos: int) -> int:
        lo, hi = 0, len(newlines)
        while lo < hi:
            mid = (lo + hi) // 2
            if newlines[mid] < pos:
                lo = mid + 1
            else:
                hi = mid
        return lo + 1

    def ws(pos: int) -> int:
        return _WS.match(text, pos).end()  # type: ignore[union-attr]

    def value(pos: int, path: str, key_line: int | None) -> int:
        pos = ws(pos)
        lines[path] = key_line if key_line is not None else line_of(pos)
        ch = text[pos]
        if ch == "{":
            pos = ws(pos + 1)
            if text[pos] == "}":
                return pos + 1
            while True:
                pos = ws(pos)
                key_line_here = line_of(pos)
                key, pos = scanstring(text, pos + 1)
                pos = ws(pos)
                pos = value(pos + 1, _child(path, key), key_line_here)  # skip ':'
                pos = ws(pos)
                if text[pos] == "}":
                    return pos + 1
                pos += 1  # ','
        if ch == "[":
            pos = ws(pos + 1)
            if text[pos] == "]":
                return pos + 1
            index = 0
            while True:
                pos = value(pos, f"{path}[{index}]", None)
                pos = ws(pos)
                index += 1
                if text[pos] == "]":
                    return pos + 1
                pos += 1
        if ch == '"':
            return scanstring(text, pos + 1)[1]
        for word in ("true", "false", "null"):
            if text.startswith(word, pos):
                return pos + len(word)
        match = _NUMBER.match(text, pos)
        if not match:
            raise ValueError(f"unexpected {ch!r}")
        return match.end()

    with contextlib.suppress(ValueError, IndexError):
        value(0, "$", None)
    return lines


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if re.fullmatch(r"[A-Za-z_][\w]*", key) else f"{path}[{json.dumps(key)}]"


def child_path(path: str, key: str | int) -> str:
    """The JSON path of a member (str key) or element (int index) of ``path``."""
    return f"{path}[{key}]" if isinstance(key, int) else _child(path, key)


def nearest_line(lines: dict[str, int], path: str) -> int | None:
    """The line of ``path`` or, if it is not in the file (a missing key), of its closest ancestor."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            break
        path = path[:cut]
    return lines.get("$")
