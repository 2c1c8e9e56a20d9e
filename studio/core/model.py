"""The DAG model: Project, Dag, Task, TaskGroup, Edge. Plain data, no Qt, no I/O.

Names follow Airflow's glossary. A task's ``task_id`` is its full id as Airflow reports it (``group.task``
inside a TaskGroup with ``prefix_group_id``); ``args`` holds only the arguments the user set, with model
values from ``values.py``. A DAG's *module code* is the Python source that goes with it — imports,
helper functions, ``python_callable`` functions, TaskFlow function bodies — kept as text so it diffs and
opens in any editor; the generated file is that code plus the DAG definition.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from studio.core.catalog import get_spec
from studio.core.specs import OperatorSpec


@dataclass
class SourceMap:
    """Where the parts of a DAG were read from, so messages can name file, line and JSON path.

    Keys: ``"dag"``, ``"dag.args.<name>"``, ``"task:<id>"``, ``"task:<id>.args.<name>"``,
    ``"task:<id>.expand"``, ``"group:<id>"``, ``"edge:<up>><down>"``. A missing key falls back to its
    parent (``task:t.args.x`` → ``task:t`` → ``dag``).
    """

    file: str | None = None
    lines: dict[str, int] = field(default_factory=dict)
    json_paths: dict[str, str] = field(default_factory=dict)
    module_file: str | None = None  # the module code's own file (``dags/<dag_id>.py`` in a project)

    def locate(self, key: str) -> tuple[int | None, str | None]:
        """(line, JSON path) of ``key`` or of its nearest recorded parent."""
        path = self.json_paths.get(key)
        probe = key
        while True:
            if probe in self.lines:
                return self.lines[probe], path
            if "." in probe:
                probe = probe.rsplit(".", 1)[0]
            elif probe != "dag":
                probe = "dag"
            else:
                return None, path


@dataclass
class Edge:
    """``upstream >> downstream``, optionally with an edge label (``Label("...")``)."""

    upstream: str
    downstream: str
    label: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.upstream, self.downstream)


@dataclass
class Task:
    """One task: an operator (by spec id) and the arguments the user set on it.

    ``expand``/``expand_kwargs`` make it a mapped task (``.partial(**args).expand(**expand)``).
    ``class_path`` names the class of a ``custom`` operator (``"package.module.ClassName"``; a bare
    ``"ClassName"`` for a class defined in the module code).
    """

    task_id: str
    operator: str
    args: dict[str, Any] = field(default_factory=dict)
    group_id: str | None = None
    expand: dict[str, Any] | None = None
    expand_kwargs: Any = None
    class_path: str | None = None
    position: tuple[float, float] | None = None

    @property
    def spec(self) -> OperatorSpec | None:
        return get_spec(self.operator)

    @property
    def is_mapped(self) -> bool:
        return self.expand is not None or self.expand_kwargs is not None


@dataclass
class TaskGroup:
    """A TaskGroup. ``group_id`` is the full id (``outer.inner`` when the parent prefixes ids)."""

    group_id: str
    parent_id: str | None = None
    args: dict[str, Any] = field(default_factory=dict)  # tooltip, prefix_group_id, default_args, ui_color...

    @property
    def prefix_group_id(self) -> bool:
        return bool(self.args.get("prefix_group_id", True))


@dataclass
class Dag:
    """A DAG: its arguments, task groups, tasks, edges, and the module code that goes with it."""

    dag_id: str
    args: dict[str, Any] = field(default_factory=dict)
    tasks: list[Task] = field(default_factory=list)
    groups: list[TaskGroup] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    module_code: str = ""
    tail_code: str = ""  # statements that followed the DAG in an imported file (``dag.test()`` guards)
    unparsed: list[str] = field(default_factory=list)  # importer: code it could not represent, kept verbatim
    source: SourceMap | None = field(default=None, compare=False, repr=False)  # where it was read from

    # --- lookups -------------------------------------------------------------------------------------
    def task(self, task_id: str) -> Task | None:
        return next((t for t in self.tasks if t.task_id == task_id), None)

    def group(self, group_id: str) -> TaskGroup | None:
        return next((g for g in self.groups if g.group_id == group_id), None)

    @property
    def task_ids(self) -> list[str]:
        return [t.task_id for t in self.tasks]

    def upstream_ids(self, task_id: str) -> list[str]:
        return [e.upstream for e in self.edges if e.downstream == task_id]

    def downstream_ids(self, task_id: str) -> list[str]:
        return [e.downstream for e in self.edges if e.upstream == task_id]

    def child_groups(self, parent_id: str | None) -> list[TaskGroup]:
        return [g for g in self.groups if g.parent_id == parent_id]

    def child_tasks(self, group_id: str | None) -> list[Task]:
        return [t for t in self.tasks if t.group_id == group_id]

    def group_chain(self, group_id: str | None) -> list[TaskGroup]:
        """The groups from the outermost down to ``group_id``."""
        chain: list[TaskGroup] = []
        while group_id is not None:
            group = self.group(group_id)
            if group is None:
                break
            chain.append(group)
            group_id = group.parent_id
        return chain[::-1]

    def id_prefix(self, group_id: str | None) -> str:
        """What Airflow prepends to ids created inside ``group_id`` (``"outer.inner."`` or ``""``)."""
        group = self.group(group_id) if group_id else None
        if group is None:
            return ""
        if not group.prefix_group_id:  # Airflow's TaskGroup.child_id: the bare label, no outer prefix
            return ""
        return group.group_id + "."

    def local_id(self, task: Task) -> str:
        """The ``task_id=`` argument as written inside its group's ``with TaskGroup`` block."""
        prefix = self.id_prefix(task.group_id)
        return task.task_id[len(prefix) :] if prefix and task.task_id.startswith(prefix) else task.task_id

    def local_group_id(self, group: TaskGroup) -> str:
        prefix = self.id_prefix(group.parent_id)
        return group.group_id[len(prefix) :] if prefix and group.group_id.startswith(prefix) else group.group_id

    def walk_groups(self) -> Iterator[TaskGroup]:
        """Groups parents-first."""

        def visit(parent: str | None) -> Iterator[TaskGroup]:
            for g in self.child_groups(parent):
                yield g
                yield from visit(g.group_id)

        yield from visit(None)

    # --- structure -----------------------------------------------------------------------------------
    def structure(self) -> dict[str, Any]:
        """``{"dag_id", "tasks", "edges"}`` as ``dagstudio inspect --json`` prints it (sorted edges)."""
        return {
            "dag_id": self.dag_id,
            "tasks": list(self.task_ids),
            "edges": sorted([e.upstream, e.downstream] for e in self.edges),
        }


