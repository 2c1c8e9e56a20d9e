"""What the importer's abstract interpreter computes with: stand-ins for Airflow's objects.

Evaluating a DAG file never runs it. Plain Python values (str, int, list, dict, ``timedelta``,
``values.DateTime``...) stand for themselves; everything else is one of the classes below:

* ``Opaque`` — an expression the importer does not evaluate, kept as source (becomes a ``CodeExpr``);
* ``Symbol`` — an imported name (``airflow.sdk.DAG``, ``pendulum``), by its fully qualified path;
* ``DagNode``, ``GroupNode``, ``TaskNode``, ``XComArgNode``, ``LabelNode`` — the DAG structure being
  built, with Airflow's own bookkeeping (children order, upstream/downstream sets, used group ids);
* ``FunctionValue`` / ``ClassValue`` — functions and classes defined in the file;
* ``OperatorClass``, ``PartialOp``, ``TaskFlowPartial``, ``BoundMethod`` — intermediate call results.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

RETURN_KEY = "return_value"


@dataclass(eq=False)
class Opaque:
    """An expression kept as Python source (module-level names and literals only)."""

    source: str
    line: int | None = None
    used: bool = False  # read through a name (an unused local one is reported as unparsed code)


@dataclass(frozen=True)
class Symbol:
    """An imported object: its qualified path and the expression that names it in this file."""

    path: str
    source: str

    def attr(self, name: str) -> Symbol:
        return Symbol(f"{self.path}.{name}", f"{self.source}.{name}")


@dataclass(frozen=True)
class Builtin:
    """A Python builtin referred to by name (``range``, ``len``, ``print``, ``globals``...)."""

    name: str

    @property
    def source(self) -> str:
        return self.name


class EnumStr(str):
    """A member of a string enum such as ``TriggerRule.ALL_DONE``: a string that also has ``.value``."""

    __slots__ = ()

    @property
    def value(self) -> str:
        return str(self)


@dataclass(frozen=True)
class SourceFile:
    """``__file__`` (or ``Path(__file__)``): only its name is known (``.name``, ``.stem``, ``basename``)."""

    name: str

    @property
    def stem(self) -> str:
        return self.name.rsplit(".", 1)[0] if "." in self.name else self.name


@dataclass(frozen=True)
class Timezone:
    """``pendulum.timezone("Europe/Amsterdam")`` and friends: an IANA zone name and its source."""

    name: str
    source: str


@dataclass(eq=False)
class DagNode:
    """A DAG under construction: arguments, tasks in Airflow's order, groups, edges with labels."""

    dag_id: str
    line: int
    args: dict[str, Any] = field(default_factory=dict)
    arg_lines: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, TaskNode] = field(default_factory=dict)
    groups: list[GroupNode] = field(default_factory=list)
    edges: dict[tuple[str, str], str | None] = field(default_factory=dict)
    edge_lines: dict[tuple[str, str], int] = field(default_factory=dict)
    root: GroupNode = field(init=False)
    registered: bool = False  # used as a context manager (Airflow auto-registers it)
    unparsed: list[str] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root = GroupNode(None, None, True, self, line=self.line)


@dataclass(eq=False)
class GroupNode:
    """A TaskGroup (``local_id`` None for a DAG's root group), with Airflow's id rules."""

    local_id: str | None
    parent: GroupNode | None
    prefix_group_id: bool
    dag: DagNode
    args: dict[str, Any] = field(default_factory=dict)
    arg_lines: dict[str, int] = field(default_factory=dict)
    line: int = 0
    children: list[TaskNode | GroupNode] = field(default_factory=list)
    upstream_task_ids: dict[str, None] = field(default_factory=dict)
    used_group_ids: set[str] = field(default_factory=set)

    @property
    def is_root(self) -> bool:
        return not self.local_id

    @property
    def group_id(self) -> str | None:
        """Airflow's ``TaskGroup.group_id``: prefixed only when the direct parent prefixes."""
        parent = self.parent
        if self.local_id and parent is not None and parent.prefix_group_id and parent.local_id:
            return parent.child_id(self.local_id)
        return self.local_id

    def child_id(self, label: str) -> str:
        if self.prefix_group_id and self.group_id:
            return f"{self.group_id}.{label}"
        return label

    def iter_tasks(self) -> list[TaskNode]:
        """The tasks of this group and its subgroups, in Airflow's iteration order."""
        out: list[TaskNode] = []
        for child in self.children:
            if isinstance(child, GroupNode):
                out.extend(child.iter_tasks())
            else:
                out.append(child)
        return out


