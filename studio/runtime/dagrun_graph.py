"""The task graph of a DAG description (docs/ENGINE.md) and the relations Airflow's scheduler uses.

Relatives (``get_flat_relative_ids``), the relevant setups of a task (``get_upstreams_only_setups``),
the scope of a teardown, what a branch skips (``SkipMixin.skip_all_except``), what a short circuit
skips (``ShortCircuitOperator``) and the effective leaves that decide a run's state
(``DagRun._tis_for_dagrun_state``). Pure: the description dict in, task ids out.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any


class TaskGraph:
    """Read-only view of the ``tasks`` of a DAG description, with cached relatives."""

    def __init__(self, description: dict[str, Any]) -> None:
        self.tasks: dict[str, dict[str, Any]] = {t["task_id"]: t for t in description["tasks"]}
        self.order: list[str] = [t["task_id"] for t in description["tasks"]]
        self.position: dict[str, int] = {tid: i for i, tid in enumerate(self.order)}
        self.upstream: dict[str, frozenset[str]] = {tid: frozenset() for tid in self.order}
        self.downstream: dict[str, frozenset[str]] = {tid: frozenset() for tid in self.order}
        ups: dict[str, set[str]] = {tid: set() for tid in self.order}
        downs: dict[str, set[str]] = {tid: set() for tid in self.order}
        for task in description["tasks"]:
            tid = task["task_id"]
            for up in task.get("upstream", ()):
                ups[tid].add(up)
                downs[up].add(tid)
            for down in task.get("downstream", ()):
                downs[tid].add(down)
                ups[down].add(tid)
        self.upstream = {tid: frozenset(v) for tid, v in ups.items()}
        self.downstream = {tid: frozenset(v) for tid, v in downs.items()}
        self.flat_upstream = cache(lambda task_id: self._reachable(task_id, self.upstream))
        self.flat_downstream = cache(lambda task_id: self._reachable(task_id, self.downstream))
        self.has_setups = any(task.get("is_setup") for task in description["tasks"])

    def is_setup(self, task_id: str) -> bool:
        return bool(self.tasks[task_id].get("is_setup"))

    def is_teardown(self, task_id: str) -> bool:
        return bool(self.tasks[task_id].get("is_teardown"))

    @staticmethod
    def _reachable(task_id: str, edges: dict[str, frozenset[str]]) -> frozenset[str]:
        """Every task reachable from ``task_id`` along ``edges`` (iterative: chains can be long)."""
        seen: set[str] = set()
        stack = list(edges[task_id])
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(edges[current] - seen)
        return frozenset(seen)

    def relevant_setups(self, task_id: str) -> frozenset[str]:
        """Upstream setups whose teardowns are downstream of ``task_id``, or that have no teardown."""
        if not self.has_setups:
            return frozenset()
        downstream_teardowns = {t for t in self.flat_downstream(task_id) if self.is_teardown(t)}
        out = set()
        for up in self.flat_upstream(task_id):
            if not self.is_setup(up):
                continue
            teardowns = {t for t in self.downstream[up] if self.is_teardown(t)}
            if not teardowns or teardowns & downstream_teardowns:
                out.add(up)
        return frozenset(out)

    def indirect_setups(self, task_id: str) -> frozenset[str]:
        """Relevant setups that are not direct upstreams; none for a teardown."""
        if self.is_teardown(task_id):
            return frozenset()
        return self.relevant_setups(task_id) - self.upstream[task_id]

    def teardown_scope(self, task_id: str) -> frozenset[str]:
        """For a teardown: the indirect upstreams that are downstream of one of its direct setups."""
        if not self.is_teardown(task_id) or not self.has_setups:
            return frozenset()
        indirect = self.flat_upstream(task_id) - self.upstream[task_id]
        scope: set[str] = set()
        for setup in self.upstream[task_id]:
            if self.is_setup(setup):
                scope |= indirect & self.flat_downstream(setup)
        return frozenset(scope)

    def branch_skips(self, task_id: str, follow: Iterable[str]) -> list[str]:
        """Direct downstream tasks a branch skips when it follows ``follow`` (``skip_all_except``):
        a direct downstream task that is also downstream of a followed task is kept."""
        keep = set(follow)
        for followed in list(keep):
            if followed in self.tasks:
                keep |= self.flat_downstream(followed)
        return self.in_order(t for t in self.downstream[task_id] if t not in keep)

    def short_circuit_skips(self, task_id: str) -> list[str]:
        """What a falsy ShortCircuitOperator skips: every downstream task, or with
        ``ignore_downstream_trigger_rules=False`` only the direct ones; never a teardown."""
        task = self.tasks[task_id]
        if task.get("ignore_downstream_trigger_rules", True):
            targets: Iterable[str] = self.flat_downstream(task_id)
        else:
            targets = self.downstream[task_id]
        return self.in_order(t for t in targets if not self.is_teardown(t))

    def leaves(self) -> frozenset[str]:
        """The tasks whose final states decide the run's state (teardowns do not count unless
        ``on_failure_fail_dagrun``); the plain leaves if that leaves nothing."""

        def counts(tid: str) -> bool:
            return not self.is_teardown(tid) or bool(self.tasks[tid].get("on_failure_fail_dagrun"))

        leaves = {tid for tid in self.order if counts(tid) and not any(counts(d) for d in self.downstream[tid])}
        if not leaves:
            leaves = {tid for tid in self.order if not self.downstream[tid]}
        return frozenset(leaves)

    def in_order(self, task_ids: Iterable[str]) -> list[str]:
        """``task_ids`` sorted in the description's (topological) order."""
        return sorted(set(task_ids), key=self.position.__getitem__)
