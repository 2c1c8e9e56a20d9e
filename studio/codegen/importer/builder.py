"""Building DAG structure with Airflow's rules: DAGs, TaskGroups, operator tasks, TaskFlow tasks, mapping.

Task ids follow Airflow exactly: the group prefix (``TaskGroup.child_id``), TaskFlow's
``get_unique_task_id`` (a repeated call of ``f`` gives ``f__1``, ``f__2``...), ``@task_group``'s suffixes
on collision (``g__1``). XComArgs in templated arguments and in ``.expand()`` become upstream edges, as
Airflow makes them. Arguments are stored as model values; one that has no model form is kept as code.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

from studio.codegen.importer import dependencies as deps
from studio.codegen.importer.convert import NotRepresentable, iter_xcomargs, to_model
from studio.codegen.importer.evaluator import Unsupported, require_str
from studio.codegen.importer.objects import (
    DagNode,
    FunctionValue,
    GroupNode,
    LabelNode,
    OperatorClass,
    PartialOp,
    TaskFlowPartial,
    TaskNode,
    XComArgNode,
)
from studio.core.catalog import get_spec
from studio.core.values import CallableRef, CodeExpr


@dataclass
class CallArgs:
    """Evaluated arguments of one call, with the nodes and lines they came from."""

    line: int
    args: list[Any] = field(default_factory=list)
    arg_nodes: list[ast.expr | None] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    kw_nodes: dict[str, ast.expr | None] = field(default_factory=dict)
    kw_lines: dict[str, int] = field(default_factory=dict)


class Builder:
    """DAG structure creation; mixed into the interpreter (which provides scope, warn, opaque)."""

    dags: list[DagNode]
    dag_stack: list[DagNode]
    group_stack: list[GroupNode]
    events: int
    mutations: int
    task_used: set[int]
    stmt_line: int
    orphans: list[TaskNode]

    # --- context ------------------------------------------------------------------------------------
    def note_structure(self) -> None:
        self.events += 1

    def current_dag(self) -> DagNode | None:
        return self.dag_stack[-1] if self.dag_stack else None

    def current_group(self, dag: DagNode | None) -> GroupNode | None:
        if self.group_stack:
            return self.group_stack[-1]
        return dag.root if dag is not None else None

    def dependency_sink(self) -> deps.Sink:
        return self  # type: ignore[return-value]

    # --- model values -------------------------------------------------------------------------------
    def model_value(self, value: Any, node: ast.expr | None, what: str, line: int) -> Any:
        try:
            return to_model(value)
        except NotRepresentable as exc:
            self.warn(f"{what}: {exc} has no place in the model; kept as code", line)
            if node is not None:
                return CodeExpr(self.opaque(node).source)
            return CodeExpr("None")

    def _store_args(self, target: dict[str, Any], lines: dict[str, int], ca: CallArgs, kwargs: dict[str, Any]) -> None:
        for name, value in kwargs.items():
            line = ca.kw_lines.get(name, ca.line)
            target[name] = self.model_value(value, ca.kw_nodes.get(name), f"argument {name}", line)
            lines[name] = line

    # --- DAGs ---------------------------------------------------------------------------------------
    def new_dag(self, dag_id: str, line: int) -> DagNode:
        dag = DagNode(dag_id, line)
        self.dags.append(dag)
        self.note_structure()
        return dag

    def make_dag(self, ca: CallArgs) -> DagNode:
        kwargs = dict(ca.kwargs)
        if "dag_id" in kwargs:
            dag_id = kwargs.pop("dag_id")
        elif ca.args:
            dag_id = ca.args[0]
        else:
            raise Unsupported("DAG() needs a dag_id", ca.line)
        dag = self.new_dag(require_str(dag_id, "dag_id", ca.line), ca.line)
        if len(ca.args) > 1:
            self.warn("DAG() arguments after dag_id must be keywords; the others are ignored", ca.line)
        self.set_dag_args(dag, kwargs, ca)
        return dag

    def set_dag_args(self, dag: DagNode, kwargs: dict[str, Any], ca: CallArgs) -> None:
        for name, value in kwargs.items():
            key = "schedule" if name == "schedule_interval" else name
            line = ca.kw_lines.get(name, ca.line)
            dag.args[key] = self.model_value(value, ca.kw_nodes.get(name), f"DAG argument {name}", line)
            dag.arg_lines[key] = line

    # --- groups -------------------------------------------------------------------------------------
    def make_group(self, ca: CallArgs, suffix: bool = False, group_id: Any = None) -> GroupNode:
        kwargs = dict(ca.kwargs)
        if group_id is None:
            group_id = kwargs.pop("group_id") if "group_id" in kwargs else (ca.args[0] if ca.args else None)
        else:
            kwargs.pop("group_id", None)
        local_id = require_str(group_id, "group_id", ca.line)
        parent = kwargs.pop("parent_group", None)
        dag = kwargs.pop("dag", None)
        suffix = bool(kwargs.pop("add_suffix_on_collision", suffix))
        prefix = kwargs.get("prefix_group_id", True)
        if not isinstance(prefix, bool):
            raise Unsupported("prefix_group_id must be True or False", ca.line)
        if parent is None:
            parent = self.current_group(self.current_dag())
        if not isinstance(parent, (GroupNode, type(None))) or not isinstance(dag, (DagNode, type(None))):
            raise Unsupported("parent_group/dag of a TaskGroup must be a TaskGroup/DAG of this file", ca.line)
        dag = dag or (parent.dag if parent is not None else None)
        if dag is None:
            raise Unsupported("a TaskGroup can only be used inside a DAG", ca.line)
        parent = parent or dag.root
        used = parent.used_group_ids
        group = GroupNode(local_id, parent, prefix, dag, line=ca.line, used_group_ids=used)
        if group.group_id in used:
            if not suffix:
                raise Unsupported(f"group_id {local_id!r} is already used in DAG {dag.dag_id!r}", ca.line)
            base = re.split(r"__\d+$", local_id)[0]
            found = sorted(int(re.split(r"^.+__", u)[1]) for u in used if re.match(rf"^{base}__\d+$", u))
            group.local_id = f"{local_id}__1" if not found else f"{base}__{found[-1] + 1}"
        full = group.group_id or ""
        if any(_node_id(child) == full for child in parent.children):
            raise Unsupported(f"task group id {full!r} is already used in DAG {dag.dag_id!r}", ca.line)
        parent.children.append(group)
        used.update((full, f"{full}.downstream_join_id", f"{full}.upstream_join_id"))
        dag.groups.append(group)
        self._store_args(group.args, group.arg_lines, ca, kwargs)
        self.note_structure()
        return group

    # --- tasks --------------------------------------------------------------------------------------
    def new_task(self, local_id: str, cls: OperatorClass, dag: Any, group: Any, line: int) -> TaskNode:
        if not isinstance(dag, (DagNode, type(None))) or not isinstance(group, (GroupNode, type(None))):
            raise Unsupported("dag=/task_group= must name a DAG/TaskGroup of this file", line)
        dag = dag or self.current_dag()
        if group is None and dag is not None:
            group = self.current_group(dag)
        if dag is None and group is not None:
            dag = group.dag
        task_id = group.child_id(local_id) if group is not None else local_id
        if dag is not None and (task_id in dag.tasks or task_id in dag.root.used_group_ids):
            raise Unsupported(f"task id {task_id!r} is already used in DAG {dag.dag_id!r} (Airflow rejects this)", line)
        task = TaskNode(task_id, cls.operator, line, class_path=cls.class_path)
        if group is not None:
            group.children.append(task)
            task.group = group
        if dag is not None:
            self._add_to_dag(task, dag)
        else:
            self.orphans.append(task)
        self.note_structure()
        return task

    def _add_to_dag(self, task: TaskNode, dag: DagNode) -> None:
        dag.tasks[task.task_id] = task
        dag.root.used_group_ids.add(task.task_id)
        task.dag = dag

    def attach_task(self, task: TaskNode, dag: DagNode) -> None:
        """A task created without a DAG joins the DAG of the task it is connected to (as in Airflow)."""
        if task.task_id in dag.tasks:
            raise deps.DependencyError(f"task id {task.task_id!r} is already used in DAG {dag.dag_id!r}")
        if task.group is None:
            group = self.current_group(dag) or dag.root
            group.children.append(task)
            task.group = group
        self._add_to_dag(task, dag)

    def add_edge(self, up: TaskNode, down: TaskNode, label: LabelNode | None) -> None:
        dag = down.dag or up.dag
        assert dag is not None
        key = (up.task_id, down.task_id)
        up.downstream[down.task_id] = None
        down.upstream[up.task_id] = None
        if key not in dag.edges:
            dag.edges[key] = None
            dag.edge_lines[key] = self.stmt_line
        if label is not None:
            dag.edges[key] = label.label
        self.note_structure()

    def label_on_groups(self, label: LabelNode) -> None:
        self.warn(
            f"the label {label.label!r} joins a TaskGroup: Airflow shows it between the groups and sets the "
            "task edges without it, so they carry no label in the model",
            self.stmt_line,
        )

    def xcom_edges(self, task: TaskNode, values: list[Any]) -> None:
        for value in values:
            for ref in iter_xcomargs(value):
                try:
                    deps.set_relatives(self, task, ref.task, upstream=True)
                except deps.DependencyError as exc:
                    raise Unsupported(str(exc), task.line) from None

    def operator_call(self, cls: OperatorClass, ca: CallArgs) -> TaskNode:
        if ca.args:
            raise Unsupported("operators take keyword arguments only", ca.line)
        kwargs = dict(ca.kwargs)
        local = require_str(kwargs.pop("task_id", None), "task_id", ca.line)
        task = self.new_task(local, cls, kwargs.pop("dag", None), kwargs.pop("task_group", None), ca.line)
        self._store_args(task.args, task.arg_lines, ca, kwargs)
        self.xcom_edges(task, [v for k, v in kwargs.items() if cls.templated is None or k in cls.templated])
        return task

    def partial_op(self, cls: OperatorClass, ca: CallArgs) -> PartialOp:
        if ca.args:
            raise Unsupported("Operator.partial() takes keyword arguments only", ca.line)
        if "task_id" not in ca.kwargs:
            raise Unsupported("Operator.partial() needs task_id", ca.line)
        return PartialOp(cls, dict(ca.kwargs), dict(ca.kw_nodes), dict(ca.kw_lines), ca.line)

    def expand_operator(self, partial: PartialOp, ca: CallArgs, kind: str) -> TaskNode:
        kwargs = dict(partial.kwargs)
        local = require_str(kwargs.pop("task_id"), "task_id", partial.line)
        task = self.new_task(local, partial.cls, kwargs.pop("dag", None), kwargs.pop("task_group", None), ca.line)
        pca = CallArgs(partial.line, kwargs=kwargs, kw_nodes=partial.nodes, kw_lines=partial.lines)
        self._store_args(task.args, task.arg_lines, pca, kwargs)
        expanded = self._store_expand(task, ca, kind)
        templated = partial.cls.templated
        self.xcom_edges(task, [*expanded, *(v for k, v in kwargs.items() if templated is None or k in templated)])
        return task

    def _store_expand(self, task: TaskNode, ca: CallArgs, kind: str) -> list[Any]:
        task.expand_line = ca.line
        if kind == "expand":
            if ca.args or not ca.kwargs:
                raise Unsupported(".expand() takes keyword arguments", ca.line)
            task.expand = {}
            lines: dict[str, int] = {}
            self._store_args(task.expand, lines, ca, ca.kwargs)
            return list(ca.kwargs.values())
        if len(ca.args) != 1 or ca.kwargs:
            raise Unsupported(".expand_kwargs() takes one argument", ca.line)
        node = ca.arg_nodes[0] if ca.arg_nodes else None
        task.expand_kwargs = self.model_value(ca.args[0], node, "expand_kwargs", ca.line)
        return [ca.args[0]]

    # --- TaskFlow -----------------------------------------------------------------------------------
    def unique_task_id(self, task_id: str, dag: DagNode | None, group: GroupNode | None) -> str:
        """Airflow's ``get_unique_task_id``: ``f``, ``f__1``, ``f__2``... for repeated TaskFlow calls."""
        if dag is None:
            return task_id
        tg_task_id = group.child_id(task_id) if group is not None else task_id
        if tg_task_id not in dag.tasks:
            return task_id
        prefix = re.split(r"__\d+$", tg_task_id)[0]
        suffixes = [0]
        for existing in dag.tasks:
            match = re.match(rf"^{prefix}__(\d+)$", existing)
            if match:
                suffixes.append(int(match.group(1)))
        core = re.split(r"__\d+$", task_id)[0]
        return f"{core}__{max(suffixes) + 1}"

    def taskflow_task(self, fv: FunctionValue, line: int) -> tuple[TaskNode, dict[str, Any]]:
        kwargs = dict(fv.kwargs)
        local = require_str(kwargs.pop("task_id", fv.name), "task_id", line)
        dag = kwargs.pop("dag", None) or self.current_dag()
        group = kwargs.pop("task_group", None)
        if group is None and isinstance(dag, DagNode):
            group = self.current_group(dag)
        if isinstance(dag, DagNode) and isinstance(group, (GroupNode, type(None))):
            local = self.unique_task_id(local, dag, group)
        spec = get_spec(fv.operator)
        templated = frozenset(spec.templated_fields) if spec is not None else None
        task = self.new_task(local, OperatorClass(fv.operator, None, templated), dag, group, line)
        task.args["python_callable"] = CallableRef(fv.name)
        ca = CallArgs(line, kwargs=kwargs, kw_nodes=fv.kwarg_nodes, kw_lines=fv.kwarg_lines)
        self._store_args(task.args, task.arg_lines, ca, kwargs)
        self.task_used.add(id(fv.base.node))
        return task, kwargs

    def taskflow_call(self, fv: FunctionValue, ca: CallArgs) -> XComArgNode:
        task, decorator_kwargs = self.taskflow_task(fv, ca.line)
        if ca.args:
            task.args["op_args"] = [
                self.model_value(v, n, "argument", ca.line) for v, n in zip(ca.args, ca.arg_nodes, strict=False)
            ]
            task.arg_lines["op_args"] = ca.line
        if ca.kwargs:
            op_kwargs: dict[str, Any] = {}
            self._store_args(op_kwargs, {}, ca, ca.kwargs)
            task.args["op_kwargs"] = op_kwargs
            task.arg_lines["op_kwargs"] = ca.line
        others = [v for k, v in decorator_kwargs.items() if k in ("templates_dict", "env")]
        self.xcom_edges(task, [ca.args, ca.kwargs, *others])
        return XComArgNode(task)

    def taskflow_expand(self, fv: FunctionValue, partial: TaskFlowPartial | None, ca: CallArgs, kind: str) -> Any:
        task, _ = self.taskflow_task(fv, ca.line)
        expanded = self._store_expand(task, ca, kind)
        partial_kwargs = partial.kwargs if partial is not None else {}
        if partial_kwargs:
            op_kwargs: dict[str, Any] = {}
            pca = CallArgs(
                partial.line if partial else ca.line, kwargs=partial_kwargs, kw_nodes=partial.nodes if partial else {}
            )
            self._store_args(op_kwargs, {}, pca, partial_kwargs)
            task.args["op_kwargs"] = op_kwargs
        self.xcom_edges(task, [*expanded, partial_kwargs])
        return XComArgNode(task)


def _node_id(node: TaskNode | GroupNode) -> str | None:
    return node.task_id if isinstance(node, TaskNode) else node.group_id