@dataclass
class Project:
    """A DAG Studio project: a folder with ``dagstudio.toml`` and one JSON (+ module .py) per DAG."""

    name: str
    dags: list[Dag] = field(default_factory=list)
    target: str = "airflow3"  # default export target
    settings: dict[str, Any] = field(default_factory=dict)  # other dagstudio.toml tables, kept as read

    def dag(self, dag_id: str) -> Dag | None:
        return next((d for d in self.dags if d.dag_id == dag_id), None)


def iter_leaves(value: Any) -> Iterator[Any]:
    """Every non-container value inside a (nested) model value; a Param's default and schema included."""
    from studio.core.values import ParamValue

    if isinstance(value, dict):
        for v in value.values():
            yield from iter_leaves(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from iter_leaves(v)
    elif isinstance(value, ParamValue):
        yield from iter_leaves(value.default)
        yield from iter_leaves(value.schema)
    else:
        yield value


def dag_leaves(dag: Dag) -> Iterator[Any]:
    """Every leaf value of a DAG's, its groups' and its tasks' arguments."""
    yield from iter_leaves(dag.args)
    for group in dag.groups:
        yield from iter_leaves(group.args)
    for task in dag.tasks:
        yield from iter_leaves([task.args, task.expand, task.expand_kwargs])


def iter_xcom_refs(value: Any) -> Iterator[Any]:
    """Every ``XComRef`` inside a (nested) model value."""
    from studio.core.values import XComRef

    if isinstance(value, XComRef):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from iter_xcom_refs(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from iter_xcom_refs(v)


def referenced_tasks(task: Task, templated_only: bool = False) -> list[str]:
    """Ids of the tasks whose XCom ``task`` uses, in order of first appearance, without duplicates.

    With ``templated_only``, only the references Airflow turns into dependencies by itself: those in
    templated arguments (for TaskFlow: the call's ``op_args``/``op_kwargs``), in ``.expand()`` /
    ``.expand_kwargs()``, and in any argument of a custom operator (whose template fields DAG Studio
    cannot know).
    """
    spec = task.spec
    if not templated_only or spec is None or spec.kind == "custom":
        names = list(task.args)
    else:
        names = [n for n in spec.templated_fields if n in task.args]
    values = [task.args[n] for n in names]
    if task.expand:
        values.extend(task.expand.values())
    if task.expand_kwargs is not None:
        values.append(task.expand_kwargs)
    return list(dict.fromkeys(ref.task_id for value in values for ref in iter_xcom_refs(value)))


def xcom_upstreams(task: Task) -> list[str]:
    """Task ids Airflow makes upstream of ``task`` by itself, because their XCom is passed to it."""
    return referenced_tasks(task, templated_only=True)
