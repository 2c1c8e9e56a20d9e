"""Operators in expressions: arithmetic and comparisons on literal values, and ``>>``/``<<`` between tasks.

``a >> b`` and ``a << b`` where either side is a task, an XComArg, a TaskGroup, a Label or a list of them
are dependencies (see ``dependencies.py``); on plain values the operators compute, within size limits;
anything involving run-time values is kept as code.
"""

from __future__ import annotations

import ast
import operator
from typing import Any

from studio.codegen.importer import dependencies as deps
from studio.codegen.importer.evaluator import Unsupported
from studio.codegen.importer.objects import Builtin, Opaque, Symbol, contains_structure, dependency_like
from studio.codegen.importer.pure import MAX_ITEMS, is_plain

BINOPS: dict[type, Any] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.BitOr: operator.or_,
    ast.BitAnd: operator.and_,
    ast.BitXor: operator.xor,
}
CMPOPS: dict[type, Any] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}


class Operators:
    """``ev_BinOp``, ``ev_UnaryOp``, ``ev_BoolOp``, ``ev_Compare``, ``ev_IfExp``; mixed into the interpreter."""

    def ev_BinOp(self, node: ast.BinOp) -> Any:
        left = self.ev(node.left)
        right = self.ev(node.right)
        if isinstance(node.op, (ast.RShift, ast.LShift)) and (_dep_side(left) or _dep_side(right)):
            self.note_structure()
            fn = deps.rshift if isinstance(node.op, ast.RShift) else deps.lshift
            try:
                return fn(self.dependency_sink(), left, right)
            except deps.DependencyError as exc:
                raise Unsupported(str(exc), node.lineno) from None
        op = BINOPS.get(type(node.op))
        if op is not None and is_plain(left) and is_plain(right):
            if isinstance(node.op, ast.Pow) and (not isinstance(right, int) or abs(right) > 64):
                return self.opaque(node)
            if isinstance(node.op, ast.Mult) and _too_big(left, right):
                return self.opaque(node)
            try:
                result = op(left, right)
            except (TypeError, ValueError, ZeroDivisionError, OverflowError, KeyError):
                return self.opaque(node)
            if isinstance(result, (str, list, tuple)) and len(result) > MAX_ITEMS:
                return self.opaque(node)
            return result
        self._no_structure_inside(left, node)
        self._no_structure_inside(right, node)
        return self.opaque(node)

    def ev_UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.ev(node.operand)
        if is_plain(value):
            try:
                if isinstance(node.op, ast.Not):
                    return not value
                if isinstance(node.op, ast.USub):
                    return -value
                if isinstance(node.op, ast.UAdd):
                    return +value
                if isinstance(node.op, ast.Invert):
                    return ~value
            except TypeError:
                pass
        return self.opaque(node)

    def ev_BoolOp(self, node: ast.BoolOp) -> Any:
        result: Any = None
        for value_node in node.values:
            result = self.ev(value_node)
            if not is_plain(result) and not contains_structure(result):
                return self.opaque(node)
            truth = bool(result) if is_plain(result) else True
            if isinstance(node.op, ast.And) and not truth:
                return result
            if isinstance(node.op, ast.Or) and truth:
                return result
        return result

    def ev_Compare(self, node: ast.Compare) -> Any:
        left = self.ev(node.left)
        for op_node, right_node in zip(node.ops, node.comparators):
            right = self.ev(right_node)
            if not (_known(left) and _known(right)):
                return self.opaque(node)
            try:
                if not CMPOPS[type(op_node)](left, right):
                    return False
            except TypeError:
                return self.opaque(node)
            left = right
        return True

    def ev_IfExp(self, node: ast.IfExp) -> Any:
        test = self.ev(node.test)
        if is_plain(test):
            return self.ev(node.body if test else node.orelse)
        return self.opaque(node)


def _known(value: Any) -> bool:
    """Plain data or DAG objects (compared by identity): anything but run-time values."""
    if isinstance(value, (Opaque, Symbol, Builtin)):
        return False
    if isinstance(value, (list, tuple, set)):
        return all(_known(v) for v in value)
    if isinstance(value, dict):
        return all(_known(v) for v in value.values())
    return True


def _dep_side(value: Any) -> bool:
    if dependency_like(value):
        return True
    return isinstance(value, (list, tuple)) and any(dependency_like(v) for v in value)


def _too_big(left: Any, right: Any) -> bool:
    for seq, count in ((left, right), (right, left)):
        if isinstance(seq, (str, list, tuple)) and isinstance(count, int):
            return len(seq) * max(count, 0) > MAX_ITEMS
    return False
