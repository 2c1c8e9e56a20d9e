"""The scheduler's task dependencies besides the trigger rule, and mapped task lengths (pure).

Airflow evaluates several deps for a TI with no state: ``TriggerRuleDep`` (``trigger_rules.py``),
``MappedTaskUpstreamDep`` (a mapped task whose input comes from a failed or skipped upstream) and
``NotPreviouslySkippedDep`` (a branch or short circuit upstream said to skip this task — it is what
skips the map indexes of a task mapped over literals, which exist from the run's start and which the
direct skip, aimed at map index -1, misses). ``decide`` combines them. Airflow keeps its deps in a set
whose iteration order varies between processes, so where two deps set different states the outcome is
nondeterministic in Airflow; ``decide`` applies the trigger rule first and lets the other deps decide
last (e.g. ``all_skipped`` over a failed mapped input → upstream_failed, not skipped).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from typing import Any

from studio.core import states as S
from studio.runtime import trigger_rules as tr
from studio.runtime.dagrun_graph import TaskGraph

StatesOf = Callable[[str], list[str | None]]


def decide(
    graph: TaskGraph,
    task_id: str,
    states_of: StatesOf,
    skip_marks: Mapping[str, Collection[str]] | None = None,
    unexpanded_of: StatesOf | None = None,
) -> str:
    """What happens to ``task_id``'s TIs that have no state: ``run``, ``wait`` or a state.

    ``states_of(task_id)`` gives the states of a task's TIs (every map index of an expanded task, the
    one unexpanded TI otherwise); ``skip_marks[parent]`` the tasks a finished branch or short circuit
    said to skip; ``unexpanded_of(task_id)`` the states of its unexpanded TI (map index -1) only
    (default: ``states_of``)."""

    def count(task_ids: frozenset[str]) -> tr.UpstreamStates:
        return tr.UpstreamStates.count((state, graph.is_setup(tid)) for tid in task_ids for state in states_of(tid))

    task = graph.tasks[task_id]
    decision = tr.evaluate(
        task.get("trigger_rule") or "all_success",
        count(graph.upstream[task_id]),
        is_teardown=graph.is_teardown(task_id),
        indirect_setups=count(graph.indirect_setups(task_id)),
        teardown_scope=count(graph.teardown_scope(task_id)),
    )
    decision = mapped_dependency(task, decision, unexpanded_of or states_of)
    if skip_marks and any(task_id in skip_marks.get(up, ()) for up in graph.upstream[task_id]):
        return S.SKIPPED
    return decision


def mapped_dependency(task: dict[str, Any], decision: str, states_of: StatesOf) -> str:
    """``MappedTaskUpstreamDep``: the input of a mapped task (or of the closest mapped task group of a
    task) comes from an upstream whose unexpanded TI failed (or was upstream_failed) → upstream_failed;
    was skipped → skipped; else the decision stands. ``states_of`` gives unexpanded TIs' states."""
    if task.get("is_mapped"):
        sources = [x for x in task.get("map_sources") or () if isinstance(x, str)]
    elif task.get("map_groups"):
        sources = [x for x in task["map_groups"][0]["map_sources"] if isinstance(x, str)]
    else:
        return decision
    finished = {state for source in sources for state in states_of(source) if state in S.FINISHED}
    if finished & S.FAILED_STATES:
        return S.UPSTREAM_FAILED
    if S.SKIPPED in finished:
        return S.SKIPPED
    return decision


def needs_expansion(task: dict[str, Any]) -> bool:
    """A mapped task, or a task inside a mapped task group: its TIs are ``task_id[i]``."""
    return bool(task.get("is_mapped") or task.get("map_groups"))


def all_map_sources(task: dict[str, Any]) -> list[int | str]:
    """The map sources of the task itself and of every mapped task group it is in (their product is
    its number of TIs, like Airflow's ``get_mapped_ti_count``)."""
    sources: list[int | str] = list(task.get("map_sources") or ()) if task.get("is_mapped") else []
    for group in task.get("map_groups") or ():
        sources += group["map_sources"]
    return sources


def _product(sources: list[int | str], lengths: Mapping[str, int]) -> int | None:
    out = 1
    for source in sources:
        if isinstance(source, int):
            out *= source
        elif source in lengths:
            out *= lengths[source]
        else:
            return None
    return out


