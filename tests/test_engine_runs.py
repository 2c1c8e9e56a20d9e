"""Several DAG runs at once in one ``LocalRun`` (what the scheduler does): ``begin`` + ``step``.

Real fork server, real store. Tasks write marker files so the test can see that the runs overlapped.
"""

from __future__ import annotations

import datetime as dt
import textwrap
import time
from pathlib import Path

import psutil

from studio.runtime.engine import LocalRun
from studio.store import Store

DAGS = textwrap.dedent(
    """
    import time
    from datetime import datetime
    from pathlib import Path

    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG

    OUT = Path(__file__).parent / "out"


    def work(name, ds, run_id):
        OUT.mkdir(exist_ok=True)
        (OUT / f"{name}-{ds}.start").write_text(str(time.time()))
        time.sleep(0.4)
        (OUT / f"{name}-{ds}.end").write_text(str(time.time()))
        return run_id


    def fail():
        raise ValueError("boom")


    with DAG("alpha", schedule="@daily", start_date=datetime(2024, 1, 1)):
        PythonOperator(task_id="a1", python_callable=work, op_args=["alpha"]) >> PythonOperator(
            task_id="a2", python_callable=work, op_args=["alpha2"]
        )

    with DAG("beta", schedule=None, start_date=datetime(2024, 1, 1)):
        PythonOperator(task_id="b1", python_callable=work, op_args=["beta"]) >> PythonOperator(
            task_id="b2", python_callable=fail
        )
    """
)


def _day(day: int) -> dt.datetime:
    return dt.datetime(2024, 1, day, tzinfo=dt.UTC)


def test_runs_of_two_dags_and_two_dates_progress_together(tmp_path: Path) -> None:
    path = tmp_path / "dags.py"
    path.write_text(DAGS)
    home = tmp_path / "home"
    seen: dict[str, list[str]] = {}
    with LocalRun(path, home) as local:
        runs = [
            local.begin("alpha", logical_date=_day(1), run_type="scheduled", data_interval=(_day(1), _day(2)),
                        on_change=lambda c: seen.setdefault("alpha1", []).append(f"{c.task_id}:{c.new}")),
            local.begin("alpha", logical_date=_day(2), run_type="scheduled", data_interval=(_day(2), _day(3))),
            local.begin("beta", logical_date=_day(1)),
        ]  # fmt: skip
        ended = []
        deadline = time.monotonic() + 60
        while local.runs:
            assert time.monotonic() < deadline
            ended += local.step()
        assert {id(r) for r in ended} == {id(r) for r in runs}
        results = [r.result() for r in runs]
    assert [r["state"] for r in results] == ["success", "success", "failed"]
    assert results[0]["run_id"] == "scheduled__2024-01-01T00:00:00+00:00"
    assert results[2]["tasks"]["b2"]["state"] == "failed"
    # the three first tasks ran at the same time (each sleeps 0.4 s)
    out = tmp_path / "out"
    starts = [
        float((out / f"{n}.start").read_text()) for n in ("alpha-2024-01-01", "alpha-2024-01-02", "beta-2024-01-01")
    ]
    ends = [float((out / f"{n}.end").read_text()) for n in ("alpha-2024-01-01", "alpha-2024-01-02", "beta-2024-01-01")]
    assert max(starts) < min(ends)
    assert seen["alpha1"][-1] == "a2:success" and "a1:running" in seen["alpha1"]
    with Store.open(home) as store:
        stored = store.run("alpha", "scheduled__2024-01-02T00:00:00+00:00")
        assert stored is not None and stored["state"] == "success"
        assert {t: v["state"] for t, v in stored["tasks"].items()} == {"a1": "success", "a2": "success"}
    assert psutil.Process().children(recursive=True) == []


def test_step_with_nothing_to_do_returns_after_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / "dags.py"
    path.write_text(DAGS)
    with LocalRun(path, tmp_path / "home") as local:
        started = time.monotonic()
        assert local.step(0.2) == []
        assert 0.15 < time.monotonic() - started < 5
