"""Python source helpers shared by the generator and the importer: import blocks and module code.

A DAG's *module code* (``dags/<dag_id>.py`` in a project) is kept in a canonical form so that
``import(export(project)) == project`` holds byte for byte:

    <import statements, one per line, grouped and sorted like isort: __future__, stdlib, third party,
     airflow; a blank line between groups>
    <two blank lines>
    <the other top-level statements, verbatim, separated by two blank lines>

``canonical_module_code`` puts any module code in that form; the importer produces it directly.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass

__all__ = [
    "ImportStmt",
    "canonical_module_code",
    "format_imports",
    "join_module",
    "parse_imports",
    "split_module",
]


@dataclass(frozen=True, order=True)
class ImportStmt:
    """One imported name: ``import module [as asname]`` (name None) or ``from module import name [as asname]``."""

    module: str
    name: str | None = None
    asname: str | None = None
    level: int = 0  # relative imports: ``from . import x`` has level 1

    @property
    def bound_name(self) -> str:
        """The name this import binds in the module namespace."""
        if self.asname:
            return self.asname
        if self.name is not None:
            return self.name
        return self.module.split(".")[0]

    @property
    def group(self) -> int:
        top = self.module.split(".")[0]
        if self.level:
            return 4
        if top == "__future__":
            return 0
        if top in sys.stdlib_module_names:
            return 1
        if top == "airflow":
            return 3
        return 2


def parse_imports(node: ast.Import | ast.ImportFrom) -> list[ImportStmt]:
    """The names one import statement binds."""
    if isinstance(node, ast.Import):
        return [ImportStmt(alias.name, None, alias.asname) for alias in node.names]
    return [ImportStmt(node.module or "", alias.name, alias.asname, node.level) for alias in node.names]


def _alias(name: str, asname: str | None) -> str:
    return f"{name} as {asname}" if asname else name


def format_imports(imports: list[ImportStmt] | set[ImportStmt]) -> str:
    """An isort-style block: groups separated by a blank line, ``from x import a, b`` merged per module."""
    unique = sorted(
        set(imports), key=lambda s: (s.group, s.name is not None, s.level, s.module, s.name or "", s.asname or "")
    )
    lines_by_group: dict[int, list[str]] = {}
    froms: dict[tuple[int, int, str], list[ImportStmt]] = {}
    for stmt in unique:
        if stmt.name is None:
            lines_by_group.setdefault(stmt.group, []).append(f"import {_alias(stmt.module, stmt.asname)}")
        else:
            froms.setdefault((stmt.group, stmt.level, stmt.module), []).append(stmt)
    for (group, level, module), names in froms.items():
        text = ", ".join(_alias(s.name or "", s.asname) for s in names)
        line = f"from {'.' * level}{module} import {text}"
        if len(line) > 100:
            inner = "".join(f"    {_alias(s.name or '', s.asname)},\n" for s in names)
            line = f"from {'.' * level}{module} import (\n{inner})"
        lines_by_group.setdefault(group, []).append(line)
    return "\n\n".join("\n".join(lines_by_group[g]) for g in sorted(lines_by_group))


def _segment(lines: list[str], node: ast.stmt) -> str:
    """Source of a top-level statement including decorators and the comment lines right above it."""
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
    while start > 0 and lines[start - 1].lstrip().startswith("#"):
        start -= 1
    end = node.end_lineno or node.lineno
    return "\n".join(lines[start:end]).rstrip()


def split_module(code: str) -> tuple[list[ImportStmt], list[str]]:
    """(imports, other top-level statements as source segments) of module code; raises SyntaxError."""
    tree = ast.parse(code)
    lines = code.splitlines()
    imports: list[ImportStmt] = []
    segments: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.extend(parse_imports(node))
        else:
            segments.append(_segment(lines, node))
    return imports, segments


def join_module(imports: list[ImportStmt] | set[ImportStmt], segments: list[str]) -> str:
    """Canonical module code from imports and statement segments ('' when both are empty)."""
    parts = []
    if imports:
        parts.append(format_imports(imports))
    parts.extend(s for s in segments if s.strip())
    return "\n\n\n".join(parts) + "\n" if parts else ""


def canonical_module_code(code: str) -> str:
    """``code`` with its imports gathered, grouped and sorted, statements separated by two blank lines."""
    if not code.strip():
        return ""
    imports, segments = split_module(code)
    return join_module(imports, segments)
