"""The engine's hot path (``studio.runtime.engine``): one store transaction per short try (two when the
try outlives ``START_WRITE_DELAY``), nothing announced before it is durable, the queued time still recorded, and a try that never starts still fully recorded.

Real processes (a fork server per test) and a real SQLite store in a temporary home.
"""

from __future__ import annotations

import datetime as dt
import sys
import textwrap
from pathlib import Path
from typing import Any

import psutil
import pytest
from sqlalchemy import event

from studio.runtime import engine_run, forkserver_loop, worker
from studio.runtime.engine import LocalRun
from studio.store import Store, TIKey

CHAIN = textwrap.dedent(
    """
    import os
    import time
    from datetime import datetime

    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG

    NAP = float(os.environ.get("CHAIN_NAP", "0"))  # so that a start and its end never come in one wake-up


    def pull(task_id, ti):
        time.sleep(NAP)
        return ti.xcom_pull(task_ids=task_id) + 1


    with DAG("chain", schedule=None, start_date=datetime(2024, 1, 1)):
        a = PythonOperator(task_id="a", python_callable=lambda: time.sleep(NAP) or 1)
        b = PythonOperator(task_id="b", python_callable=pull, op_args=["a"])
        c = PythonOperator(task_id="c", python_callable=pull, op_args=["b"])
        a >> b >> c
    """
)


@pytest.fixture
def chain_file(tmp_path: Path) -> Path:
    path = tmp_path / "chain.py"
    path.write_text(CHAIN)
    return path


def _no_children() -> None:
    assert psutil.Process().children(recursive=True) == []


@pytest.mark.parametrize(
    ("delay", "nap", "per_try"), [(3600.0, 0.0, 1), (0.0, 0.3, 2)], ids=["start-with-end", "start-alone"]
)
def test_transactions_per_try_and_durable_announcements(
    chain_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, delay: float, nap: float, per_try: int
) -> None:
    monkeypatch.setattr(engine_run, "START_WRITE_DELAY", delay)
    monkeypatch.setenv("CHAIN_NAP", str(nap))
    home = tmp_path / "home"
    seen: list[tuple[str, str | None, str | None]] = []
    commits: list[str] = []
    with LocalRun(chain_file, home) as local:
        engine_ = local.store._engine
        count = lambda conn: conn.info.get("read") or commits.append("commit")  # noqa: E731  (write COMMITs)
        event.listen(engine_, "commit", count)
        try:
            reader = Store.open(home)

            def on_change(change: Any) -> None:
                record = reader.task_instance(TIKey("chain", run_id, change.task_id, change.map_index))
                seen.append((change.task_id, change.new, record.state if record else None))

            run_id = "manual__2024-01-01T00:00:00+00:00"
            result = local.execute("chain", logical_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC), on_change=on_change)
            reader.close()
        finally:
            event.remove(engine_, "commit", count)
    assert result["state"] == "success"
    assert {k: v["state"] for k, v in result["tasks"].items()} == {"a": "success", "b": "success", "c": "success"}
    # the process's `run` job (once per LocalRun, for crash recovery) + create the run + per try (start and
    # finish together, or apart) + the run's end state
    assert len(commits) == 1 + 1 + per_try * 3 + 1
    order = ["scheduled", "queued", "running", "success"]
    for task in "abc":
        states = [new for t, new, _ in seen if t == task]
        assert states == order
    stored_order = {None: -1, **{s: i for i, s in enumerate(order)}}
    for _task, new, stored in seen:  # the store is at least as far as what is announced
        assert stored_order[stored] >= stored_order[new]
    with Store.open(home) as store:
        for task in "abc":
            key = TIKey("chain", run_id, task, -1)
            ti = store.task_instance(key)
            assert ti is not None and ti.queued_dttm is not None and ti.queued_dttm <= ti.start_date
            (only,) = store.tries(key)
            assert only.queued_dttm == ti.queued_dttm and only.state == "success" and only.pid
    _no_children()


def test_a_try_that_never_starts_is_recorded(chain_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_fork = forkserver_loop._Loop._fork

    def failing_fork(self: Any, key: str, message: dict[str, Any]) -> Any:
        if key.rpartition("/")[2].startswith("b"):  # engine keys are "<run number>/<task key>"
            raise OSError(11, "no process for you")
        return real_fork(self, key, message)

    monkeypatch.setattr(forkserver_loop._Loop, "_fork", failing_fork)  # the fork server inherits it (fork)
    home = tmp_path / "home"
    with LocalRun(chain_file, home) as local:
        result = local.execute("chain")
        run_id = result["run_id"]
    assert result["state"] == "failed"
    assert result["tasks"]["a"]["state"] == "success"
    assert result["tasks"]["b"]["state"] == "failed" and result["tasks"]["b"]["try_number"] == 1
    assert result["tasks"]["c"]["state"] == "upstream_failed"
    with Store.open(home) as store:
        key = TIKey("chain", run_id, "b", -1)
        ti = store.task_instance(key)
        assert ti is not None and ti.queued_dttm is not None and ti.end_date is not None
        (only,) = store.tries(key)
        assert only.queued_dttm == ti.queued_dttm and only.state == "failed" and only.end_date is not None
    _no_children()


def test_the_fork_server_prepares_warm(chain_file: Path) -> None:
    prepared = worker.prepare({"path": str(chain_file)})
    assert set(prepared["dags"]) == {"chain"}
    assert {"pendulum", "studio.sdk.execution", "studio.store.xcom_reader"} <= set(sys.modules)
    assert "error" in worker.prepare({"path": str(chain_file.with_name("missing.py"))})
