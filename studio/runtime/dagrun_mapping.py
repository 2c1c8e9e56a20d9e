"""The mapping part of the DagRun state machine (a mixin of ``DagRunMachine``): expanding a mapped
task's (or a task in a mapped task group's) unexpanded TI into ``task_id[0..n-1]``, the lengths map
sources give, and the per-map-index trigger rule of tasks in mapped task groups (docs/ENGINE.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from studio.core import states as S
from studio.runtime import trigger_rules as tr
from studio.runtime.dagrun_deps import (
    decide,
    literal_map_length,
    map_length,
    past_blocker,
    relevant_map_indexes,
    relevant_states,
)
from studio.runtime.dagrun_graph import TaskGraph
from studio.runtime.dagrun_state import TaskInstance, ti_key


class MappedExpansion:
    """Needs the machine's TIs (``_tis``, ``_task_tis``), ``graph``, ``_map_lengths`` (lengths that
    unmapped map sources reported), ``_pushes`` (per mapped task, its TIs that pushed a return value)
    and its transitions (``_finish``, ``_schedule``, ``_record``, ``_evaluate``)."""

    graph: TaskGraph
    state: str
    _tis: dict[str, TaskInstance]
    _task_tis: dict[str, list[str]]
    _map_lengths: dict[str, int]
    _pushes: dict[str, int]
    _skip_marks: dict[str, set[str]]
    _unfinished: int
    _clock: Callable[[], datetime]
    _finish: Callable[..., None]
    _schedule: Callable[[TaskInstance], None]
    _record: Callable[..., None]
    _evaluate: Callable[..., None]
    _previous: dict[str, list[str | None]] | None
    _prior_tis: frozenset[str]
    past_blocked: dict[str, str]

    def _initial_tis(self, task_id: str) -> list[TaskInstance]:
        """The TIs a task starts the run with: like Airflow's run creation, a task mapped over
        literals only (its groups' included) is expanded at once; otherwise one unexpanded TI."""
        task = self.graph.tasks[task_id]
        max_tries = int(task.get("retries") or 0)
        count = literal_map_length(task)
        indexes = range(count) if count else (-1,)
        return [TaskInstance(task_id, map_index=i, max_tries=max_tries) for i in indexes]

    def _count_push(self, ti: TaskInstance, result: dict[str, Any]) -> None:
        """A map index that succeeded pushing a return value counts toward what its task gives to the
        tasks mapped over it (Airflow counts the task's XCom rows)."""
        if ti.map_index >= 0 and any(x.get("key") == "return_value" for x in result.get("xcom") or ()):
            self._pushes[ti.task_id] = self._pushes.get(ti.task_id, 0) + 1

    def _mark_index_skips(self, ti: TaskInstance, skip: list[str]) -> None:
        """What a branch or short circuit at map index ``i`` said to skip: Airflow's children read the
        skipmixin XCom at their own map index when the parent is a mapped task, else at map index -1 —
        so only the TI ``i`` of a mapped task's children can see it. A mapped ``@task.branch`` or
        ``@task.short_circuit`` is not seen at all (``can_skip_downstream`` false)."""
        task = self.graph.tasks[ti.task_id]
        if skip and task.get("is_mapped") and task.get("can_skip_downstream", True):
            marks = self.__dict__.setdefault("_index_marks", {})
            marks.setdefault(ti.task_id, {})[ti.map_index] = set(skip)

    def _skip_index_marked(self, task_id: str) -> None:
        """``NotPreviouslySkippedDep`` for TIs ``i`` whose mapped parent's map index ``i`` skipped them."""
        marks: dict[str, dict[int, set[str]]] = self.__dict__.get("_index_marks") or {}
        parents = [marks[up] for up in self.graph.upstream[task_id] if up in marks]
        if not parents:
            return
        for key in list(self._task_tis[task_id]):
            ti = self._tis.get(key)
            if ti is None or ti.state is not None or ti.map_index < 0 or self.state != S.RUN_RUNNING:
                continue
            if any(task_id in parent.get(ti.map_index, ()) for parent in parents):
                now = self._clock()
                self._finish(ti, S.SKIPPED, start_date=now, end_date=now)

    def _evaluate_each(self, task_id: str, source: TaskInstance | None = None) -> None:
        """A task in a mapped task group: each TI's trigger rule reads only the upstream TIs relevant
        to its map index (``dagrun_deps.relevant_map_indexes``); an unexpanded TI that may run expands.
        When ``source`` (a finished upstream TI) is read by the TI of its own map index only, only that
        TI (and an unexpanded one) is looked at again."""
        if self.state != S.RUN_RUNNING:
            return
        for ti in self._affected(task_id, source):
            if self._tis.get(ti.key) is not ti or ti.state is not None or self.state != S.RUN_RUNNING:
                continue
            states = relevant_states(self.graph, task_id, ti.map_index, self._states_at, self._lengths())
            decision = decide(self.graph, task_id, states, self._skip_marks, self._unexpanded_states)
            if decision == tr.RUN and self._past_blocked(task_id):
                continue
            if decision == tr.RUN:
                self._expand(ti) if ti.map_index < 0 else self._schedule(ti)
            elif decision != tr.WAIT:
                now = self._clock()
                self._finish(ti, decision, start_date=now, end_date=now)

    def _past_blocked(self, task_id: str) -> bool:
        """depends_on_past / wait_for_downstream (``dagrun_deps.past_blocker``) keeps the TI waiting."""
        task = self.graph.tasks[task_id]
        blocker = past_blocker(task, self.graph.downstream[task_id], self._previous, task_id in self._prior_tis)
        if blocker is not None:
            self.past_blocked[task_id] = blocker
        return blocker is not None

    def _affected(self, task_id: str, source: TaskInstance | None) -> list[TaskInstance]:
        """The TIs of ``task_id`` with no state that may read ``source``."""
        if source is not None and source.map_index >= 0 and source.task_id in self.graph.upstream[task_id]:
            index = source.map_index
            relevant = relevant_map_indexes(self.graph, task_id, index, source.task_id, self._lengths())
            if relevant == range(index, index + 1):
                found = (self._tis.get(ti_key(task_id, index)), self._tis.get(task_id))
                return [ti for ti in found if ti is not None and ti.state is None]
        return [self._tis[k] for k in self._task_tis[task_id] if self._tis[k].state is None]

    def _states_at(self, task_id: str, indexes: range | None) -> list[str | None]:
        keys = self._task_tis[task_id]
        if indexes is None or (keys and self._tis[keys[0]].map_index < 0):
            return [self._tis[k].state for k in keys]  # every TI, or the one unexpanded TI
        found = (self._tis.get(ti_key(task_id, i)) for i in indexes)
        return [ti.state for ti in found if ti is not None]

    def _unexpanded_states(self, task_id: str) -> list[str | None]:
        return [self._tis[k].state for k in self._task_tis[task_id] if self._tis[k].map_index < 0]

    def _lengths(self) -> dict[str, int]:
        """What a map source gives: an unmapped task's reported ``map_length``; a mapped task whose TIs
        all finished: how many pushed a return value (Airflow counts their XComs). Cached until a TI
        finishes, a task expands or a length is reported."""
        version = (self._unfinished, len(self._tis), sum(self._pushes.values()), len(self._map_lengths))
        cached = self.__dict__.get("_lengths_cache")
        if cached is not None and cached[0] == version:
            return cached[1]
        lengths = dict(self._map_lengths)
        for tid, task in self.graph.tasks.items():
            if task.get("is_mapped") and all(self._tis[k].state in S.FINISHED for k in self._task_tis[tid]):
                lengths[tid] = self._pushes.get(tid, 0)
        self.__dict__["_lengths_cache"] = (version, lengths)
        return lengths

    def _expand(self, ti: TaskInstance) -> None:
        """Replace a mapped task's unexpanded TI by one TI per map index (none → skipped)."""
        upstream = self.graph.in_order(self.graph.upstream[ti.task_id])
        length = map_length(self.graph.tasks[ti.task_id], upstream, self._lengths())
        if length is None:  # an upstream that feeds the map pushed nothing (Airflow: upstream_failed)
            now = self._clock()
            ti.error = "cannot expand: the length of the mapped input is unknown"
            self._finish(ti, S.UPSTREAM_FAILED, start_date=now, end_date=now, error=ti.error)
            return
        if length == 0:
            now = self._clock()
            self._finish(ti, S.SKIPPED, start_date=now, end_date=now)
            return
        self._record(ti, None, expanded_to=length)
        del self._tis[ti.key]
        keys = []
        for index in range(length):
            mapped = TaskInstance(ti.task_id, map_index=index, max_tries=ti.max_tries)
            self._tis[mapped.key] = mapped
            keys.append(mapped.key)
        self._task_tis[ti.task_id] = keys
        self._unfinished += length - 1
        if self.graph.tasks[ti.task_id].get("map_groups"):  # Airflow checks each new TI's deps again
            self._evaluate(ti.task_id)
            return
        for key in keys:
            self._schedule(self._tis[key])
