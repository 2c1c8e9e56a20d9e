"""The DagRun state machine: Airflow 3.3's scheduling of one run, event-driven and pure.

Input: a DAG description (docs/ENGINE.md) and events — ``start()``, ``on_started``, ``on_finished``
(a try's result), ``due(now)`` (timers: retries, reschedules, ``dagrun_timeout``), ``cancel()``; or
``resume(stored TIs)`` instead of ``start()`` for a run whose process died (``dagrun_resume``).
Output: ``Launch`` orders (ordered by ``priority_weight``, limited by ``max_active_tasks`` and by the
pools and ``parallelism`` of a shared ``slots.SlotBudget``), keys of
TIs to stop (``stops()``), and the drained list of state changes (``changes()``) for the store.
A TI that finishes re-evaluates only the tasks that depend on it (direct downstream tasks, tasks that
have it as an indirect setup, teardowns that have it in scope) with ``dagrun_deps.decide``.
No processes, no store, no clock reads except through the injected ``clock``.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Any

from studio.core import states as S
from studio.runtime import trigger_rules as tr
from studio.runtime.dagrun_deps import decide, past_blocker
from studio.runtime.dagrun_graph import TaskGraph
from studio.runtime.dagrun_mapping import MappedExpansion
from studio.runtime.dagrun_resume import RunLifeCycle
from studio.runtime.dagrun_state import Launch, StateChange, TaskInstance
from studio.runtime.retries import is_eligible_to_retry, retry_delay
from studio.runtime.slots import DEFAULT_POOL, SlotBudget, select_launches

ACTIVE = frozenset({S.QUEUED, S.RUNNING})
BUDGET_POLL = timedelta(seconds=1)  # re-read slots other processes hold when only they block this run


class DagRunMachine(MappedExpansion, RunLifeCycle):
    """One DAG run. ``clock()`` returns an aware ``datetime``; ``run_conf`` is kept for the caller."""

    def __init__(
        self,
        description: dict[str, Any],
        *,
        clock: Callable[[], datetime],
        run_conf: dict[str, Any] | None = None,
        logical_date: datetime | None = None,
        previous: dict[str, list[str | None]] | None = None,
        prior_tis: Collection[str] = (),
        budget: SlotBudget | None = None,
    ) -> None:
        self.description = description
        self.dag_id: str = description["dag_id"]
        self.run_conf = dict(run_conf or {})
        self.logical_date = logical_date
        self.graph = TaskGraph(description)
        self._clock = clock
        self._max_active = int(description.get("max_active_tasks") or 16)
        timeout = description.get("dagrun_timeout")
        self._timeout = timedelta(seconds=float(timeout)) if timeout else None
        self._fail_fast = bool(description.get("fail_fast"))
        self.state: str = S.RUN_QUEUED
        self.timed_out = False  # ended by dagrun_timeout
        self.start_date: datetime | None = None
        self.end_date: datetime | None = None
        self._tis: dict[str, TaskInstance] = {}
        self._task_tis: dict[str, list[str]] = {}
        for tid in self.graph.order:
            tis = self._initial_tis(tid)
            self._tis.update((ti.key, ti) for ti in tis)
            self._task_tis[tid] = [ti.key for ti in tis]
        self._unfinished = len(self._tis)
        self._map_lengths: dict[str, int] = {}
        self._pushes: dict[str, int] = {}  # per mapped task: its TIs that pushed a return value
        self._skip_marks: dict[str, set[str]] = {}
        self._ready: list[tuple[int, int, int, str]] = []
        self._active: set[str] = set()
        self._waiting: set[str] = set()
        self._rescheduled: set[str] = set()
        self._changes: list[StateChange] = []
        self._stops: list[str] = []
        self._watchers = self._build_watchers()
        # depends_on_past: the previous run's TI states per task (None: no previous run), the tasks with
        # a TI in an earlier run; ``past_blocked``: tasks kept waiting, and why.
        self._previous, self._prior_tis = previous, frozenset(prior_tis)
        self.past_blocked: dict[str, str] = {}
        # Pools and parallelism (shared with the other machines of the engine); ``pool_blocked``: TIs
        # that can never get a slot (no such pool, pool_slots > pool size), and why.
        self.budget = budget if budget is not None else SlotBudget()
        self.pool_blocked: dict[str, str] = {}

    # ------------------------------------------------------------------ queries
    def ti(self, key: str) -> TaskInstance:
        return self._tis[key]

    def first_reschedule_date(self, key: str) -> datetime | None:
        """When the first poke of a rescheduled sensor's try started (Airflow's ``first_reschedule_date``,
        which the sensor's timeout counts from); None unless the TI comes back from a reschedule."""
        return self._tis[key].start_date if key in self._rescheduled else None

    def tis(self) -> list[TaskInstance]:
        """Every TI, in the description's order (map indexes in order)."""
        return [self._tis[k] for tid in self.graph.order for k in self._task_tis[tid]]

    def changes(self) -> list[StateChange]:
        """The state changes since the last call (drained)."""
        out, self._changes = self._changes, []
        return out

    def stops(self) -> list[str]:
        """Keys of queued/running TIs the executor must stop (fail_fast, dagrun_timeout), drained."""
        out, self._stops = self._stops, []
        return out

    def next_wakeup(self) -> datetime | None:
        """The earliest time ``due`` has something to do (a retry, a reschedule, the run timeout)."""
        if self.state != S.RUN_RUNNING:
            return None
        times = [self._tis[k].due for k in self._waiting if self._tis[k].due is not None]
        if self._timeout is not None and self.start_date is not None:
            times.append(self.start_date + self._timeout)
        if self._starved_by_others():
            times.append(self._clock() + BUDGET_POLL)
        return min(times, default=None)

    def waiting_on_pool(self) -> dict[str, str]:
        """The TIs left ``scheduled`` because they can never get a pool slot, and why."""
        return {k: why for k, why in self.pool_blocked.items() if k in self._tis and self._tis[k].state == S.SCHEDULED}

    # ------------------------------------------------------------------ events
    def start(self) -> list[Launch]:
        """Start the run: evaluate every task once and return the first launches."""
        if self.state != S.RUN_QUEUED:
            return []
        self.state = S.RUN_RUNNING
        self.start_date = self._clock()
        self.budget.refresh()  # the pools and other processes' slots as they are now (no-op without a loader)
        for tid in self.graph.order:
            self._evaluate(tid)
        self._update_run_state()
        return self._launch()

    def on_started(self, key: str, now: datetime | None = None) -> None:
        """The worker of ``key`` started: queued → running."""
        ti = self._tis.get(key)
        if ti is None or ti.state != S.QUEUED:
            return
        start = now or self._clock()
        fields: dict[str, Any] = {}
        if key not in self._rescheduled:  # a rescheduled sensor keeps the start of its first poke
            ti.start_date = start
            fields["start_date"] = start
        self._set(ti, S.RUNNING, **fields)

    def on_finished(
        self, key: str, result: dict[str, Any] | None, exit_code: int | None = None, timed_out: bool = False
    ) -> list[Launch]:
        """A try ended. ``result`` is the worker's result (None if it died without one)."""
        ti = self._tis.get(key)
        if ti is None or ti.state not in ACTIVE or self.state != S.RUN_RUNNING:
            return []
        self._active.discard(key)
        now = self._clock()
        ti.end_date = now
        task = self.graph.tasks[ti.task_id]
        state = (result or {}).get("state") if not timed_out else None
        if state == S.SUCCESS:
            self._succeed(ti, result or {})
        elif state == S.SKIPPED:
            self._finish(ti, S.SKIPPED, end_date=now)
        elif state == S.UP_FOR_RESCHEDULE and result and result.get("reschedule_at"):
            ti.due = _parse_time(result["reschedule_at"])
            self._waiting.add(key)
            self._rescheduled.add(key)
            self._set(ti, S.UP_FOR_RESCHEDULE, end_date=now, due=ti.due)
        else:
            ti.error = _failure_reason(result, exit_code, timed_out)
            no_retry = bool(result and result.get("fail_fast"))
            if not no_retry and is_eligible_to_retry(task, ti.try_number):
                delay = retry_delay(task, dag_id=self.dag_id, try_number=ti.try_number, logical_date=self.logical_date)
                ti.due = now + delay
                self._waiting.add(key)
                self._set(ti, S.UP_FOR_RETRY, end_date=now, due=ti.due, error=ti.error)
            else:
                self._finish(ti, S.FAILED, end_date=now, error=ti.error)
                if self._fail_fast:
                    self._stop_remaining(ti)
        self._update_run_state()
        return self._launch()

    def due(self, now: datetime | None = None) -> list[Launch]:
        """Fire the timers whose time has come: retries, reschedules and the run's timeout."""
        if self.state != S.RUN_RUNNING:
            return []
        now = now or self._clock()
        if self._timeout is not None and self.start_date and now >= self.start_date + self._timeout:
            self.timed_out = True  # the DAG-level callback's reason is "timed_out" (Airflow)
            self._end_run_early(running_state=S.SKIPPED)
            return []
        if self._starved_by_others():
            self.budget.refresh()
        for key in sorted(self._waiting, key=lambda k: (self._tis[k].due, k)):
            ti = self._tis[key]
            if ti.due is not None and ti.due <= now:
                self._waiting.discard(key)
                ti.due = None
                self._schedule(ti)
        return self._launch()

    def launch_ready(self) -> list[Launch]:
        """Queue what the budget lets through now (call it when another run sharing the budget freed slots)."""
        return self._launch()

    def cancel(self) -> list[str]:
        """Fail the run as Airflow's "mark run failed" does: running TIs → failed, the other
        unfinished ones → skipped. Returns the keys of the queued/running TIs to stop."""
        if self.state != S.RUN_RUNNING:
            return []
        to_stop = self._end_run_early(running_state=S.FAILED)
        self._stops = [k for k in self._stops if k not in to_stop]
        return to_stop

    # ------------------------------------------------------------------ evaluation
    def _build_watchers(self) -> dict[str, set[str]]:
        """For each task, the tasks whose trigger rule reads its TIs."""
        watchers: dict[str, set[str]] = {tid: set(self.graph.downstream[tid]) for tid in self.graph.order}
        for tid in self.graph.order:
            for other in self.graph.indirect_setups(tid) | self.graph.teardown_scope(tid):
                watchers[other].add(tid)
        return watchers

    def _task_states(self, task_id: str) -> list[str | None]:
        return [self._tis[k].state for k in self._task_tis[task_id]]

    def _evaluate(self, task_id: str, source: TaskInstance | None = None) -> None:
        """Apply the trigger rule to the task's TIs that have no state yet (``source``: the upstream TI
        whose end caused this, if any)."""
        task = self.graph.tasks[task_id]
        self._skip_index_marked(task_id)
        if task.get("map_groups"):
            self._evaluate_each(task_id, source)
            return
        pending = [self._tis[k] for k in self._task_tis[task_id] if self._tis[k].state is None]
        if not pending or self.state != S.RUN_RUNNING:
            return
        decision = decide(self.graph, task_id, self._task_states, self._skip_marks, self._unexpanded_states)
        if decision == tr.WAIT:
            return
        if decision == tr.RUN:
            blocker = past_blocker(task, self.graph.downstream[task_id], self._previous, task_id in self._prior_tis)
            if blocker is not None:  # Airflow: the TI keeps no status while the previous run blocks it
                self.past_blocked[task_id] = blocker
                return
            if task.get("is_mapped") and pending[0].map_index < 0:
                self._expand(pending[0])
            else:
                for ti in pending:
                    self._schedule(ti)
            return
        now = self._clock()
        for ti in pending:
            self._finish(ti, decision, start_date=now, end_date=now)

    # ------------------------------------------------------------------ transitions
    def _record(self, ti: TaskInstance, new: str | None, **fields: Any) -> None:
        self._changes.append(StateChange(ti.key, ti.task_id, ti.map_index, ti.state, new, ti.try_number, fields))

    def _set(self, ti: TaskInstance, new: str, **fields: Any) -> None:
        self._record(ti, new, **fields)
        self._unfinished += (ti.state in S.FINISHED) - (new in S.FINISHED)
        if ti.state in ACTIVE and new not in ACTIVE:
            self.budget.release((self, ti.key))
        ti.state = new

    def _schedule(self, ti: TaskInstance) -> None:
        """Ready to run: a new try (try_number + 1) unless it comes back from a reschedule."""
        if ti.state != S.UP_FOR_RESCHEDULE:
            ti.try_number += 1
            ti.error = None  # the error of the previous try (a new try has none yet)
            self._rescheduled.discard(ti.key)
        self._set(ti, S.SCHEDULED)
        task = self.graph.tasks[ti.task_id]
        weight = int(task.get("priority_weight") or 1)
        heapq.heappush(self._ready, (-weight, self.graph.position[ti.task_id], ti.map_index, ti.key))

    def _launch(self) -> list[Launch]:
        """Queue ready TIs in priority order within ``max_active_tasks`` and the budget (slots.select_launches)."""
        if self.state != S.RUN_RUNNING or not self._ready:
            return []
        keys, never = select_launches(self.budget, self._ready, self._max_active, len(self._active), self._demand, self)
        launches = []
        for key in keys:
            ti = self._tis[key]
            self._active.add(key)
            self._set(ti, S.QUEUED)
            launches.append(Launch(key, ti.task_id, ti.map_index, ti.try_number))
        self.pool_blocked.update(never)
        if not launches and not self._active and not self._waiting and self.budget.idle():
            # Nothing can change what the budget lets through: Airflow would leave these TIs scheduled
            # forever; the run ends (failed) instead, saying why (see waiting_on_pool).
            for key in [e[3] for e in self._ready if self._demand(e[3]) and e[3] not in self.pool_blocked]:
                self.pool_blocked[key] = "queued behind TIs that can never get a pool slot"
            self._update_run_state()
        return launches

    def _demand(self, key: str) -> tuple[str, int, str] | None:
        """The pool, pool_slots and task id of a ready TI (None: it is no longer scheduled)."""
        ti = self._tis.get(key)
        if ti is None or ti.state != S.SCHEDULED:
            return None
        task = self.graph.tasks[ti.task_id]
        return task.get("pool") or DEFAULT_POOL, int(task.get("pool_slots") or 1), ti.task_id

    def _starved_by_others(self) -> bool:
        """Nothing of this run is active, TIs are ready, and other processes hold slots they may free."""
        return bool(self._ready) and not self._active and self.budget.has_external and self.state == S.RUN_RUNNING

    def _finish(self, ti: TaskInstance, state: str, **fields: Any) -> None:
        """Put a TI in a finished state and re-evaluate the tasks that read it."""
        if "end_date" in fields:
            ti.end_date = fields["end_date"]
        if "start_date" in fields:
            ti.start_date = fields["start_date"]
        ti.due = None
        self._set(ti, state, **fields)
        for watcher in self.graph.in_order(self._watchers[ti.task_id]):
            self._evaluate(watcher, ti)

    def _succeed(self, ti: TaskInstance, result: dict[str, Any]) -> None:
        if result.get("map_length") is not None:
            self._map_lengths[ti.task_id] = int(result["map_length"])
        self._count_push(ti, result)
        # Skips first (as the worker's skip_all_except/skip does before the TI is marked success),
        # so the downstream tasks see them when the success re-evaluates them.
        skip: list[str] = []
        if result.get("follow_branches") is not None:
            skip += self.graph.branch_skips(ti.task_id, result["follow_branches"])
        if result.get("skip_downstream"):
            skip += [t for t in result["skip_downstream"] if t in self.graph.tasks]
        if ti.map_index >= 0:  # Airflow skips nothing from a map index (SkipMixin._set_state_to_skipped)
            self._mark_index_skips(ti, skip)
            skip = []
        if skip:  # what NotPreviouslySkippedDep reads later (the skipmixin XCom)
            self._skip_marks[ti.task_id] = set(skip)
        self._skip_tasks(self.graph.in_order(skip), ti.end_date)
        self._finish(ti, S.SUCCESS, end_date=ti.end_date)

    def _skip_tasks(self, task_ids: list[str], now: datetime | None) -> None:
        """Skip what a branch or short circuit names (never a running or finished success/failed
        TI, as Airflow's ``ti_skip_downstream``); only unexpanded TIs of mapped tasks."""
        marked = []
        for tid in task_ids:
            for key in self._task_tis[tid]:
                ti = self._tis[key]
                if ti.map_index >= 0 or ti.state in (S.RUNNING, S.SUCCESS, S.FAILED):
                    continue
                self._drop_from_queues(ti)
                ti.start_date = ti.end_date = now
                self._set(ti, S.SKIPPED, start_date=now, end_date=now)
                marked.append(tid)
        for tid in marked:
            for watcher in self.graph.in_order(self._watchers[tid]):
                self._evaluate(watcher)

    def _update_run_state(self) -> None:
        """Airflow's ``DagRun.update_state``: done when every TI finished; failed if a leaf failed."""
        if self.state != S.RUN_RUNNING:
            return
        if self._unfinished:
            ready = any(
                self._tis.get(e[3], _NONE).state == S.SCHEDULED and e[3] not in self.pool_blocked for e in self._ready
            )
            if not self._active and not ready and not self._waiting:
                self.state = S.RUN_FAILED  # deadlock, or only past-blocked TIs left: nothing can run
                self.end_date = self._clock()
            return
        leaves = self.graph.leaves()
        leaf_states = [ti.state for ti in self.tis() if ti.task_id in leaves and ti.state != S.REMOVED]
        failed = any(state in S.FAILED_STATES for state in leaf_states)
        self.state = S.RUN_FAILED if failed else S.RUN_SUCCESS
        self.end_date = self._clock()


_NONE = TaskInstance("")  # stands for a TI that was replaced by its map indexes


def _parse_time(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _failure_reason(result: dict[str, Any] | None, exit_code: int | None, timed_out: bool) -> str:
    if timed_out:
        return "execution_timeout exceeded"
    if result and result.get("error"):
        return str(result["error"])
    if result is None:
        return f"worker died without a result (exit code {exit_code})"
    return "task failed"