def relevant_states(
    graph: TaskGraph,
    task_id: str,
    map_index: int,
    states_at: Callable[[str, range | None], list[str | None]],
    lengths: Mapping[str, int],
) -> StatesOf:
    """``states_of`` for the TI ``map_index`` of a task in a mapped task group: each upstream's
    unexpanded TI and the TIs of its relevant map indexes. ``states_at(task_id, indexes)`` gives the
    states of a task's unexpanded TI and of its TIs at ``indexes`` (every TI for None)."""

    def states_of(upstream_id: str) -> list[str | None]:
        return states_at(upstream_id, relevant_map_indexes(graph, task_id, map_index, upstream_id, lengths))

    return states_of


FAST_RULES = frozenset({"one_success", "one_failed", "one_done", "none_failed_min_one_success"})


def relevant_map_indexes(
    graph: TaskGraph, task_id: str, map_index: int, upstream_id: str, lengths: Mapping[str, int]
) -> range | None:
    """Airflow's ``_get_relevant_upstream_map_indexes`` for a task in a mapped task group: the map
    indexes of ``upstream_id`` that the TI ``map_index`` of ``task_id`` reads (its unexpanded TI always
    counts too), or None for all of them. A TI of a task in the same mapped task group reads the same
    map index; an unexpanded TI whose map length is known reads only unexpanded TIs of such upstreams."""
    task = graph.tasks[task_id]
    groups = [g["group_id"] for g in task.get("map_groups") or ()]
    if not groups:
        return None
    up_groups = graph.tasks[upstream_id].get("map_groups") or []
    if map_index < 0 and task.get("trigger_rule") in FAST_RULES and upstream_id not in all_map_sources(task):
        return None
    ti_count = map_length(task, [], lengths)
    if not ti_count:
        return None
    common = next((i for i, g in enumerate(up_groups) if g["group_id"] in groups), None)
    if common is None:
        return None
    if map_index < 0:
        return range(0)
    ancestor = _product(up_groups[common]["map_sources"], lengths)
    if not ancestor:
        return None
    ancestor_index = map_index * ancestor // ti_count
    further = graph.tasks[upstream_id].get("is_mapped") or common > 0
    if not further:
        return range(ancestor_index, ancestor_index + 1)
    count = ti_count // ancestor
    return range(ancestor_index * count, ancestor_index * count + count)


def literal_map_length(task: dict[str, Any]) -> int | None:
    """The map length of a task mapped over literals only (expanded when the run is created)."""
    sources = all_map_sources(task)
    if not needs_expansion(task) or not sources or not all(isinstance(x, int) for x in sources):
        return None
    return math.prod(sources)  # type: ignore[arg-type]


def map_length(task: dict[str, Any], upstream_in_order: list[str], lengths: Mapping[str, int]) -> int | None:
    """The product of the literal lengths and the upstream lengths named in the task's and its mapped
    task groups' ``map_sources`` (default: every direct upstream that reported one); None if one is
    missing. ``lengths``: an unmapped upstream's ``map_length`` result; a mapped upstream whose TIs
    all finished: how many of them pushed a return value."""
    sources = all_map_sources(task)
    if task.get("is_mapped") and task.get("map_sources") is None:
        sources = [u for u in upstream_in_order if u in lengths]
        if not sources:
            return None
    return _product(sources, lengths)


PAST_OK = frozenset({S.SUCCESS, S.SKIPPED})


def past_blocker(
    task: dict[str, Any],
    downstream: Collection[str],
    previous: Mapping[str, list[str | None]] | None,
    has_prior: bool,
) -> str | None:
    """Airflow 3.3's ``PrevDagrunDep``: why the task may not run yet because of the previous run,
    or None when it may.

    ``previous`` maps each task id of the DAG's previous run (by logical date; None: no previous run)
    to its TIs' states; ``has_prior``: the task has a TI in any earlier run
    (``ignore_first_depends_on_past``). ``wait_for_downstream`` implies ``depends_on_past``."""
    wait_downstream = bool(task.get("wait_for_downstream"))
    if not (task.get("depends_on_past") or wait_downstream) or previous is None:
        return None
    states = previous.get(task["task_id"])
    if not states:
        if task.get("ignore_first_depends_on_past") and not has_prior:
            return None
        return "depends_on_past: the previous task instance has not run yet"
    bad = sum(state not in PAST_OK for state in states)
    if bad:
        return f"depends_on_past: {bad} previous task instance(s) are not in a successful state"
    if wait_downstream and any(s not in PAST_OK for d in downstream for s in previous.get(d, ())):
        return "wait_for_downstream: the tasks downstream of the previous task instance(s) have not completed"
    return None
