"""Statements inside DAG structure: ``with`` blocks, unrolled ``for`` loops, ``if`` on known values,
assignments and nested definitions (the bodies of with-blocks, ``@dag``/``@task_group`` functions and
task factories); and whether a piece of code builds DAG structure at all.

A statement the importer cannot follow is kept verbatim in the DAG's ``unparsed`` list with a warning
naming its line; the statements after it are still interpreted.
"""

from __future__ import annotations

import ast
from typing import Any

from studio.codegen.importer import dependencies as deps
from studio.codegen.importer.calls import GlobalsDict
from studio.codegen.importer.evaluator import Unsupported, iterable_items
from studio.codegen.importer.objects import (
    ClassValue,
    DagNode,
    FunctionValue,
    GroupNode,
    Opaque,
    Symbol,
    TaskNode,
    contains_structure,
)
from studio.codegen.importer.operators import BINOPS
from studio.codegen.importer.pure import is_plain
from studio.codegen.importer.symbols import (
    Scope,
    import_bindings,
    is_operator_subclass,
    looks_like_operator,
    operator_for_path,
    role_of,
)

MAX_LOOP = 10_000
STRUCTURE_ROLES = {"DAG", "TaskGroup", "dag", "task", "task_group", "chain", "chain_linear", "cross_downstream"}
STRUCTURE_ROLES |= {"Label", "XComArg", "setup", "teardown"}


