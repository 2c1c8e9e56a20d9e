"""Dependencies with Airflow's exact semantics: ``>>``/``<<``, ``set_upstream``, ``chain``, labels.

This mirrors Airflow 3's ``DependencyMixin``/``DAGNode._set_relatives``, ``TaskGroup._set_relatives``
(a group upstream of something means its *leaves*, downstream its *roots*, computed at the moment the
dependency is set), ``EdgeModifier`` (a ``Label`` waits for both sides, then connects them, switching to
the tasks' groups when the two sides are in different groups) and ``chain``/``chain_linear``/
``cross_downstream``. Edges are reported to a ``Sink`` (the interpreter), which records them with lines.
"""

from __future__ import annotations

import itertools
from typing import Any, Protocol

from studio.codegen.importer.objects import (
    DagNode,
    GroupNode,
    LabelNode,
    TaskNode,
    XComArgNode,
    dependency_like,
)


class DependencyError(Exception):
    """A dependency Airflow would reject (or that the importer cannot follow)."""


class Sink(Protocol):
    def add_edge(self, up: TaskNode, down: TaskNode, label: LabelNode | None) -> None: ...

    def attach_task(self, task: TaskNode, dag: DagNode) -> None: ...

    def label_on_groups(self, label: LabelNode) -> None: ...


def _as_list(other: Any) -> list[Any]:
    return list(other) if isinstance(other, (list, tuple)) else [other]


def group_roots(group: GroupNode) -> list[TaskNode]:
    tasks = group.iter_tasks()
    ids = {t.task_id for t in tasks}
    return [t for t in tasks if ids.isdisjoint(t.upstream)]


def group_leaves(group: GroupNode) -> list[TaskNode]:
    tasks = group.iter_tasks()
    ids = {t.task_id for t in tasks}
    return [t for t in tasks if ids.isdisjoint(t.downstream)]


def roots(obj: Any) -> list[Any]:
    if isinstance(obj, TaskNode):
        return [obj]
    if isinstance(obj, XComArgNode):
        return [obj.task]
    if isinstance(obj, GroupNode):
        return group_roots(obj)
    if isinstance(obj, LabelNode):
        return list(obj.downstream)
    raise DependencyError(f"dependencies can only be set between tasks, groups and labels, not {_kind(obj)}")


def leaves(obj: Any) -> list[Any]:
    if isinstance(obj, TaskNode):
        return [obj]
    if isinstance(obj, XComArgNode):
        return [obj.task]
    if isinstance(obj, GroupNode):
        return group_leaves(obj)
    if isinstance(obj, LabelNode):
        return list(obj.upstream)
    raise DependencyError(f"dependencies can only be set between tasks, groups and labels, not {_kind(obj)}")


def _kind(obj: Any) -> str:
    return "a list" if isinstance(obj, (list, tuple)) else type(obj).__name__


def set_relatives(sink: Sink, node: Any, other: Any, upstream: bool, label: LabelNode | None = None) -> None:
    """``node.set_upstream(other)`` (upstream=True) or ``node.set_downstream(other)``."""
    if isinstance(node, XComArgNode):
        node = node.task
    if isinstance(node, TaskNode):
        _task_set_relatives(sink, node, other, upstream, label)
    elif isinstance(node, GroupNode):
        _group_set_relatives(sink, node, other, upstream, label)
    elif isinstance(node, LabelNode):
        _label_set(sink, node, other, upstream)
    else:
        raise DependencyError(f"dependencies can only be set between tasks, groups and labels, not {_kind(node)}")


def _update_relative(sink: Sink, obj: Any, other: TaskNode, upstream: bool, label: LabelNode | None) -> None:
    if isinstance(obj, GroupNode):
        _group_update_relative(obj, other, upstream)
    elif isinstance(obj, LabelNode):
        _label_set(sink, obj, other, upstream)


def _task_set_relatives(sink: Sink, task: TaskNode, other: Any, upstream: bool, label: LabelNode | None) -> None:
    related: list[TaskNode] = []
    for obj in _as_list(other):
        _update_relative(sink, obj, task, not upstream, label)
        for rel in leaves(obj) if upstream else roots(obj):
            if not isinstance(rel, TaskNode):
                raise DependencyError(f"dependencies can only be set between operators, not {_kind(rel)}")
            related.append(rel)
    dags = {id(t.dag): t.dag for t in [task, *related] if t.dag is not None}
    if len(dags) > 1:
        names = ", ".join(sorted(d.dag_id for d in dags.values() if d is not None))
        raise DependencyError(f"a dependency between tasks of different DAGs ({names})")
    if not dags:
        if not related:
            return
        raise DependencyError(f"a dependency between tasks that have no DAG yet ({task.task_id})")
    dag = next(iter(dags.values()))
    assert dag is not None
    if task.dag is None:
        sink.attach_task(task, dag)
    for rel in related:
        if rel.dag is None:
            sink.attach_task(rel, dag)
        if upstream:
            sink.add_edge(rel, task, label)
        else:
            sink.add_edge(task, rel, label)


