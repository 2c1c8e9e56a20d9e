"""What the store hands out: task instance keys, run / task instance / try records, and the store's errors.

Plain immutable objects (no SQLAlchemy rows leak out of the store). Field names are Airflow's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple


class TIKey(NamedTuple):
    """A task instance: ``map_index`` -1 for a task that is not mapped (Airflow's convention)."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1

    @property
    def label(self) -> str:
        """``task_id`` or ``task_id[i]``: the key of the task in ``dagstudio run/runs --json``."""
        return ti_label(self.task_id, self.map_index)


def ti_label(task_id: str, map_index: int) -> str:
    return f"{task_id}[{map_index}]" if map_index >= 0 else task_id


class StoreError(RuntimeError):
    """A store operation that cannot be done as asked (the message says why; nothing was written)."""


class DagRunExistsError(StoreError):
    """``create_dag_run`` with a run id or a logical date the DAG already has a run for."""


@dataclass(frozen=True, slots=True)
class DagRunRecord:
    id: int
    dag_id: str
    run_id: str
    logical_date: dt.datetime | None
    run_after: dt.datetime
    data_interval_start: dt.datetime | None
    data_interval_end: dt.datetime | None
    run_type: str
    conf: dict[str, Any]
    state: str
    queued_at: dt.datetime | None
    start_date: dt.datetime | None
    end_date: dt.datetime | None
    creating_job_id: int | None = None  # the engine job (scheduler / `dagstudio run`) driving the run


@dataclass(frozen=True, slots=True)
class TaskInstanceRecord:
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    state: str | None
    try_number: int
    max_tries: int
    start_date: dt.datetime | None
    end_date: dt.datetime | None
    duration: float | None
    pid: int | None
    hostname: str | None
    queued_dttm: dt.datetime | None
    priority_weight: int
    pool: str
    pool_slots: int
    operator: str | None
    updated_at: dt.datetime | None

    @property
    def key(self) -> TIKey:
        return TIKey(self.dag_id, self.run_id, self.task_id, self.map_index)


@dataclass(frozen=True, slots=True)
class TryRecord:
    """One try of a task instance (Airflow 3 keeps these in ``task_instance_history``)."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    state: str | None
    queued_dttm: dt.datetime | None
    start_date: dt.datetime | None
    end_date: dt.datetime | None
    duration: float | None
    pid: int | None
    exit_code: int | None
    hostname: str | None
    log_path: str | None
    error: str | None

    @property
    def log_file(self) -> Path | None:
        return None if self.log_path is None else Path(self.log_path)


@dataclass(frozen=True, slots=True)
class PreviousRun:
    """The DAG run before another one (by logical date) and its task instance states, for
    ``depends_on_past`` / ``wait_for_downstream``: ``ti_states[(task_id, map_index)]``."""

    run: DagRunRecord
    ti_states: dict[tuple[str, int], str | None]


def iso(value: dt.datetime | None) -> str | None:
    """The ISO 8601 text of a timestamp in ``--json`` output."""
    return None if value is None else value.isoformat()
