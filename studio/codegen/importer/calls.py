"""Calls: what ``f(...)`` means to the importer, by what ``f`` is.

Airflow constructors build structure (``DAG``, ``TaskGroup``, operators, ``Label``, ``Param``,
``XComArg``, ``chain``...); TaskFlow functions create tasks; ``@task_group``/``@dag`` functions and
in-file helper functions that create tasks are interpreted; known pure functions (``timedelta``,
``pendulum.datetime``, ``range``...) are evaluated; anything else is kept as code.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from studio.codegen.importer import dependencies as deps
from studio.codegen.importer.builder import CallArgs
from studio.codegen.importer.evaluator import Unsupported, iterable_items
from studio.codegen.importer.objects import (
    RETURN_KEY,
    BoundMethod,
    Builtin,
    ClassValue,
    DagNode,
    FunctionValue,
    GroupNode,
    LabelNode,
    Opaque,
    OperatorClass,
    PartialOp,
    Symbol,
    TaskFlowPartial,
    TaskNode,
    XComArgNode,
    contains_structure,
)
from studio.codegen.importer.pure import BUILTINS, NONDETERMINISTIC, NotConstant, known_function, mutates
from studio.codegen.importer.pure import call_method as pure_method
from studio.codegen.importer.symbols import (
    is_operator_subclass,
    looks_like_operator,
    operator_class,
    operator_for_path,
    role_of,
)
from studio.core.values import ParamValue

TASKFLOW_KINDS = {"": "@task", "python": "@task", "branch": "@task.branch", "short_circuit": "@task.short_circuit"}
TASKFLOW_KINDS.update({"sensor": "@task.sensor", "bash": "@task.bash"})


@dataclass
class Decorator:
    """``task(...)``, ``task.branch(...)``, ``task_group(...)``, ``dag(...)`` before it meets its function."""

    kind: str  # task, task_group, dag
    operator: str = "@task"
    kwargs: dict[str, Any] = field(default_factory=dict)
    nodes: dict[str, ast.expr | None] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)


class GlobalsDict:
    """``globals()``: assigning a DAG into it registers the DAG (dynamic DAG files do this)."""


class Calls:
    """Call dispatch; mixed into the interpreter."""

    # --- arguments ----------------------------------------------------------------------------------
    def call_args(self, node: ast.Call) -> CallArgs | None:
        ca = CallArgs(node.lineno)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                items = iterable_items(self.ev(arg.value))
                if items is None:
                    return None
                ca.args.extend(items)
                ca.arg_nodes.extend([None] * len(items))
            else:
                ca.args.append(self.ev(arg))
                ca.arg_nodes.append(arg)
        for kw in node.keywords:
            value = self.ev(kw.value)
            if kw.arg is None:
                if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                    return None
                for key, item in value.items():
                    ca.kwargs[key] = item
                    ca.kw_nodes[key] = None
                    ca.kw_lines[key] = kw.value.lineno
            else:
                ca.kwargs[kw.arg] = value
                ca.kw_nodes[kw.arg] = kw.value
                ca.kw_lines[kw.arg] = kw.value.lineno
        return ca

    def call(self, node: ast.Call) -> Any:
        func = self.ev(node.func)
        ca = self.call_args(node)
        if ca is None:
            if contains_structure(func):
                raise Unsupported("*args/**kwargs whose contents are only known at run time", node.lineno)
            return self.opaque(node)
        return self.dispatch(func, ca, node)

    def opaque_call(self, node: ast.Call, ca: CallArgs) -> Any:
        if any(contains_structure(v) for v in [*ca.args, *ca.kwargs.values()]):
            raise Unsupported("a task, XComArg or DAG object is passed to a call the importer cannot follow", ca.line)
        return self.opaque(node)

    # --- dispatch -----------------------------------------------------------------------------------
    def dispatch(self, func: Any, ca: CallArgs, node: ast.Call) -> Any:
        if isinstance(func, Builtin):
            if func.name == "globals" and not ca.args:
                return GlobalsDict()
            if func.name == "str" and len(ca.args) == 1 and isinstance(ca.args[0], XComArgNode):
                return ca.args[0].template()
            fn = BUILTINS.get(func.name)
            if fn is not None:
                try:
                    return fn(*ca.args, **ca.kwargs)
                except NotConstant:
                    pass
            return self.opaque_call(node, ca)
        if isinstance(func, Symbol):
            return self.call_symbol(func, ca, node)
        if isinstance(func, ClassValue):
            if "task_id" in ca.kwargs or is_operator_subclass(func):
                cls = operator_class(func)
                assert cls is not None
                return self.operator_call(cls, ca)
            return self.opaque_call(node, ca)
        if isinstance(func, FunctionValue):
            return self.call_function(func, ca, node)
        if isinstance(func, Decorator):
            return self.apply_decorator(func, ca, node)
        if isinstance(func, BoundMethod):
            return self.call_method(func, ca, node)
        if isinstance(func, Opaque):
            return self.opaque_call(node, ca)
        raise Unsupported("a call of something the importer does not know", ca.line)

    def call_symbol(self, sym: Symbol, ca: CallArgs, node: ast.Call) -> Any:
        role = role_of(sym)
        if role == "DAG":
            return self.make_dag(ca)
        if role == "TaskGroup":
            return self.make_group(ca)
        if role == "Label":
            text = ca.args[0] if ca.args else ca.kwargs.get("label")
            if not isinstance(text, (str, type(None))):
                raise Unsupported("Label() text must be a string", ca.line)
            return LabelNode(text)
        if role == "Param":
            return make_param(ca)
        if role == "XComArg":
            return make_xcomarg(ca)
        if role in ("chain", "chain_linear", "cross_downstream"):
            self.note_structure()
            fn = {"chain": deps.chain, "chain_linear": deps.chain_linear, "cross_downstream": deps.cross_downstream}
            try:
                fn[role](self.dependency_sink(), *ca.args, **ca.kwargs)
            except (deps.DependencyError, TypeError) as exc:
                raise Unsupported(f"{role}(): {exc}", ca.line) from None
            return None
        if role is not None and (role in ("task", "dag", "task_group") or role.startswith("task.")):
            return self.apply_decorator(self.decorator_for(role, sym, ca), ca, node, factory=True)
        if role in ("setup", "teardown"):
            raise Unsupported(f"@{role} tasks (setup/teardown) are not supported by the importer yet", ca.line)
        if sym.path in NONDETERMINISTIC:
            self.warn(f"{sym.source}() gives a different value at every parse; kept as code", ca.line)
            return self.opaque_call(node, ca)
        if role is not None and role.startswith("TriggerRule") and ca.args and isinstance(ca.args[0], str):
            return ca.args[0]
        fn = known_function(sym.path, sym.source)
        if fn is not None:
            try:
                return fn(*ca.args, **ca.kwargs)
            except (NotConstant, TypeError):
                return self.opaque_call(node, ca)
        if sym.path.endswith((".partial", ".expand", ".expand_kwargs")):
            prefix, method = sym.path.rsplit(".", 1)
            cls = operator_for_path(prefix) or (
                OperatorClass("custom", prefix, None) if looks_like_operator(Symbol(prefix, "")) else None
            )
            if cls is not None and method == "partial":
                return self.partial_op(cls, ca)
        cls = operator_for_path(sym.path)
        if cls is not None or "task_id" in ca.kwargs:
            if cls is None:
                cls = OperatorClass("custom", sym.path, None)
                if not sym.path.rsplit(".", 1)[-1][:1].isupper():
                    self.warn(f"{sym.source}() with task_id= is imported as one custom operator task", ca.line)
            if "task_id" not in ca.kwargs:
                raise Unsupported(f"{sym.source}() without task_id", ca.line)
            return self.operator_call(cls, ca)
        return self.opaque_call(node, ca)

    # --- decorators ---------------------------------------------------------------------------------
    def decorator_for(self, role: str, sym: Symbol, ca: CallArgs | None) -> Decorator:
        if role in ("dag", "task_group"):
            return Decorator(role)
        variant = role[len("task.") :] if role.startswith("task.") else ""
        operator = TASKFLOW_KINDS.get(variant)
        if operator is None:
            line = ca.line if ca is not None else None
            self.warn(f"@task.{variant} has no spec in DAG Studio; imported as a plain @task", line)
            operator = "@task"
        return Decorator("task", operator)

    def apply_decorator(self, dec: Decorator, ca: CallArgs, node: ast.Call | None, factory: bool = False) -> Any:
        """``task(fn)`` / ``task(**kw)`` / ``Decorator(fn)``: a TaskFlow/group/DAG function or a decorator."""
        if len(ca.args) == 1 and isinstance(ca.args[0], FunctionValue) and (not factory or not ca.kwargs):
            return self.decorate(ca.args[0], dec)
        if factory and "python_callable" in ca.kwargs and isinstance(ca.kwargs["python_callable"], FunctionValue):
            fn = ca.kwargs["python_callable"]
            rest = CallArgs(ca.line, kwargs={k: v for k, v in ca.kwargs.items() if k != "python_callable"})
            return self.decorate(fn, self.with_kwargs(dec, rest))
        if factory:
            if dec.kind in ("dag", "task_group") and ca.args and isinstance(ca.args[0], str):
                key = "dag_id" if dec.kind == "dag" else "group_id"
                ca.kwargs = {key: ca.args[0], **ca.kwargs}
                ca.kw_lines.setdefault(key, ca.line)
                ca.args = []
            if ca.args:
                raise Unsupported(f"@{dec.kind}(...) with positional arguments", ca.line)
            return self.with_kwargs(dec, ca)
        raise Unsupported(f"a {dec.kind} decorator applied to something that is not a function", ca.line)

    def with_kwargs(self, dec: Decorator, ca: CallArgs) -> Decorator:
        return Decorator(
            dec.kind,
            dec.operator,
            {**dec.kwargs, **ca.kwargs},
            {**dec.nodes, **ca.kw_nodes},
            {**dec.lines, **ca.kw_lines},
        )

    def decorate(self, fn: FunctionValue, dec: Decorator) -> FunctionValue:
        return FunctionValue(
            fn.node,
            fn.scope,
            dec.kind,
            dec.operator,
            dict(dec.kwargs),
            dict(dec.nodes),
            dict(dec.lines),
            list(fn.decorators),
            fn.top_level,
            fn.base if fn.kind == "plain" else fn.origin,
        )

    # --- functions and methods ----------------------------------------------------------------------
    def call_function(self, fv: FunctionValue, ca: CallArgs, node: ast.Call) -> Any:
        if fv.kind == "task":
            return self.taskflow_call(fv, ca)
        if fv.kind == "task_group":
            return self.run_group_function(fv, ca)
        if fv.kind == "dag":
            return self.run_dag_function(fv, ca)
        if self.makes_structure(fv):
            return self.run_factory(fv, ca)
        return self.opaque_call(node, ca)

    def call_method(self, bm: BoundMethod, ca: CallArgs, node: ast.Call) -> Any:
        obj, name = bm.obj, bm.name
        if name in ("set_upstream", "set_downstream") and isinstance(
            obj, (TaskNode, XComArgNode, GroupNode, LabelNode)
        ):
            label = ca.kwargs.get("edge_modifier")
            if (
                len(ca.args) != 1
                or set(ca.kwargs) - {"edge_modifier"}
                or not isinstance(label, (LabelNode, type(None)))
            ):
                raise Unsupported(f"{name}() takes one task (or list) and optionally edge_modifier=Label(...)", ca.line)
            self.note_structure()
            try:
                deps.set_relatives(self.dependency_sink(), obj, ca.args[0], name == "set_upstream", label)
            except deps.DependencyError as exc:
                raise Unsupported(str(exc), ca.line) from None
            return None
        if isinstance(obj, FunctionValue) and obj.kind in ("task", "task_group"):
            if name == "override":
                if ca.args:
                    raise Unsupported(".override() takes keyword arguments", ca.line)
                merged = self.with_kwargs(
                    Decorator(obj.kind, obj.operator, obj.kwargs, obj.kwarg_nodes, obj.kwarg_lines), ca
                )
                return self.decorate(obj, merged)
            if obj.kind == "task" and name == "partial":
                return TaskFlowPartial(obj, dict(ca.kwargs), dict(ca.kw_nodes), ca.line)
            if obj.kind == "task" and name in ("expand", "expand_kwargs"):
                return self.taskflow_expand(obj, None, ca, name)
            if obj.kind == "task_group" and name in ("expand", "expand_kwargs", "partial"):
                raise Unsupported("mapped task groups (@task_group ... .expand()) are not supported yet", ca.line)
        if isinstance(obj, TaskFlowPartial) and name in ("expand", "expand_kwargs"):
            return self.taskflow_expand(obj.func, obj, ca, name)
        if isinstance(obj, PartialOp) and name in ("expand", "expand_kwargs"):
            return self.expand_operator(obj, ca, name)
        if isinstance(obj, ClassValue) and name == "partial":
            cls = operator_class(obj)
            assert cls is not None
            return self.partial_op(cls, ca)
        if isinstance(obj, (list, dict, str, tuple)) and not isinstance(obj, GlobalsDict):
            if mutates(obj, name):
                self.mutations += 1
            try:
                return pure_method(obj, name, ca.args, ca.kwargs)
            except NotConstant:
                return self.opaque_call(node, ca)
        if isinstance(obj, DagNode) and name == "get_task" and len(ca.args) == 1 and ca.args[0] in obj.tasks:
            return obj.tasks[ca.args[0]]
        if isinstance(obj, XComArgNode) and name in ("map", "zip", "concat"):
            raise Unsupported(f"XComArg.{name}() is not supported by the importer yet", ca.line)
        if isinstance(obj, (TaskNode, XComArgNode)) and name in ("as_setup", "as_teardown"):
            raise Unsupported(f".{name}() (setup/teardown tasks) is not supported by the importer yet", ca.line)
        what = type(obj).__name__.replace("Node", "").replace("Value", "")
        raise Unsupported(f"{what}.{name}() is not something the importer can represent", ca.line)


def make_param(ca: CallArgs) -> ParamValue:
    kwargs = dict(ca.kwargs)
    has_default = bool(ca.args) or "default" in kwargs
    default = ca.args[0] if ca.args else kwargs.pop("default", None)
    if len(ca.args) > 1:
        kwargs.setdefault("description", ca.args[1])
    return ParamValue(default, kwargs, has_default)


def make_xcomarg(ca: CallArgs) -> XComArgNode:
    target = ca.args[0] if ca.args else ca.kwargs.get("operator")
    key = ca.args[1] if len(ca.args) > 1 else ca.kwargs.get("key", RETURN_KEY)
    if isinstance(target, XComArgNode):
        target = target.task
    if not isinstance(target, TaskNode) or not isinstance(key, str):
        raise Unsupported("XComArg() needs a task of this file (and a string key)", ca.line)
    return XComArgNode(target, key)
