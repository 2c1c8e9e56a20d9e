"""The order in which the generator writes tasks: model order, bent only where Python needs it.

A task that passes another task's XCom (``transform(extract_task)``, ``bash_command=extract.output``)
must come after it in the file. Within each TaskGroup level the tasks and sub-groups keep the model's
order unless such a reference forces another; a group is written as one ``with TaskGroup`` block
whenever the references allow it. When they do not (a task outside a group sits between two of the
group's tasks), that level is written task by task and the walk re-enters the group (``with group:``).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from studio.core.model import Dag, Task, TaskGroup

__all__ = ["emission_order", "topological"]


def topological(nodes: list[str], upstream: dict[str, Iterable[str]]) -> tuple[list[str], list[str]]:
    """(nodes sorted so each comes after its upstreams, ties in ``nodes`` order; the ones in cycles)."""
    rank = {n: i for i, n in enumerate(nodes)}
    indegree = {n: 0 for n in nodes}
    downstream: dict[str, list[str]] = {n: [] for n in nodes}
    for node in nodes:
        for up in dict.fromkeys(upstream.get(node, ())):
            if up in rank and up != node:
                indegree[node] += 1
                downstream[up].append(node)
            elif up == node:
                indegree[node] += 1  # a self-reference is a cycle of one
    ready = [rank[n] for n in nodes if indegree[n] == 0]
    heapq.heapify(ready)
    out: list[str] = []
    while ready:
        node = nodes[heapq.heappop(ready)]
        out.append(node)
        for down in downstream[node]:
            indegree[down] -= 1
            if indegree[down] == 0:
                heapq.heappush(ready, rank[down])
    placed = set(out)
    return out, [n for n in nodes if n not in placed]


Entry = Task | TaskGroup


def emission_order(dag: Dag, refs: dict[str, list[str]]) -> tuple[list[Entry], list[str]]:
    """(tasks, and groups without any task, in the order to write them; task ids in reference cycles).

    ``refs`` maps a task id to the ids whose XCom it uses.
    """
    position = {t.task_id: i for i, t in enumerate(dag.tasks)}
    tasks_in: dict[str | None, list[Task]] = {}
    for task in dag.tasks:
        tasks_in.setdefault(task.group_id if dag.group(task.group_id or "") else None, []).append(task)
    groups_in: dict[str | None, list[TaskGroup]] = {}
    known = {g.group_id for g in dag.groups}
    for group in dag.groups:
        groups_in.setdefault(group.parent_id if group.parent_id in known else None, []).append(group)

    def descendants(group: TaskGroup, seen: frozenset[str] = frozenset()) -> list[Task]:
        if group.group_id in seen:  # a group that is its own ancestor: stop
            return []
        inner = list(tasks_in.get(group.group_id, []))
        for sub in groups_in.get(group.group_id, []):
            inner.extend(descendants(sub, seen | {group.group_id}))
        return inner

    cycles: list[str] = []

    def level(parent: str | None, seen: frozenset[str]) -> list[Entry]:
        items: list[tuple[str, list[Task], Entry]] = [(f"t:{t.task_id}", [t], t) for t in tasks_in.get(parent, [])]
        items += [(f"g:{g.group_id}", descendants(g), g) for g in groups_in.get(parent, []) if g.group_id not in seen]
        n_tasks = len(dag.tasks)
        items.sort(key=lambda it: min((position[t.task_id] for t in it[1]), default=n_tasks))
        owner = {t.task_id: key for key, members, _ in items for t in members}
        keys = [key for key, _, _ in items]
        upstream = {
            key: [owner[r] for t in members for r in refs.get(t.task_id, []) if owner.get(r, key) != key]
            for key, members, _ in items
        }
        ordered, cyclic = topological(keys, upstream)
        by_key = {key: entry for key, _, entry in items}
        if not cyclic:
            out: list[Entry] = []
            for key in ordered:
                entry = by_key[key]
                if isinstance(entry, Task):
                    out.append(entry)
                else:
                    out.extend(level(entry.group_id, seen | {entry.group_id}) or [entry])
            return out
        # The groups cannot be written as single blocks: order this level's tasks one by one.
        members = [t for _, m, _ in items for t in m]
        members.sort(key=lambda t: position[t.task_id])
        ids = [t.task_id for t in members]
        flat, stuck = topological(ids, {i: refs.get(i, []) for i in ids})
        cycles.extend(stuck)
        by_id = {t.task_id: t for t in members}
        groups = [e for _, _, e in items if isinstance(e, TaskGroup)]
        return [by_id[i] for i in flat + stuck] + [g for top in groups for g in empty_leaves(top, seen)]

    def empty_leaves(group: TaskGroup, seen: frozenset[str]) -> list[TaskGroup]:
        """Groups under ``group`` (itself included) with no task and no sub-group: written as ``pass``."""
        if group.group_id in seen:
            return []
        subs = groups_in.get(group.group_id, [])
        if not subs:
            return [] if tasks_in.get(group.group_id) else [group]
        return [g for sub in subs for g in empty_leaves(sub, seen | {group.group_id})]

    return level(None, frozenset()), cycles