@dataclass(eq=False)
class TaskNode:
    """One operator instance: full task id, model operator id, arguments (interpreter values)."""

    task_id: str
    operator: str
    line: int
    dag: DagNode | None = None
    group: GroupNode | None = None
    args: dict[str, Any] = field(default_factory=dict)
    arg_lines: dict[str, int] = field(default_factory=dict)
    class_path: str | None = None
    expand: dict[str, Any] | None = None
    expand_kwargs: Any = None
    expand_line: int | None = None
    upstream: dict[str, None] = field(default_factory=dict)
    downstream: dict[str, None] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class XComArgNode:
    """``task.output`` / the result of a TaskFlow call, optionally ``["key"]``."""

    task: TaskNode
    key: str = RETURN_KEY

    def template(self) -> str:
        """``str(xcomarg)``: the Jinja expression Airflow renders it to (no dependency)."""
        dag_id = self.task.dag.dag_id if self.task.dag is not None else None
        return f"{{{{ task_instance.xcom_pull(task_ids='{self.task.task_id}', dag_id='{dag_id}', key='{self.key}') }}}}"


@dataclass(eq=False)
class LabelNode:
    """``Label("text")``: an EdgeModifier that remembers both sides until it can connect them."""

    label: str | None
    upstream: list[Any] = field(default_factory=list)
    downstream: list[Any] = field(default_factory=list)


@dataclass(eq=False)
class FunctionValue:
    """A function defined in the file. ``kind``: plain, task (TaskFlow), task_group, dag, setup/teardown."""

    node: ast.FunctionDef | ast.AsyncFunctionDef
    scope: Any  # the defining Scope (closure)
    kind: str = "plain"
    operator: str = "@task"  # TaskFlow spec id for kind == "task"
    kwargs: dict[str, Any] = field(default_factory=dict)  # decorator (and .override) arguments
    kwarg_nodes: dict[str, ast.expr | None] = field(default_factory=dict)
    kwarg_lines: dict[str, int] = field(default_factory=dict)
    decorators: list[ast.expr] = field(default_factory=list)  # the decorators that make it task/group/dag
    top_level: bool = True
    origin: FunctionValue | None = None  # the undecorated original (for .override copies)

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def base(self) -> FunctionValue:
        return self.origin or self


@dataclass(eq=False)
class ClassValue:
    """A class defined in the file; ``template_fields`` when the class body sets them literally."""

    name: str
    node: ast.ClassDef
    base_paths: list[Any] = field(default_factory=list)
    template_fields: tuple[str, ...] | None = None


@dataclass(frozen=True)
class OperatorClass:
    """An operator class: spec id (or ``custom``), import path, and which arguments are templated."""

    operator: str
    class_path: str | None
    templated: frozenset[str] | None  # None: unknown, every argument may hold an XComArg


@dataclass(eq=False)
class PartialOp:
    """``Operator.partial(task_id=..., **kwargs)`` waiting for ``.expand()``."""

    cls: OperatorClass
    kwargs: dict[str, Any]
    nodes: dict[str, ast.expr | None]
    lines: dict[str, int]
    line: int


@dataclass(eq=False)
class TaskFlowPartial:
    """``f.partial(**kwargs)`` of a TaskFlow function waiting for ``.expand()``."""

    func: FunctionValue
    kwargs: dict[str, Any]
    nodes: dict[str, ast.expr | None]
    line: int


@dataclass(frozen=True, eq=False)
class BoundMethod:
    """``obj.name`` where obj is a structure object or a container, called later."""

    obj: Any
    name: str


@dataclass(frozen=True, eq=False)
class DagParamValue:
    """A parameter of a ``@dag`` function: Airflow passes ``dag.param(name)`` in its place."""

    name: str


STRUCTURE_TYPES = (
    DagNode,
    GroupNode,
    TaskNode,
    XComArgNode,
    LabelNode,
    PartialOp,
    TaskFlowPartial,
    OperatorClass,
)


def contains_structure(value: Any, depth: int = 0) -> bool:
    """True when ``value`` is (or holds) part of a DAG's structure."""
    if isinstance(value, STRUCTURE_TYPES):
        return True
    if isinstance(value, FunctionValue):
        return value.kind != "plain"
    if isinstance(value, BoundMethod):
        return contains_structure(value.obj, depth + 1)
    if depth > 6:
        return False
    if isinstance(value, (list, tuple, set)):
        return any(contains_structure(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(contains_structure(v, depth + 1) for v in value.values())
    return False


def dependency_like(value: Any) -> bool:
    """Objects Airflow's ``>>`` and ``chain`` accept one by one (DependencyMixin)."""
    return isinstance(value, (TaskNode, XComArgNode, GroupNode, LabelNode))
