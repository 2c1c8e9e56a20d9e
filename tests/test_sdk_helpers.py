"""Helpers for the sdk tests: an in-memory XCom reader (the store's reader over SQLite has the same
interface), a fake clock for sensors, DAG files written to a temp dir, and a runner that keeps XCom."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from typing import Any

from studio.sdk.execution import run_task
from studio.sdk.loader import load_dag, loaded_module
from studio.sdk.xcom_arg import MISSING

RUN_INFO = {
    "run_id": "manual__2024-03-05T06:07:08+00:00",
    "logical_date": "2024-03-05T06:07:08+00:00",
    "data_interval_start": "2024-03-04T06:07:08+00:00",
    "data_interval_end": "2024-03-05T06:07:08+00:00",
    "conf": {},
    "run_type": "manual",
}


class MemoryXCom:
    """``get(dag_id, run_id, task_id, map_index, key)`` over a dict; ``record`` stores a worker result."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str, str, int, str], Any] = {}

    def get(self, dag_id: str, run_id: str, task_id: str, map_index: int, key: str) -> Any:
        return self.values.get((dag_id, run_id, task_id, map_index, key), MISSING)

    def record(self, dag_id: str, run_id: str, task_id: str, map_index: int, result: dict[str, Any]) -> None:
        for item in result["xcom"]:
            self.values[(dag_id, run_id, task_id, map_index, item["key"])] = item["value"]


class FakeClock:
    """Monotonic and wall time that only move when the sensor sleeps (or the test advances them)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.wall = dt.datetime(2024, 3, 5, 7, 0, tzinfo=dt.UTC)
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def utcnow(self) -> dt.datetime:
        return self.wall

    def sleep(self, seconds: float) -> None:
        """Sleeping also costs a millisecond of work, like a real poke."""
        self.sleeps.append(seconds)
        self.advance(seconds + 0.001)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.wall += dt.timedelta(seconds=seconds)


class Runner:
    """Loads a DAG file and runs its tasks in-process, keeping their XCom like the engine would."""

    def __init__(self, tmp_path: Path, source: str, run_info: dict[str, Any] | None = None) -> None:
        self.path = tmp_path / "dag_under_test.py"
        self.path.write_text(textwrap.dedent(source))
        self.dag = load_dag(self.path)
        self.module = loaded_module(str(self.path))
        self.xcom = MemoryXCom()
        self.run_info = dict(run_info or RUN_INFO)

    def run(self, task_id: str, map_index: int = -1, try_number: int = 1) -> dict[str, Any]:
        result = run_task(self.dag, task_id, map_index, try_number, self.run_info, self.xcom)
        if result["state"] == "success":
            self.xcom.record(self.dag.dag_id, self.run_info["run_id"], task_id, map_index, result)
        return result

    def value(self, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
        return self.xcom.get(self.dag.dag_id, self.run_info["run_id"], task_id, map_index, key)
