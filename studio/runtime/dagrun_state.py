"""The records the DagRun state machine keeps and hands out: task instances, launches, state changes.

A task instance (TI) is one task (or one map index of a mapped task) in one run. Its key is the
task id, or ``task_id[i]`` for map index ``i`` (the CLI's and the store's name for it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def ti_key(task_id: str, map_index: int = -1) -> str:
    """``task_id`` for an unmapped TI, ``task_id[i]`` for map index ``i``."""
    return task_id if map_index < 0 else f"{task_id}[{map_index}]"


@dataclass
class TaskInstance:
    """One TI: its state (``None`` = no status), try number (Airflow 3 counting: 0 until the first
    try is scheduled, then 1, +1 per retry, unchanged by a reschedule), and its dates.

    ``due`` is when an ``up_for_retry`` or ``up_for_reschedule`` TI may run again.
    """

    task_id: str
    map_index: int = -1
    state: str | None = None
    try_number: int = 0
    max_tries: int = 0
    start_date: datetime | None = None
    end_date: datetime | None = None
    due: datetime | None = None
    error: str | None = None

    @property
    def key(self) -> str:
        return ti_key(self.task_id, self.map_index)

    def as_dict(self) -> dict[str, Any]:
        """The CLI's shape of a TI (``dagstudio run --json``)."""
        return {
            "state": self.state,
            "try_number": self.try_number,
            "start": self.start_date.isoformat() if self.start_date else None,
            "end": self.end_date.isoformat() if self.end_date else None,
        }


@dataclass(frozen=True)
class Launch:
    """An order to start one try of one TI (in the order the ready queue gives them)."""

    key: str
    task_id: str
    map_index: int
    try_number: int


@dataclass(frozen=True)
class StateChange:
    """One change of a TI's state, for the store: ``old`` → ``new`` with ``try_number`` after it.

    ``fields`` holds what else changed (``start_date``, ``end_date``, ``due``, ``error``). A mapped
    task's unexpanded TI (``map_index`` -1) that is replaced by its map indexes reports
    ``old = new = None`` and ``fields = {"expanded_to": n}``.
    """

    key: str
    task_id: str
    map_index: int
    old: str | None
    new: str | None
    try_number: int
    fields: dict[str, Any] = field(default_factory=dict)
