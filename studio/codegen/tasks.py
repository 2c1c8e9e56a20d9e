"""Task definitions: classic operator calls and TaskFlow calls with their decorators.

Arguments are written ``task_id=`` first, then the operator's own fields in spec order, then
BaseOperator's in catalog order, then any others alphabetically (for a custom operator its own
arguments come first, alphabetically, then BaseOperator's).

TaskFlow follows docs/ARCHITECTURE.md: the module code holds ``def f`` without a decorator; when one
task uses ``f`` its arguments go into the decorator (``@task(retries=2)``, ``task_id=`` only when it
differs from ``f``); when several do, the decorator is bare and each call is
``f.override(task_id=..., ...)(...)``. A function that cannot carry the decorator — defined elsewhere,
used by different TaskFlow kinds, also used as a plain callable, or a lambda — is wrapped per call:
``task.branch(pick)()``, ``task(python_callable=f, task_id="other", retries=2)()``. Call arguments are ``op_args``/``op_kwargs``; mapped tasks are
``f.partial(**op_kwargs).expand(...)`` and ``Cls.partial(task_id=..., ...).expand(...)``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from studio.codegen.layout import Atom, Brackets, Chain, Node
from studio.codegen.pyexpr import CodegenError, ValueContext, kwargs_items, string_literal, value_node
from studio.core.catalog import BASE_FIELDS
from studio.core.model import Dag, Task
from studio.core.specs import OperatorSpec
from studio.core.values import CallableRef, CodeExpr, ParamValue, XComRef

__all__ = ["TaskflowPlan", "classic_node", "decorator_node", "ordered_args", "plan_taskflow", "taskflow_node"]

_BASE_ORDER = [f.name for f in BASE_FIELDS]
_CALL_ARGS = ("python_callable", "op_args", "op_kwargs")


def ordered_args(args: dict[str, Any], spec: OperatorSpec | None, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """``args`` in the order they are written (see the module docstring), without ``skip``."""
    names = [n for n in args if n not in skip and n != "task_id"]
    base = [n for n in _BASE_ORDER if n in args and n in names]
    if spec is None or spec.kind == "custom":
        own = sorted(n for n in names if n not in base)
        return {n: args[n] for n in own + base}
    fields = [f.name for f in spec.fields if f.name in names]
    rest = sorted(n for n in names if n not in fields and n not in base)
    return {n: args[n] for n in fields + [b for b in base if b not in fields] + rest}


def _task_id_item(local_id: str) -> tuple[str, Node]:
    return ("task_id=", Atom(string_literal(local_id, multiline=False)))


def classic_node(task: Task, class_name: str, local_id: str, ctx: ValueContext) -> Node:
    """``Cls(task_id=..., ...)`` or, mapped, ``Cls.partial(task_id=..., ...).expand(...)``."""
    items = [_task_id_item(local_id), *kwargs_items(ordered_args(task.args, task.spec), ctx)]
    if not task.is_mapped:
        return Brackets(class_name, "(", ")", items)
    return Chain([Brackets(f"{class_name}.partial", "(", ")", items), _expand_part(task, ctx)])


def _expand_part(task: Task, ctx: ValueContext) -> Brackets:
    if task.expand is not None and task.expand_kwargs is not None:
        raise CodegenError("a mapped task has either expand or expand_kwargs, not both")
    if task.expand is not None:
        return Brackets(".expand", "(", ")", kwargs_items(task.expand, ctx))
    return Brackets(".expand_kwargs", "(", ")", [("", value_node(task.expand_kwargs, ctx))])


# --- TaskFlow --------------------------------------------------------------------------------------
@dataclass
class TaskflowPlan:
    """How each TaskFlow task is written (mode per task id) and which functions get which decorator."""

    mode: dict[str, str] = field(default_factory=dict)  # "decorator" | "override" | "functional"
    decorated: dict[str, Task | None] = field(default_factory=dict)  # function → its only task (or None)
    kind: dict[str, OperatorSpec] = field(default_factory=dict)


def _callable_name(task: Task) -> str | None:
    ref = task.args.get("python_callable")
    return ref.name if isinstance(ref, CallableRef) and ref.name.isidentifier() else None


def _callable_refs(value: Any, out: set[str]) -> None:
    if isinstance(value, CallableRef):
        out.add(value.name)
    elif isinstance(value, dict):
        for v in value.values():
            _callable_refs(v, out)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _callable_refs(v, out)


def plan_taskflow(
    dag: Dag,
    defs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef],
    task_names: set[str],
    bound_at: dict[str, int],
) -> TaskflowPlan:
    """Decide how to write each TaskFlow task. ``defs``: the module code's top-level functions;
    ``task_names``: names bound to the ``task`` decorator there (a function already decorated);
    ``bound_at``: the line where each module-level name is first bound."""
    plan = TaskflowPlan()
    uses: dict[str, list[Task]] = {}
    elsewhere: set[str] = set()
    _callable_refs(dag.args, elsewhere)
    for group in dag.groups:
        _callable_refs(group.args, elsewhere)
    for task in dag.tasks:
        spec = task.spec
        taskflow = spec is not None and spec.kind == "taskflow"
        name = _callable_name(task) if taskflow else None
        if name is not None:
            uses.setdefault(name, []).append(task)
        _callable_refs({k: v for k, v in task.args.items() if not (taskflow and k == "python_callable")}, elsewhere)
        _callable_refs([task.expand, task.expand_kwargs], elsewhere)
        if taskflow and name is None:
            plan.mode[task.task_id] = "functional"
    for name, tasks in uses.items():
        node = defs.get(name)
        kinds = {t.operator for t in tasks}
        if node is not None and any(_root_name(d) in task_names for d in node.decorator_list):
            plan.mode.update((t.task_id, "override") for t in tasks)
        elif node is None or name in elsewhere or len(kinds) > 1:
            plan.mode.update((t.task_id, "functional") for t in tasks)
        else:
            single = len(tasks) == 1 and _fits_decorator(tasks[0], node.lineno, bound_at)
            plan.decorated[name] = tasks[0] if single else None
            plan.kind[name] = tasks[0].spec  # type: ignore[assignment]
            plan.mode.update((t.task_id, "decorator" if single else "override") for t in tasks)
    return plan


def _fits_decorator(task: Task, line: int, bound_at: dict[str, int]) -> bool:
    """Whether the task's arguments can be written above ``def`` on ``line``: no XCom (tasks exist only
    inside the DAG block) and no name the module code binds further down (a callback defined later)."""
    names: set[str] = set()
    for value in ordered_args(task.args, task.spec, _CALL_ARGS).values():
        if not _names_needed(value, names):
            return False
    return all(bound_at.get(n, 0) < line for n in names)


def _names_needed(value: Any, out: set[str]) -> bool:
    """Add the names the code of ``value`` reads to ``out``; False when it uses another task's XCom."""
    if isinstance(value, XComRef):
        return False
    if isinstance(value, CallableRef):
        out.add(value.name.split(".")[0])
    elif isinstance(value, CodeExpr):
        try:
            out.update(n.id for n in ast.walk(ast.parse(f"({value.source}\n)", mode="eval")) if isinstance(n, ast.Name))
        except SyntaxError:
            return True  # reported when the value is written
    elif isinstance(value, dict):
        return all(_names_needed(v, out) for v in value.values())
    elif isinstance(value, (list, tuple)):
        return all(_names_needed(v, out) for v in value)
    elif isinstance(value, ParamValue):
        return _names_needed(value.default, out) and _names_needed(value.schema, out)
    return True


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Call, ast.Attribute)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _decorator_head(spec: OperatorSpec, task_name: str) -> str:
    return f"{task_name}.{spec.decorator}" if spec.decorator else task_name


