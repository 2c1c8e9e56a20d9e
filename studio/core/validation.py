"""Validation of DAGs and projects: ``validate_dag`` and ``validate_project`` return ``Diagnostic`` lists.

Every message names the file and line (and, for project files, the JSON path) through ``Dag.source``.
Severity "error" is for what makes Apache Airflow refuse the DAG file or makes the export impossible;
"warning" for what loads but is probably not what the author meant. The checks were compared with
Airflow 3.3.2's ``DagBag`` (see tests/test_validation*.py). This module checks the structure (ids,
groups, edges, XCom references, cycles); ``validation_args`` the arguments and module code,
``validation_schedule`` the schedule, dates and time zones.
"""

from __future__ import annotations

import graphlib
from collections import Counter

from studio.core.diagnostics import Diagnostic
from studio.core.model import Dag, Project, referenced_tasks, xcom_upstreams
from studio.core.validation_args import check_dag_args, check_module_code, check_tasks
from studio.core.validation_context import ModuleInfo, Reporter, dag_values, key_problem
from studio.core.validation_schedule import check_schedule, check_timezones

__all__ = ["validate_dag", "validate_project"]


def validate_dag(dag: Dag, target: str = "airflow3") -> list[Diagnostic]:
    """All problems of one DAG, errors and warnings, ordered by file and line."""
    r = Reporter(dag)
    problem = key_problem(dag.dag_id, "dag_id")
    if problem:
        r.error("dag", problem)
    acyclic_groups = _check_groups(r)
    _check_task_ids(r, acyclic_groups)
    graph = _check_edges(r)
    _check_cycles(r, graph)
    values = list(dag_values(dag))
    module = ModuleInfo.parse(dag.module_code)
    check_dag_args(r, target)
    check_schedule(r)
    check_timezones(r, values)
    check_tasks(r, module, target)
    check_module_code(r, module, values)
    return _ordered(r.diagnostics)


def validate_project(project: Project) -> list[Diagnostic]:
    """Every DAG's problems, plus dag ids defined twice."""
    out: list[Diagnostic] = []
    first_file: dict[str, str | None] = {}
    for dag in project.dags:
        out.extend(validate_dag(dag, project.target))
        file = dag.source.file if dag.source else None
        if dag.dag_id in first_file:
            r = Reporter(dag)
            other = first_file[dag.dag_id]
            r.error(
                "dag",
                f"dag_id {dag.dag_id!r} is also defined in {other or 'another DAG of this project'}; "
                "Airflow keeps only one of them (AirflowDagDuplicatedIdException)",
            )
            out.extend(r.diagnostics)
        else:
            first_file[dag.dag_id] = file
    return out


