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
) -> str:
    """What happens to ``task_id``'s TIs that have no state: ``run``, ``wait`` or a state.

    ``states_of(task_id)`` gives the states of a task's TIs (every map index of an expanded task, the
    one unexpanded TI otherwise); ``skip_marks[parent]`` the tasks a finished branch or short circuit
    said to skip."""

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
    decision = mapped_dependency(task, decision, states_of)
    if skip_marks and any(task_id in skip_marks.get(up, ()) for up in graph.upstream[task_id]):
        return S.SKIPPED
    return decision


def mapped_dependency(task: dict[str, Any], decision: str, states_of: StatesOf) -> str:
    """``MappedTaskUpstreamDep``: the input comes from an upstream that failed (or was
    upstream_failed) → upstream_failed; that was skipped → skipped; else the decision stands."""
    sources = [x for x in task.get("map_sources") or () if isinstance(x, str)]
    if not task.get("is_mapped") or not sources:
        return decision
    finished = {state for source in sources for state in states_of(source) if state in S.FINISHED}
    if finished & S.FAILED_STATES:
        return S.UPSTREAM_FAILED
    if S.SKIPPED in finished:
        return S.SKIPPED
    return decision


def literal_map_length(task: dict[str, Any]) -> int | None:
    """The map length of a task mapped over literals only (expanded when the run is created)."""
    sources = task.get("map_sources")
    if not task.get("is_mapped") or not sources or not all(isinstance(x, int) for x in sources):
        return None
    return math.prod(sources)


def map_length(task: dict[str, Any], upstream_in_order: list[str], lengths: Mapping[str, int]) -> int | None:
    """The product of the literal lengths and the upstream ``map_length`` results named in
    ``map_sources`` (default: every direct upstream that reported one); None if one is missing."""
    sources = task.get("map_sources")
    if sources is None:
        sources = [u for u in upstream_in_order if u in lengths]
        if not sources:
            return None
    out = 1
    for source in sources:
        if isinstance(source, int):
            out *= source
        elif source in lengths:
            out *= lengths[source]
        else:
            return None
    return out


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
