"""Line layout of generated Python expressions, the way ``ruff format`` would lay them out.

The generator builds small trees of ``Atom`` (text that is never split), ``Brackets`` (a call, list or
dict: ``head(item, item)``) and ``Chain`` (calls one after the other: ``Cls.partial(...).expand(...)``)
and renders them with ``render``: an expression stays on one line when it fits in ``LINE_LENGTH``;
otherwise its brackets are exploded one item per line with a trailing comma. Because every exploded
bracket ends with a "magic trailing comma", ``ruff format`` leaves the output exactly as it is.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

__all__ = ["LINE_LENGTH", "Atom", "Brackets", "Chain", "Node", "flat", "render", "text_width"]

LINE_LENGTH = 100
INDENT = "    "


@dataclass(frozen=True)
class Atom:
    """Text that is never split (a name, a number, a string literal; may span lines if it is one)."""

    text: str


@dataclass
class Brackets:
    """``head(items)`` / ``[items]`` / ``{items}``: each item is ``(prefix, node)`` with prefix ``"key="``,
    ``'"key": '``, ``"*"``, ``"**"`` or ``""``."""

    head: str
    open: str
    close: str
    items: list[tuple[str, Node]] = field(default_factory=list)


@dataclass
class Chain:
    """Calls applied one after the other; each part's ``head`` is the text before its bracket."""

    parts: list[Brackets]


Node = Atom | Brackets | Chain


def text_width(text: str) -> int:
    """Display width as ruff measures it: East Asian wide and full-width characters count twice."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def call(head: str, items: list[tuple[str, Node]]) -> Brackets:
    return Brackets(head, "(", ")", items)


def flat(node: Node) -> str | None:
    """The one-line form of ``node``, or None when it cannot be on one line (a multi-line literal)."""
    if isinstance(node, Atom):
        return None if "\n" in node.text else node.text
    if isinstance(node, Chain):
        pieces = [flat(p) for p in node.parts]
        return None if any(p is None for p in pieces) else "".join(pieces)  # type: ignore[arg-type]
    inner = []
    for prefix, item in node.items:
        text = flat(item)
        if text is None:
            return None
        inner.append(prefix + text)
    return f"{node.head}{node.open}{', '.join(inner)}{node.close}"


def render(node: Node, column: int, indent: int, suffix: int = 0) -> str:
    """``node`` laid out starting at ``column`` on a line indented by ``indent`` spaces.

    ``suffix`` is the width of what follows on the last line (``,`` or ``) as dag:``), so the one-line
    form is only chosen when the whole line fits.
    """
    one_line = flat(node)
    if one_line is not None and column + text_width(one_line) + suffix <= LINE_LENGTH:
        return one_line
    if isinstance(node, Atom):
        return node.text
    parts = node.parts if isinstance(node, Chain) else [node]
    return _render_parts(parts, column, indent, suffix)


def _render_parts(parts: list[Brackets], column: int, indent: int, suffix: int) -> str:
    pieces = [flat(p) for p in parts]
    if all(p is not None for p in pieces):
        whole = "".join(pieces)  # type: ignore[arg-type]
        if column + text_width(whole) + suffix <= LINE_LENGTH:
            return whole
    if len(parts) > 1 and all(p is not None for p in pieces[:-1]):
        # Right-hand split: everything up to the last bracket on this line, the last one exploded.
        before = "".join(pieces[:-1])  # type: ignore[arg-type]
        if column + text_width(before + parts[-1].head + parts[-1].open) <= LINE_LENGTH:
            return before + _explode(parts[-1], indent)
    first = _explode(parts[0], indent)
    if len(parts) == 1:
        return first
    return first + _render_parts(parts[1:], indent + len(parts[0].close), indent, suffix)


def _explode(node: Brackets, indent: int) -> str:
    """One item per line, each followed by a comma, the closing bracket on its own line."""
    if not node.items:
        return f"{node.head}{node.open}{node.close}"
    inner = indent + len(INDENT)
    pad = " " * inner
    lines = [f"{node.head}{node.open}"]
    for prefix, item in node.items:
        text = render(item, inner + text_width(prefix), inner, 1)
        lines.append(f"{pad}{prefix}{text},")
    lines.append(" " * indent + node.close)
    return "\n".join(lines)
