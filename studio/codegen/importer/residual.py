"""Residual code: the source of an expression the importer keeps as code, made valid at module level.

An expression kept as a ``CodeExpr`` will be written into generated code at module level or inside
the DAG block, where loop variables and function locals of the original file no longer exist. So
names bound to module-level code (imports, kept helpers, constants) stay as written; names of loop
variables and function locals are replaced by their values when those are literals (``f"{i}"`` in a
loop becomes ``f"{3}"``); lambda parameters and comprehension variables are left alone.
"""

from __future__ import annotations

import ast
import datetime as _dt
import re
from typing import Any

from studio.codegen.importer.objects import FunctionValue, Opaque, Symbol, Timezone
from studio.codegen.importer.symbols import Scope


def literal_node(value: Any, depth: int = 0) -> ast.expr | None:
    """An AST literal for a plain value, or None (dates and durations need imports: not literals)."""
    if depth > 30:
        return None
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        if isinstance(value, float) and value != value:  # NaN has no literal
            return None
        return ast.Constant(value)
    if isinstance(value, (list, tuple, set)):
        items = [literal_node(v, depth + 1) for v in value]
        if any(i is None for i in items):
            return None
        elts: list[ast.expr] = [i for i in items if i is not None]
        if isinstance(value, list):
            return ast.List(elts, ast.Load())
        if isinstance(value, tuple):
            return ast.Tuple(elts, ast.Load())
        return ast.Set(elts) if elts else None
    if isinstance(value, dict):
        keys = [literal_node(k, depth + 1) for k in value]
        vals = [literal_node(v, depth + 1) for v in value.values()]
        if any(k is None for k in keys) or any(v is None for v in vals):
            return None
        return ast.Dict(keys, vals)  # type: ignore[arg-type]
    if isinstance(value, (Opaque, Symbol, Timezone)):
        try:
            return ast.parse(value.source, mode="eval").body
        except SyntaxError:
            return None
    if isinstance(value, FunctionValue) and value.top_level:
        return ast.Name(value.name, ast.Load())
    if isinstance(value, _dt.timedelta):
        return None
    return None


_LINE_END = re.compile(r"\r\n|\r|\n")


class _Substitute(ast.NodeTransformer):
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.shadow: list[set[str]] = [set()]
        self.changed = False
        self.unresolved: list[str] = []

    def _shadowed(self, name: str) -> bool:
        return any(name in s for s in self.shadow)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if not isinstance(node.ctx, ast.Load) or self._shadowed(node.id):
            return node
        binding = self.scope.lookup(node.id)
        if binding is None or binding.referable:
            return node
        value = binding.value
        if isinstance(value, FunctionValue) and value.kind in ("plain", "task"):
            return node  # module-level or hoisted: it exists in the module code
        replacement = literal_node(value)
        if replacement is None:
            self.unresolved.append(node.id)
            return node
        self.changed = True
        return ast.copy_location(replacement, node)

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        self.shadow.append(_arg_names(node.args))
        node.body = self.visit(node.body)
        self.shadow.pop()
        return node

    def _comprehension(self, node: Any) -> ast.AST:
        names: set[str] = set()
        for gen in node.generators:
            names |= {n.id for n in ast.walk(gen.target) if isinstance(n, ast.Name)}
        self.shadow.append(names)
        self.generic_visit(node)
        self.shadow.pop()
        return node

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension


def _arg_names(args: ast.arguments) -> set[str]:
    names = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    if args.vararg:
        names.add(args.vararg.arg)
    if args.kwarg:
        names.add(args.kwarg.arg)
    return names


def split_lines(text: str) -> list[str]:
    """The lines of a source text as ``ast`` numbers them (only \\n, \\r\\n and \\r end a line)."""
    return _LINE_END.split(text)


def source_of(lines: list[str], node: ast.AST, padded: bool = False) -> str | None:
    """``ast.get_source_segment`` over pre-split lines (offsets are UTF-8 byte offsets, as in ``ast``)."""
    end_line, end_col = getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None)
    if end_line is None or end_col is None:
        return None
    first, last = node.lineno - 1, end_line - 1  # type: ignore[attr-defined]
    start = lines[first].encode()
    col = node.col_offset  # type: ignore[attr-defined]
    if first == last:
        return start[col:end_col].decode(errors="replace")
    head = (" " * len(start[:col].decode(errors="replace")) if padded else "") + start[col:].decode(errors="replace")
    tail = lines[last].encode()[:end_col].decode(errors="replace")
    return "\n".join([head, *lines[first + 1 : last], tail])


def residual_source(node: ast.expr, scope: Scope, lines: list[str]) -> tuple[str, list[str]]:
    """(source of ``node`` valid at module level, names that could not be made so)."""
    import copy

    sub = _Substitute(scope)
    new = sub.visit(copy.deepcopy(node))
    if not sub.changed:
        segment = source_of(lines, node)
        if segment is not None:
            return _one_line_safe(segment, node), sub.unresolved
    return ast.unparse(new), sub.unresolved


def _one_line_safe(segment: str, node: ast.expr) -> str:
    """A multi-line segment is valid inside parentheses; wrap it when it spans lines."""
    if "\n" not in segment:
        return segment
    try:
        ast.parse(segment, mode="eval")
        return segment
    except SyntaxError:
        return f"({segment})"