class ReturnSignal(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


class BreakSignal(Exception):
    pass


class ContinueSignal(Exception):
    pass


class Statements:
    """Nested statement execution; mixed into the interpreter."""

    def exec_block(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            self.stmt_line = stmt.lineno
            try:
                self.exec_stmt(stmt)
            except (ReturnSignal, BreakSignal, ContinueSignal):
                raise
            except (Unsupported, deps.DependencyError) as exc:
                self.keep_unparsed(stmt, str(exc), getattr(exc, "line", None))
            except RecursionError:
                self.keep_unparsed(stmt, "nested too deeply to follow", None)
            except Exception as exc:  # a construct the interpreter does not model; never a traceback
                self.keep_unparsed(stmt, f"could not interpret ({type(exc).__name__}: {exc})", None)

    def exec_stmt(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.Expr):
            if isinstance(stmt.value, ast.Constant):
                return  # a docstring or a bare literal
            before = (self.events, self.mutations)
            value = self.ev(stmt.value)
            if (self.events, self.mutations) == before and not contains_structure(value):
                raise Unsupported("a statement that does not change the DAG", stmt.lineno)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            self.exec_assign(stmt)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.scope.bind(stmt.name, self.define_function(stmt, top_level=False), referable=True)
        elif isinstance(stmt, ast.ClassDef):
            self.scope.bind(stmt.name, self.define_class(stmt, top_level=False), referable=True)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for name, sym in import_bindings(stmt):
                self.scope.bind(name, sym, referable=True)
            self.extra_imports.append((stmt, self.current_dag()))
        elif isinstance(stmt, ast.With):
            self.exec_with(stmt)
        elif isinstance(stmt, ast.For):
            self.exec_for(stmt)
        elif isinstance(stmt, ast.If):
            test = self.ev(stmt.test)
            if not is_plain(test):
                raise Unsupported("an if whose condition is only known when the file runs", stmt.lineno)
            self.exec_block(stmt.body if test else stmt.orelse)
        elif isinstance(stmt, ast.Return):
            raise ReturnSignal(self.ev(stmt.value) if stmt.value is not None else None)
        elif isinstance(stmt, ast.Break):
            raise BreakSignal
        elif isinstance(stmt, ast.Continue):
            raise ContinueSignal
        elif not isinstance(stmt, (ast.Pass, ast.Global, ast.Nonlocal)):
            raise Unsupported(f"a {type(stmt).__name__.lower()} statement inside DAG code", stmt.lineno)

    def exec_assign(self, stmt: ast.Assign | ast.AnnAssign | ast.AugAssign) -> None:
        if stmt.value is None:
            return  # a bare annotation
        before = self.events
        if isinstance(stmt, ast.AugAssign):
            value = self.aug_value(stmt)
            targets: list[ast.expr] = [stmt.target]
        else:
            value = self.ev(stmt.value)
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        for target in targets:
            self.assign_target(target, value)
        if isinstance(value, Opaque) and self.events == before:
            self.local_opaques.append((value, stmt, self.current_dag()))

    def aug_value(self, stmt: ast.AugAssign) -> Any:
        """``target op= value``: computed for plain values and lists, else kept as code."""
        left = self.ev(_as_load(stmt.target))
        right = self.ev(stmt.value)
        if isinstance(left, list) and isinstance(stmt.op, ast.Add) and isinstance(right, (list, tuple)):
            return left + list(right)
        op = BINOPS.get(type(stmt.op))
        if op is not None and is_plain(left) and is_plain(right):
            try:
                return op(left, right)
            except (TypeError, ValueError, ZeroDivisionError, OverflowError):
                pass
        if contains_structure(left) or contains_structure(right):
            raise Unsupported("an augmented assignment the importer cannot follow", stmt.lineno)
        return Opaque(ast.unparse(ast.BinOp(_as_load(stmt.target), stmt.op, stmt.value)), stmt.lineno)

    def assign_target(
        self, target: ast.expr, value: Any, referable: bool = False, statement: int | None = None
    ) -> None:
        if isinstance(target, (ast.Name, ast.Tuple, ast.List)):
            if not self.bind_target(target, value, referable, statement):
                raise Unsupported("cannot unpack a value only known when the file runs", target.lineno)
            return
        if isinstance(target, ast.Attribute):
            obj = self.ev(target.value)
            if isinstance(obj, (DagNode, TaskNode, GroupNode)):
                what = f"{target.attr} of {getattr(obj, 'task_id', None) or getattr(obj, 'dag_id', 'a group')}"
                obj.args[target.attr] = self.model_value(value, None, what, target.lineno)
                obj.arg_lines[target.attr] = target.lineno
                self.note_structure()
                return
            raise Unsupported("an assignment to an attribute", target.lineno)
        if isinstance(target, ast.Subscript):
            obj = self.ev(target.value)
            key = self.ev(target.slice)
            if isinstance(obj, GlobalsDict) and isinstance(key, str):
                if isinstance(value, DagNode):
                    value.registered = True
                self.scope.globals.bind(key, value)
                self.note_structure()
                return
            if isinstance(obj, (dict, list)) and is_plain(key):
                try:
                    obj[key] = value
                except (IndexError, TypeError) as exc:
                    raise Unsupported(f"an item assignment that fails ({exc})", target.lineno) from None
                return
        raise Unsupported("an assignment the importer cannot follow", target.lineno)

    def exec_with(self, stmt: ast.With) -> None:
        entered: list[str] = []
        try:
            for item in stmt.items:
                ctx = self.ev(item.context_expr)
                if isinstance(ctx, DagNode):
                    ctx.registered = True
                    self.dag_stack.append(ctx)
                    entered.append("dag")
                elif isinstance(ctx, GroupNode):
                    self.group_stack.append(ctx)
                    entered.append("group")
                else:
                    raise Unsupported("a with statement that is not a DAG or a TaskGroup", stmt.lineno)
                if item.optional_vars is not None:
                    self.assign_target(item.optional_vars, ctx)
            self.exec_block(stmt.body)
        finally:
            for kind in reversed(entered):
                (self.dag_stack if kind == "dag" else self.group_stack).pop()

    def exec_for(self, stmt: ast.For) -> None:
        items = iterable_items(self.ev(stmt.iter))
        if items is None:
            raise Unsupported("a for loop over values only known when the file runs", stmt.lineno)
        if len(items) > MAX_LOOP:
            raise Unsupported(f"a for loop of more than {MAX_LOOP} rounds", stmt.lineno)
        broke = False
        for item in items:
            if not self.bind_target(stmt.target, item):
                raise Unsupported("cannot unpack the loop values", stmt.lineno)
            try:
                self.exec_block(stmt.body)
            except BreakSignal:
                broke = True
                break
            except ContinueSignal:
                continue
        if not broke and stmt.orelse:
            self.exec_block(stmt.orelse)

    # --- does code build DAG structure? -------------------------------------------------------------
    def is_structural(self, value: Any, seen: set[int]) -> bool:
        if contains_structure(value):
            return True
        if isinstance(value, Symbol):
            role = role_of(value)
            if role is not None and (role in STRUCTURE_ROLES or role.startswith("task.")):
                return True
            return operator_for_path(value.path) is not None or (
                value.path.startswith("airflow") and looks_like_operator(value)
            )
        if isinstance(value, ClassValue):
            return is_operator_subclass(value)
        if isinstance(value, FunctionValue) and value.kind == "plain" and id(value.node) not in seen:
            seen.add(id(value.node))
            return self.code_structural(value.node.body, value.scope, seen)
        return False

    def code_structural(self, nodes: list[Any], scope: Scope, seen: set[int]) -> bool:
        for root in nodes:
            for node in ast.walk(root):
                if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.RShift, ast.LShift)):
                    return True
                if isinstance(node, ast.Attribute) and node.attr in ("set_upstream", "set_downstream", "expand"):
                    return True
                if isinstance(node, ast.Name):
                    binding = scope.lookup(node.id)
                    if binding is not None and self.is_structural(binding.value, seen):
                        return True
                elif isinstance(node, ast.Attribute):
                    sym = _symbol_of(node, scope)
                    if sym is not None and self.is_structural(sym, seen):
                        return True
        return False

    def makes_structure(self, fv: FunctionValue) -> bool:
        key = id(fv.node)
        if key not in self.structural_cache:
            self.structural_cache[key] = self.code_structural(fv.node.body, fv.scope, {key})
        return self.structural_cache[key]


def _symbol_of(node: ast.expr, scope: Scope) -> Symbol | None:
    """The imported object an attribute chain such as ``sdk.DAG`` names, without evaluating anything."""
    if isinstance(node, ast.Name):
        binding = scope.lookup(node.id)
        return binding.value if binding is not None and isinstance(binding.value, Symbol) else None
    if isinstance(node, ast.Attribute):
        base = _symbol_of(node.value, scope)
        return base.attr(node.attr) if base is not None else None
    return None


def _as_load(target: ast.expr) -> ast.expr:
    import copy

    node = copy.deepcopy(target)
    for sub in ast.walk(node):
        if hasattr(sub, "ctx"):
            sub.ctx = ast.Load()
    return node