def _ordered(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[Diagnostic] = set()
    unique = [d for d in diagnostics if not (d in seen or seen.add(d))]  # type: ignore[func-returns-value]
    return sorted(unique, key=lambda d: (d.file or "", d.line or 0))


# --- groups ---------------------------------------------------------------------------------------
def child_prefix(dag: Dag, group_id: str | None) -> str:
    """What Airflow puts before the id of a task or group created in ``group_id``.

    ``TaskGroup.child_id``: the group's full id and a dot when it prefixes ids, else nothing — a group
    with ``prefix_group_id=False`` does not pass its parent's prefix on.
    """
    group = dag.group(group_id) if group_id is not None else None
    return f"{group.group_id}." if group is not None and group.prefix_group_id else ""


def _check_groups(r: Reporter) -> set[str]:
    """Group checks; returns the ids of groups whose parent chain is sound (safe for the model helpers)."""
    dag = r.dag
    counts = Counter(g.group_id for g in dag.groups)
    by_id = {g.group_id: g for g in dag.groups}
    for group_id, n in counts.items():
        if n > 1:
            r.error(f"group:{group_id}", f"group id {group_id!r} is used by {n} TaskGroups (DuplicateTaskIdFound)")
    sound: set[str] = set()
    reported_cycles: set[frozenset[str]] = set()
    for group in dag.groups:
        chain, current, broken = [group.group_id], group, False
        while current.parent_id is not None:
            parent = by_id.get(current.parent_id)
            if parent is None:
                r.error(
                    f"group:{current.group_id}",
                    f"group {current.group_id!r} has parent {current.parent_id!r}, which is not a group of this DAG",
                    leaf="parent",
                )
                broken = True
                break
            if parent.group_id in chain:
                loop = [*chain[chain.index(parent.group_id) :], parent.group_id]
                if frozenset(loop) not in reported_cycles:
                    reported_cycles.add(frozenset(loop))
                    r.error(
                        f"group:{parent.group_id}", "groups are nested in a cycle: " + " -> ".join(loop), leaf="parent"
                    )
                broken = True
                break
            chain.append(parent.group_id)
            current = parent
        if not broken:
            sound.add(group.group_id)
    for group in dag.groups:
        if group.group_id not in sound:
            continue
        key = f"group:{group.group_id}"
        prefix = child_prefix(dag, group.parent_id)
        local = group.group_id[len(prefix) :] if prefix and group.group_id.startswith(prefix) else group.group_id
        if prefix and not group.group_id.startswith(prefix):
            r.error(
                key,
                f"group {group.group_id!r} is inside group {group.parent_id!r}, which prefixes ids: "
                f"its id must start with {prefix!r}",
            )
        problem = key_problem(local, "group_id", group=True)
        if problem:
            r.error(key, problem)
    return sound


# --- tasks ----------------------------------------------------------------------------------------
def _check_task_ids(r: Reporter, sound_groups: set[str]) -> None:
    dag = r.dag
    counts = Counter(dag.task_ids)
    group_ids = {g.group_id for g in dag.groups}
    for task in dag.tasks:
        key = f"task:{task.task_id}"
        problem = key_problem(task.task_id, "task_id")
        if problem:
            r.error(key, problem, task_id=task.task_id)
        if counts[task.task_id] > 1:
            r.error(
                key,
                f"task id {task.task_id!r} is used by {counts[task.task_id]} tasks (DuplicateTaskIdFound)",
                task_id=task.task_id,
            )
            counts[task.task_id] = 0  # report once
        if task.task_id in group_ids:
            r.error(
                key,
                f"task id {task.task_id!r} is also the id of a TaskGroup (DuplicateTaskIdFound)",
                task_id=task.task_id,
            )
        if task.group_id is None:
            continue
        if task.group_id not in group_ids:
            r.error(
                key,
                f"task {task.task_id!r} is in group {task.group_id!r}, which is not a group of this DAG",
                leaf="group",
                task_id=task.task_id,
            )
        elif task.group_id in sound_groups:
            prefix = child_prefix(dag, task.group_id)
            if prefix and not task.task_id.startswith(prefix):
                r.error(
                    key,
                    f"task {task.task_id!r} is in group {task.group_id!r}, which prefixes ids: its id "
                    f"must start with {prefix!r} (Airflow reports {prefix + task.task_id!r})",
                    task_id=task.task_id,
                )
            elif prefix and task.task_id == prefix:
                r.error(key, f"task id {task.task_id!r} has nothing after the group prefix", task_id=task.task_id)


# --- edges, XCom references, cycles ---------------------------------------------------------------
def _check_edges(r: Reporter) -> dict[tuple[str, str], str]:
    """Edge and XCom reference checks; returns the dependencies Airflow would build (edge -> SourceMap key)."""
    dag = r.dag
    ids = set(dag.task_ids)
    graph: dict[tuple[str, str], str] = {}
    seen: set[tuple[str, str]] = set()
    for edge in dag.edges:
        key = f"edge:{edge.upstream}>{edge.downstream}"
        missing = [t for t in (edge.upstream, edge.downstream) if t not in ids]
        if missing:
            names = " and ".join(repr(t) for t in dict.fromkeys(missing))
            r.error(
                key,
                f"edge {edge.upstream} -> {edge.downstream} refers to {names}, "
                f"which {'is not a task' if len(set(missing)) == 1 else 'are not tasks'} of this DAG",
            )
            continue
        if edge.key in seen:
            r.warning(key, f"edge {edge.upstream} -> {edge.downstream} is listed twice")
        seen.add(edge.key)
        graph.setdefault(edge.key, key)
    for task in dag.tasks:
        for ref in referenced_tasks(task):
            if ref not in ids:
                r.error(
                    f"task:{task.task_id}",
                    f"task {task.task_id!r} uses the XCom of {ref!r}, which is not a task of this DAG",
                    task_id=task.task_id,
                    leaf="args",
                )
        if task.spec is None or task.spec.kind == "custom":
            continue  # which arguments Airflow templates (and so links) is unknown for custom operators
        for up in xcom_upstreams(task):
            if up in ids and (up, task.task_id) not in seen:
                r.warning(
                    f"task:{task.task_id}",
                    f"task {task.task_id!r} uses the XCom of {up!r}, so Airflow makes "
                    f"{up!r} upstream of it, but the edge {up} -> {task.task_id} is missing",
                    task_id=task.task_id,
                )
                graph.setdefault((up, task.task_id), f"task:{task.task_id}")
    return graph


def _check_cycles(r: Reporter, edges: dict[tuple[str, str], str]) -> None:
    """One error per strongly connected group of tasks, naming one cycle in it ("a -> b -> c -> a")."""
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for up, down in edges:
        sorter.add(down, up)
    try:
        sorter.prepare()  # the common case, acyclic, without importing networkx
        return
    except graphlib.CycleError:
        pass
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_edges_from(edges)
    order = {task_id: i for i, task_id in enumerate(r.dag.task_ids)}
    components = [
        c for c in nx.strongly_connected_components(graph) if len(c) > 1 or any(graph.has_edge(t, t) for t in c)
    ]
    for component in sorted(components, key=lambda c: min(order.get(t, 0) for t in c)):
        start = min(component, key=lambda t: order.get(t, 0))
        sub = graph.subgraph(component)
        if sub.has_edge(start, start):
            path = [start, start]
        else:  # the shortest loop through the component's first task
            paths = nx.single_source_shortest_path(sub, start)
            path = [*min((paths[p] for p in sub.predecessors(start)), key=len), start]
        shown = path if len(path) <= 16 else [*path[:8], f"... ({len(path) - 13} more) ...", *path[-5:]]
        r.error(
            edges[(path[-2], path[-1])],  # the edge back to the first task: where the loop closes
            "cycle: " + " -> ".join(shown) + " (Airflow: AirflowDagCycleException)",
        )
