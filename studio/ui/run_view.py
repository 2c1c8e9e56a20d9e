"""What the window knows about the latest run of one DAG: each task's state, try and duration.

``RunView`` is plain bookkeeping (no widgets): progress lines of the CLI update it live
(``update``), the CLI's final JSON replaces it (``finish``). A mapped task's instances
(``task[0]``, ``task[1]``, …) are folded into one row per task by ``task_state``.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from studio.ui.states import ACTIVE, FINISHED

# The state a task's row shows when its instances differ: the first one present wins.
PRIORITY = (
    "running",
    "up_for_retry",
    "up_for_reschedule",
    "deferred",
    "restarting",
    "queued",
    "scheduled",
    "failed",
    "upstream_failed",
    "success",
    "skipped",
    "removed",
)


def task_of(key: str) -> str:
    """``task[3]`` → ``task``; ``task`` → ``task``."""
    return key.split("[", 1)[0]


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _parse_time(text: Any) -> dt.datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass
class TaskInstanceView:
    """One task instance as last seen."""

    state: str | None = None
    try_number: int = 0
    started: float | None = None  # time.monotonic() when it was seen running (live runs)
    ended: float | None = None
    duration: float | None = None  # exact, from the final JSON

    def seconds(self, now: float) -> float | None:
        if self.duration is not None:
            return self.duration
        if self.started is None:
            return None
        return (self.ended if self.ended is not None else now) - self.started


@dataclass
class RunView:
    """The latest run of one DAG as the window shows it."""

    dag_id: str
    run_id: str = ""
    state: str = "running"  # running, success, failed, or error (it never ran)
    instances: dict[str, TaskInstanceView] = field(default_factory=dict)

    def update(self, key: str, state: str, try_number: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        view = self.instances.setdefault(key, TaskInstanceView())
        if state == "running" and (view.state != "running" or view.try_number != try_number):
            view.started, view.ended = now, None
        elif (state in FINISHED or state in ("up_for_retry", "up_for_reschedule")) and view.ended is None:
            view.ended = now if view.started is not None else None
        view.state, view.try_number = state, try_number

    def finish(self, result: dict[str, Any] | None, state: str) -> None:
        """The run ended: ``result`` is the CLI's JSON (its states are final) or None (stopped, error)."""
        self.state = state
        if result is None:
            now = time.monotonic()
            for view in self.instances.values():
                if view.started is not None and view.ended is None:
                    view.ended = now
            return
        self.run_id = str(result.get("run_id") or "")
        tasks = result.get("tasks") or {}
        instances: dict[str, TaskInstanceView] = {}
        for key, ti in tasks.items():
            view = TaskInstanceView(ti.get("state"), int(ti.get("try_number") or 0))
            start, end = _parse_time(ti.get("start")), _parse_time(ti.get("end"))
            if start is not None and end is not None and view.try_number > 0:
                view.duration = max(0.0, (end - start).total_seconds())
            instances[key] = view
        self.instances = instances

    def _of_task(self, task_id: str) -> list[TaskInstanceView]:
        mapped = [v for k, v in self.instances.items() if "[" in k and task_of(k) == task_id]
        if mapped:
            return mapped
        single = self.instances.get(task_id)
        return [single] if single is not None else []

    def task_state(self, task_id: str) -> tuple[str | None, int, float | None, int]:
        """``(state, try_number, seconds, instances)`` of a task's row (mapped instances folded)."""
        found = self._of_task(task_id)
        states = {v.state for v in found if v.state}
        state = next((s for s in PRIORITY if s in states), next(iter(states), None))
        try_number = max((v.try_number for v in found), default=0)
        now = time.monotonic()
        spans = [s for s in (v.seconds(now) for v in found) if s is not None]
        return state, try_number, (max(spans) if spans else None), len(found)

    def counts(self, task_ids: list[str]) -> tuple[int, int]:
        """``(done, total)``: tasks whose row shows a finished state, of all tasks."""
        done = sum(self.task_state(t)[0] in FINISHED for t in task_ids)
        return done, len(task_ids)

    def summary(self, task_ids: list[str]) -> str:
        """``2 success, 1 failed`` — how many tasks ended in each state."""
        states = [self.task_state(t)[0] or "no status" for t in task_ids]
        order = [*PRIORITY, "no status"]
        present = sorted(set(states), key=lambda s: order.index(s) if s in order else len(order))
        return ", ".join(f"{states.count(s)} {s}" for s in present)

    @property
    def active(self) -> bool:
        return self.state == "running" and any(v.state in ACTIVE for v in self.instances.values())
