"""Airflow's state names for DAG runs and task instances (the strings Airflow 3 uses), and their groups."""

from __future__ import annotations

# Task instance states (airflow.utils.state.TaskInstanceState); None = "no status".
SCHEDULED = "scheduled"
QUEUED = "queued"
RUNNING = "running"
SUCCESS = "success"
FAILED = "failed"
UPSTREAM_FAILED = "upstream_failed"
SKIPPED = "skipped"
UP_FOR_RETRY = "up_for_retry"
UP_FOR_RESCHEDULE = "up_for_reschedule"
REMOVED = "removed"
RESTARTING = "restarting"
DEFERRED = "deferred"

TASK_STATES: tuple[str, ...] = (
    SCHEDULED, QUEUED, RUNNING, SUCCESS, FAILED, UPSTREAM_FAILED, SKIPPED, UP_FOR_RETRY,
    UP_FOR_RESCHEDULE, REMOVED, RESTARTING, DEFERRED,
)  # fmt: skip
FINISHED: frozenset[str] = frozenset({SUCCESS, FAILED, SKIPPED, UPSTREAM_FAILED, REMOVED})
UNFINISHED: frozenset[str | None] = frozenset(
    {None, SCHEDULED, QUEUED, RUNNING, UP_FOR_RETRY, UP_FOR_RESCHEDULE, RESTARTING, DEFERRED}
)
FAILED_STATES: frozenset[str] = frozenset({FAILED, UPSTREAM_FAILED})

# DAG run states (airflow.utils.state.DagRunState).
RUN_QUEUED = "queued"
RUN_RUNNING = "running"
RUN_SUCCESS = "success"
RUN_FAILED = "failed"
RUN_STATES: tuple[str, ...] = (RUN_QUEUED, RUN_RUNNING, RUN_SUCCESS, RUN_FAILED)
