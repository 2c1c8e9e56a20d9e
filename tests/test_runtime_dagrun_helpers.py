"""Helpers (no tests) for the DagRun state machine tests: a fake clock, hand-built DAG descriptions,
worker results, and a driver that runs a machine to its end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2024, 1, 1, tzinfo=UTC)


class FakeClock:
    """An injectable clock that only moves when told."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def task(task_id: str, upstream: list[str] | tuple[str, ...] = (), **fields: Any) -> dict[str, Any]:
    """One task of a description with Airflow's defaults."""
    out = {
        "task_id": task_id,
        "operator": "EmptyOperator",
        "upstream": list(upstream),
        "downstream": [],
        "trigger_rule": "all_success",
        "retries": 0,
        "retry_delay": 300,
        "retry_exponential_backoff": False,
        "max_retry_delay": None,
        "execution_timeout": None,
        "priority_weight": 1,
        "pool": "default_pool",
        "pool_slots": 1,
        "depends_on_past": False,
        "wait_for_downstream": False,
        "is_setup": False,
        "is_teardown": False,
        "is_mapped": False,
        "group_id": None,
        "sensor": None,
        "branch": False,
        "short_circuit": False,
        "ignore_downstream_trigger_rules": True,
    }
    out.update(fields)
    return out


def dag(*tasks: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A DAG description; fills every task's ``downstream`` from the ``upstream`` lists."""
    by_id = {t["task_id"]: t for t in tasks}
    for t in tasks:
        for up in t["upstream"]:
            by_id[up]["downstream"].append(t["task_id"])
    out = {
        "dag_id": "d",
        "fileloc": "/dags/d.py",
        "schedule": None,
        "start_date": None,
        "timezone": "UTC",
        "max_active_tasks": 16,
        "dagrun_timeout": None,
        "fail_fast": False,
        "params": {},
        "has_callbacks": {"on_success": False, "on_failure": False},
        "tasks": list(tasks),
    }
    out.update(fields)
    return out


def result(state: str = "success", **fields: Any) -> dict[str, Any]:
    """A worker result (docs/ENGINE.md)."""
    out = {
        "state": state,
        "fail_fast": False,
        "error": None,
        "xcom": [],
        "rendered_fields": {},
        "follow_branches": None,
        "skip_downstream": None,
        "reschedule_at": None,
        "map_length": None,
    }
    out.update(fields)
    return out


def run_all(machine, outcomes: dict[str, str] | None = None, clock: FakeClock | None = None) -> list[str]:
    """Drive the machine to the end: every launch starts and finishes at once with the state in
    ``outcomes`` (default success); timers fire by moving the clock. Returns the launch order."""
    outcomes = outcomes or {}
    order: list[str] = []
    pending = list(machine.start())
    while True:
        while pending:
            launch = pending.pop(0)
            order.append(launch.key)
            machine.on_started(launch.key)
            state = outcomes.get(launch.key, outcomes.get(launch.task_id, "success"))
            pending += machine.on_finished(launch.key, result(state), 0 if state == "success" else 1)
        wake = machine.next_wakeup()
        if wake is None or machine.state != "running":
            return order
        if clock is not None:
            clock.now = max(clock.now, wake)
        pending += machine.due(wake)
