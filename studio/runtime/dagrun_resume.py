"""The DagRun state machine's life cycle outside the normal flow (a mixin of ``DagRunMachine``): resuming a
run after the process driving it died (crash recovery, docs/ENGINE.md "Crash recovery"), and ending a run
early (``fail_fast``, ``dagrun_timeout``, ``cancel``).

``resume(stored, ...)`` rebuilds the machine from the store's task instances of a run instead of
``start()``: finished TIs keep their state; a TI left ``queued``/``running`` by the dead process is an
orphaned try — it becomes a failed try of its try number (``up_for_retry`` due ``retry_delay`` after
now when the task has retries left, else ``failed`` and its downstream tasks are decided as usual);
``up_for_retry`` TIs wait for ``retry_delay`` after their stored end; ``up_for_reschedule`` TIs poke again
at once (the reschedule date is not stored); ``scheduled`` TIs go back to the ready queue with their try
number; TIs with no status are evaluated again. The run keeps its ``start_date`` (so ``dagrun_timeout``
continues) and ends at once if everything had finished already. Pure: the clock is injected.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from studio.core import states as S
from studio.runtime.dagrun_graph import TaskGraph
from studio.runtime.dagrun_state import Launch, TaskInstance
from studio.runtime.retries import is_eligible_to_retry, retry_delay

ORPHANED = frozenset({S.QUEUED, S.RUNNING})


@dataclass(frozen=True)
class StoredTI:
    """What ``resume`` reads of one stored task instance (the store's ``TaskInstanceRecord`` fits too)."""

    task_id: str
    map_index: int = -1
    state: str | None = None
    try_number: int = 0
    max_tries: int = 0
    start_date: datetime | None = None
    end_date: datetime | None = None


class RunLifeCycle:
    """Needs the machine's TIs and queues, ``graph``, ``_clock``, ``_timeout`` and its transitions."""

    graph: TaskGraph
    dag_id: str
    state: str
    start_date: datetime | None
    end_date: datetime | None
    logical_date: datetime | None
    _clock: Callable[[], datetime]
    _timeout: timedelta | None
    _fail_fast: bool
    timed_out: bool
    _tis: dict[str, TaskInstance]
    _task_tis: dict[str, list[str]]
    _unfinished: int
    _map_lengths: dict[str, int]
    _pushes: dict[str, int]
    _ready: list[tuple[int, int, int, str]]
    _active: set[str]
    _waiting: set[str]
    _rescheduled: set[str]
    _stops: list[str]
    budget: Any
    _set: Callable[..., None]
    _finish: Callable[..., None]
    _evaluate: Callable[..., None]
    _launch: Callable[[], list[Launch]]
    _update_run_state: Callable[[], None]
    _initial_tis: Callable[[str], list[TaskInstance]]
    tis: Callable[[], list[TaskInstance]]

    # ------------------------------------------------------------------ resuming
    def resume(
        self,
        stored: Iterable[Any],
        *,
        start_date: datetime | None,
        orphan_error: str = "the process running it is gone",
        map_lengths: Mapping[str, int] | None = None,
        pushes: Mapping[str, int] | None = None,
    ) -> list[Launch]:
        """Continue a run the store says is queued/running from its stored TIs (``StoredTI``-like).

        ``map_lengths``: what the succeeded unmapped map sources reported (the length of their
        ``return_value`` XCom); ``pushes``: per mapped task, how many of its TIs pushed a return value.
        Returns the first launches; ``changes()`` then holds what the store must record (the orphaned
        tries' ends among them, each with ``error=orphan_error``)."""
        if self.state != S.RUN_QUEUED:
            return []
        now = self._clock()
        self.state = S.RUN_RUNNING
        self.start_date = start_date or now
        self._map_lengths.update(map_lengths or {})
        self._pushes.update(pushes or {})
        self._rebuild(stored)
        self.budget.refresh()
        orphans = [ti for ti in self.tis() if ti.state in ORPHANED]
        for ti in orphans:
            if self.state == S.RUN_RUNNING and ti.state in ORPHANED:
                self._fail_orphan(ti, now, orphan_error)
        for ti in self.tis():
            if ti.state == S.UP_FOR_RETRY:
                task = self.graph.tasks[ti.task_id]
                delay = retry_delay(task, dag_id=self.dag_id, try_number=ti.try_number, logical_date=self.logical_date)
                ti.due = ti.due or (ti.end_date or now) + delay
                self._waiting.add(ti.key)
            elif ti.state == S.UP_FOR_RESCHEDULE:
                ti.due = now
                self._waiting.add(ti.key)
                self._rescheduled.add(ti.key)
            elif ti.state == S.SCHEDULED:
                weight = int(self.graph.tasks[ti.task_id].get("priority_weight") or 1)
                heapq.heappush(self._ready, (-weight, self.graph.position[ti.task_id], ti.map_index, ti.key))
        if self.state == S.RUN_RUNNING and self._timeout is not None and now >= self.start_date + self._timeout:
            self.timed_out = True  # as ``due`` does: the DAG-level callback's reason
            self._end_run_early(running_state=S.SKIPPED)
            return []
        for tid in self.graph.order:
            self._evaluate(tid)
        self._update_run_state()
        return self._launch()

    def _rebuild(self, stored: Iterable[Any]) -> None:
        """Replace the initial TIs by the stored ones (a task the store has no TI of keeps its initial
        TIs; stored TIs of tasks the DAG no longer has are ignored)."""
        by_task: dict[str, list[Any]] = {}
        for row in stored:
            if row.task_id in self.graph.tasks:
                by_task.setdefault(row.task_id, []).append(row)
        for tid, rows in by_task.items():
            for key in self._task_tis[tid]:
                del self._tis[key]
            rows.sort(key=lambda r: r.map_index)
            expanded = [r for r in rows if r.map_index >= 0]
            keys = []
            for row in expanded or rows[:1]:
                ti = TaskInstance(
                    tid, map_index=row.map_index, state=row.state, try_number=int(row.try_number or 0),
                    max_tries=int(row.max_tries or 0), start_date=row.start_date, end_date=row.end_date,
                )  # fmt: skip
                self._tis[ti.key] = ti
                keys.append(ti.key)
            self._task_tis[tid] = keys
        self._unfinished = sum(ti.state not in S.FINISHED for ti in self._tis.values())

    def _fail_orphan(self, ti: TaskInstance, now: datetime, error: str) -> None:
        """The try ``ti.try_number`` ended with its process: a failed try, retried if retries are left."""
        task = self.graph.tasks[ti.task_id]
        ti.end_date = now
        ti.error = error
        if ti.try_number < 1:  # queued by a process that died before counting the try: count it now
            ti.try_number = 1
        if is_eligible_to_retry(task, ti.try_number):
            ti.due = now + retry_delay(
                task, dag_id=self.dag_id, try_number=ti.try_number, logical_date=self.logical_date
            )
            self._set(ti, S.UP_FOR_RETRY, end_date=now, due=ti.due, error=error)
        else:
            self._finish(ti, S.FAILED, end_date=now, error=error)
            if self._fail_fast:
                self._stop_remaining(ti)

    # ------------------------------------------------------------------ ending early
    def _drop_from_queues(self, ti: TaskInstance) -> None:
        self._waiting.discard(ti.key)
        if ti.key in self._active:
            self._active.discard(ti.key)
            self._stops.append(ti.key)

    def _stop_remaining(self, failed: TaskInstance) -> None:
        """The DAG's ``fail_fast``: every other non-teardown TI that is not success/failed ends —
        running ones failed, the rest skipped (queued and running ones are stopped)."""
        now = self._clock()
        for ti in self.tis():
            if ti is failed or ti.state in (S.SUCCESS, S.FAILED) or self.graph.is_teardown(ti.task_id):
                continue
            new = S.FAILED if ti.state == S.RUNNING else S.SKIPPED
            self._drop_from_queues(ti)
            ti.end_date = now
            self._set(ti, new, end_date=now)
        for ti in self.tis():
            if self.graph.is_teardown(ti.task_id):
                self._evaluate(ti.task_id)

    def _end_run_early(self, running_state: str) -> list[str]:
        """Fail the run now; unfinished TIs end (active ones in ``running_state``, others skipped)."""
        now = self._clock()
        to_stop = []
        for ti in self.tis():
            if ti.state in S.FINISHED:
                continue
            active = ti.key in self._active
            new = running_state if ti.state in (S.RUNNING, S.UP_FOR_RESCHEDULE) else S.SKIPPED
            self._drop_from_queues(ti)
            if active:
                to_stop.append(ti.key)
            ti.end_date = now
            self._set(ti, new, end_date=now)
        self._ready.clear()
        self.state = S.RUN_FAILED
        self.end_date = now
        return to_stop
