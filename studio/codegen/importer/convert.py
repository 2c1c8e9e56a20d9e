"""From interpreter values to model values (``studio.core.values``), and finished DAGs to the model.

``to_model`` maps plain data to itself, XComArgs to ``XComRef``, functions of the module code to
``CallableRef``, Airflow ``Param``s to ``ParamValue`` and everything kept as source (opaque expressions,
imported names, time zones) to ``CodeExpr``. Task, DAG and group objects have no model value: those
raise ``NotRepresentable`` and the caller keeps the argument as code with a warning.
``build_dag`` turns a finished ``DagNode`` into a ``studio.core.model.Dag`` with its source map; edges
are in a canonical order (by upstream, then downstream task position) that does not depend on how
the file wrote its dependencies, so importing generated code gives back the same model.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from studio.codegen.importer.objects import (
    Builtin,
    ClassValue,
    DagNode,
    DagParamValue,
    FunctionValue,
    GroupNode,
    Opaque,
    SourceFile,
    Symbol,
    TaskNode,
    Timezone,
    XComArgNode,
)
from studio.core.model import Dag, Edge, SourceMap, Task, TaskGroup
from studio.core.values import CallableRef, CodeExpr, DateTime, ParamValue, XComRef


class NotRepresentable(Exception):
    """A value the model has no form for (a task object passed as an argument, for instance)."""


def to_model(value: Any, depth: int = 0) -> Any:
    """The model value of an interpreter value; raises ``NotRepresentable``."""
    if depth > 50:
        raise NotRepresentable("a value nested too deeply")
    if isinstance(value, str):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, _dt.timedelta, DateTime)):
        return value
    if isinstance(value, (list, tuple)):
        return [to_model(v, depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [to_model(v, depth + 1) for v in value]
        return sorted(items, key=repr)
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise NotRepresentable("a dict with keys that are not strings")
        return {k: to_model(v, depth + 1) for k, v in value.items()}
    if isinstance(value, XComArgNode):
        return XComRef(value.task.task_id, value.key)
    if isinstance(value, (Opaque, Symbol, Timezone, Builtin)):
        return CodeExpr(value.source)
    if isinstance(value, FunctionValue):
        if value.kind in ("plain", "task"):
            return CallableRef(value.name)
        raise NotRepresentable(f"the @{value.kind} function {value.name!r}")
    if isinstance(value, ClassValue):
        return CodeExpr(value.name)
    if isinstance(value, ParamValue):
        return ParamValue(to_model(value.default, depth + 1), to_model(value.schema, depth + 1), value.has_default)
    if isinstance(value, bytes):
        return CodeExpr(repr(value))
    if isinstance(value, TaskNode):
        raise NotRepresentable(f"the task object {value.task_id!r}")
    if isinstance(value, DagNode):
        raise NotRepresentable(f"the DAG object {value.dag_id!r}")
    if isinstance(value, GroupNode):
        raise NotRepresentable(f"the TaskGroup object {value.group_id!r}")
    if isinstance(value, DagParamValue):
        raise NotRepresentable(f"the @dag function parameter {value.name!r}")
    if isinstance(value, SourceFile):
        raise NotRepresentable("the path of the file (__file__)")
    raise NotRepresentable(f"a {type(value).__name__} value")


def iter_xcomargs(value: Any, depth: int = 0) -> list[XComArgNode]:
    """XComArgs inside an argument value, in order (Airflow sets upstreams for each)."""
    if isinstance(value, XComArgNode):
        return [value]
    if depth > 20:
        return []
    if isinstance(value, dict):
        return [x for v in value.values() for x in iter_xcomargs(v, depth + 1)]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [x for v in value for x in iter_xcomargs(v, depth + 1)]
    return []


def build_dag(node: DagNode, file: str, module_code: str) -> Dag:
    """The model DAG of a finished DagNode (tasks in Airflow's order, groups parents first)."""
    source = SourceMap(file=file)
    source.lines["dag"] = node.line
    for name, line in node.arg_lines.items():
        source.lines[f"dag.args.{name}"] = line
    groups: list[TaskGroup] = []
    for group in node.groups:
        gid = group.group_id or ""
        parent = group.parent.group_id if group.parent is not None and not group.parent.is_root else None
        groups.append(TaskGroup(gid, parent, dict(group.args)))
        source.lines[f"group:{gid}"] = group.line
        for name, line in group.arg_lines.items():
            source.lines[f"group:{gid}.args.{name}"] = line
    tasks: list[Task] = []
    for task in node.tasks.values():
        group_id = task.group.group_id if task.group is not None and not task.group.is_root else None
        tasks.append(
            Task(
                task_id=task.task_id,
                operator=task.operator,
                args=dict(task.args),
                group_id=group_id,
                expand=dict(task.expand) if task.expand is not None else None,
                expand_kwargs=task.expand_kwargs,
                class_path=task.class_path,
            )
        )
        key = f"task:{task.task_id}"
        source.lines[key] = task.line
        for name, line in task.arg_lines.items():
            source.lines[f"{key}.args.{name}"] = line
        if task.expand_line is not None:
            source.lines[f"{key}.expand"] = task.expand_line
    position = {task_id: i for i, task_id in enumerate(node.tasks)}
    ordered = sorted(node.edges.items(), key=lambda item: (position[item[0][0]], position[item[0][1]]))
    edges = [Edge(up, down, label) for (up, down), label in ordered]
    for (up, down), line in node.edge_lines.items():
        source.lines[f"edge:{up}>{down}"] = line
    tail = "\n\n".join(node.tail) + "\n" if node.tail else ""
    return Dag(
        dag_id=node.dag_id,
        args=dict(node.args),
        tasks=tasks,
        groups=groups,
        edges=edges,
        module_code=module_code,
        tail_code=tail,
        unparsed=list(node.unparsed),
        source=source,
    )