def find_leaves(group: GroupNode) -> list[TaskNode]:
    """Airflow's fallback chain for a group's leaves: own leaves, tasks upstream of it, the parent's."""
    current: GroupNode | None = group
    while current is not None:
        found = group_leaves(current)
        if found:
            return found
        if current.upstream_task_ids:
            tasks = current.dag.tasks
            return [tasks[i] for i in current.upstream_task_ids if i in tasks]
        current = current.parent
    return []


def _group_update_relative(group: GroupNode, other: Any, upstream: bool) -> None:
    if isinstance(other, GroupNode):
        return  # group-to-group bookkeeping only draws the graph view; no task edges
    for task in roots(other):
        if isinstance(task, TaskNode) and upstream:
            group.upstream_task_ids[task.task_id] = None


def _group_set_relatives(sink: Sink, group: GroupNode, other: Any, upstream: bool, label: LabelNode | None) -> None:
    items = _as_list(other)
    group_leaves_now = find_leaves(group)
    for obj in items:
        _group_update_relative(group, obj, upstream)
    if upstream:
        for task in group_roots(group):
            _task_set_relatives(sink, task, items, True, None)
    else:
        for task in group_leaves_now:
            _task_set_relatives(sink, task, items, False, None)


# --- labels ---------------------------------------------------------------------------------------
def _label_set(sink: Sink, label: LabelNode, other: Any, upstream: bool) -> None:
    """``Label.set_upstream(other)`` / ``Label.set_downstream(other)``."""
    stream = label.upstream if upstream else label.downstream
    for node in _as_list(other):
        if not isinstance(node, (TaskNode, XComArgNode, GroupNode)):
            raise DependencyError(f"cannot use edge labels with {_kind(node)}, only tasks, XComArgs or TaskGroups")
        stream.append(node)
    if label.upstream and label.downstream:
        _convert_streams(label)
    for node in list(label.downstream if upstream else label.upstream):
        if isinstance(node, GroupNode):
            sink.label_on_groups(label)  # a group's edges are set without the label (Airflow's behaviour)
        set_relatives(sink, node, other, upstream, label)


def _group_key(node: Any) -> str | None:
    task = node.task if isinstance(node, XComArgNode) else node
    if isinstance(task, TaskNode) and task.group is not None:
        return "root" if task.group.is_root else task.group.group_id
    if isinstance(node, GroupNode):
        return node.group_id
    return None


def _convert_streams(label: LabelNode) -> None:
    """Airflow's switch to the tasks' groups when a label joins tasks of different groups."""
    keys = {k for k in (_group_key(n) for n in [*label.upstream, *label.downstream]) if k is not None}
    if len(keys) != 1:
        label.upstream = [_to_group(n) for n in label.upstream]
        label.downstream = [_to_group(n) for n in label.downstream]


def _to_group(node: Any) -> Any:
    if isinstance(node, TaskNode) and node.group is not None and not node.group.is_root:
        return node.group
    return node


# --- operators and helper functions ---------------------------------------------------------------
def rshift(sink: Sink, left: Any, right: Any) -> Any:
    """``left >> right``; returns what Python's expression returns."""
    if dependency_like(left):
        set_relatives(sink, left, right, upstream=False)
        return right
    if isinstance(left, (list, tuple)) and dependency_like(right):
        set_relatives(sink, right, left, upstream=True)
        return right
    raise DependencyError(f"unsupported operand types for >>: {_kind(left)} and {_kind(right)}")


def lshift(sink: Sink, left: Any, right: Any) -> Any:
    """``left << right``."""
    if dependency_like(left):
        set_relatives(sink, left, right, upstream=True)
        return right
    if isinstance(left, (list, tuple)) and dependency_like(right):
        set_relatives(sink, right, left, upstream=False)
        return right
    raise DependencyError(f"unsupported operand types for <<: {_kind(left)} and {_kind(right)}")


def chain(sink: Sink, *tasks: Any) -> None:
    for up, down in itertools.pairwise(tasks):
        if dependency_like(up):
            set_relatives(sink, up, down, upstream=False)
            continue
        if dependency_like(down):
            set_relatives(sink, down, up, upstream=True)
            continue
        if not isinstance(up, (list, tuple)) or not isinstance(down, (list, tuple)):
            raise DependencyError(f"chain not supported between {_kind(up)} and {_kind(down)}")
        if len(up) != len(down):
            raise DependencyError(f"chain not supported for lists of different lengths ({len(up)} and {len(down)})")
        for up_t, down_t in zip(up, down):
            set_relatives(sink, up_t, down_t, upstream=False)


def chain_linear(sink: Sink, *elements: Any) -> None:
    if not elements:
        raise DependencyError("chain_linear() needs tasks")
    previous: list[Any] | None = None
    deps_set = False
    for current in elements:
        if isinstance(current, LabelNode):
            raise DependencyError("labels are not supported by chain_linear")
        if previous is not None:
            for task in previous:
                rshift(sink, task, current)
                deps_set = True
        previous = [current] if dependency_like(current) else list(current)
    if not deps_set:
        raise DependencyError("chain_linear() set no dependencies (did you forget to unpack a list with *?)")


def cross_downstream(sink: Sink, from_tasks: Any, to_tasks: Any) -> None:
    for task in _as_list(from_tasks):
        set_relatives(sink, task, to_tasks, upstream=False)