def _operator_items(task: Task, local_id: str, fname: str | None, ctx: ValueContext, always_id: bool) -> list:
    items = kwargs_items(ordered_args(task.args, task.spec, _CALL_ARGS), ctx)
    if always_id or local_id != fname:
        items.insert(0, _task_id_item(local_id))
    return items


def decorator_node(
    fname: str, spec: OperatorSpec, task: Task | None, local_id: str, task_name: str, ctx: ValueContext
) -> Node:
    """``task``, ``task.branch`` or ``task(retries=2)``: what goes above ``def fname``."""
    head = _decorator_head(spec, task_name)
    items = [] if task is None else _operator_items(task, local_id, fname, ctx, always_id=False)
    return Brackets(head, "(", ")", items) if items else Atom(head)


def taskflow_node(task: Task, mode: str, local_id: str, task_name: str, ctx: ValueContext) -> Node:
    """The call that creates a TaskFlow task (see the module docstring for the three modes)."""
    spec = task.spec
    assert spec is not None
    fname = _callable_name(task)
    parts: list[Brackets] = []
    if mode == "functional":  # task(f)() or task(python_callable=f, task_id=..., ...)()
        fn = value_node(task.args.get("python_callable"), ctx)
        items = _operator_items(task, local_id, fname, ctx, always_id=fname is None)
        items = [("python_callable=", fn), *items] if items else [("", fn)]
        parts.append(Brackets(_decorator_head(spec, task_name), "(", ")", items))
        callee = ""
    elif mode == "override":
        items = _operator_items(task, local_id, fname, ctx, always_id=False)
        if items:
            items = _operator_items(task, local_id, fname, ctx, always_id=True)
            parts.append(Brackets(f"{fname}.override", "(", ")", items))
            callee = ""
        else:
            callee = fname or ""
    else:
        callee = fname or ""
    parts.extend(_call_parts(task, callee, ctx))
    return Chain(parts)


def _call_parts(task: Task, callee: str, ctx: ValueContext) -> list[Brackets]:
    op_args = task.args.get("op_args")
    op_kwargs = task.args.get("op_kwargs")
    kw_items = (
        (kwargs_items(op_kwargs, ctx) if isinstance(op_kwargs, dict) else [("**", value_node(op_kwargs, ctx))])
        if op_kwargs is not None
        else []
    )
    if task.is_mapped:
        if op_args:
            raise CodegenError("a mapped TaskFlow task cannot take positional arguments (op_args); use op_kwargs")
        parts = [Brackets(f"{callee}.partial", "(", ")", kw_items)] if kw_items else []
        expand = _expand_part(task, ctx)
        expand.head = expand.head if parts else f"{callee}{expand.head}"
        return [*parts, expand]
    items: list[tuple[str, Node]] = []
    if op_args is not None:
        if isinstance(op_args, (list, tuple)):
            items.extend(("", value_node(v, ctx)) for v in op_args)
        else:
            items.append(("*", value_node(op_args, ctx)))
    return [Brackets(callee, "(", ")", items + kw_items)]
