"""Run ▸ Scheduler in the window (pytest-qt, offscreen): a real ``dagstudio scheduler`` child process.

The window only starts/stops it and shows what it reports; the runs are in the store. No process is left.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import psutil
import pytest

from studio.store import Store
from studio.ui.main_window import MainWindow
from studio.ui.scheduler_process import SchedulerEvent, parse_event

pytestmark = pytest.mark.gui

EVERY_SECOND = textwrap.dedent(
    """
    import datetime as dt

    import pendulum
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG

    with DAG("tick", schedule=dt.timedelta(seconds=1), start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
             catchup=False):
        BashOperator(task_id="hello", bash_command="echo {{ run_id }}")
    """
)


@pytest.fixture
def window(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    monkeypatch.setenv("DAGSTUDIO_HOME", str(tmp_path / "home"))
    win = MainWindow(interactive=False)
    qtbot.addWidget(win)
    yield win
    win.scheduler.shutdown()
    win.runs.shutdown()


def test_scheduler_log_lines_become_events() -> None:
    assert parse_event("etl: run scheduled__2024-01-01T00:00:00+00:00 started") == SchedulerEvent(
        "etl", "scheduled__2024-01-01T00:00:00+00:00", "started"
    )
    assert parse_event("etl: run scheduled__x success").state == "success"
    assert parse_event("loaded etl from etl.py (schedule @daily, active)") is None


def test_the_scheduler_toggle_schedules_the_open_file_and_stops_cleanly(
    window: MainWindow, qtbot, tmp_path: Path
) -> None:
    path = tmp_path / "tick.py"
    path.write_text(EVERY_SECOND)
    assert window.open_path(path)
    action = window.actions_by_id["toggle_scheduler"]
    assert action.isEnabled() and not action.isChecked()
    events: list[SchedulerEvent] = []
    window.scheduler.process.event.connect(events.append)
    action.trigger()
    assert action.isChecked() and window.scheduler.running
    qtbot.waitUntil(lambda: sum(e.state == "success" for e in events) >= 2, timeout=60_000)
    assert window.scheduler.status.isVisibleTo(window) and "Scheduler ● tick.py" in window.scheduler.status.text()
    pid = window.scheduler.process.process.processId()
    with qtbot.waitSignal(window.scheduler.process.ended, timeout=60_000):
        action.trigger()  # uncheck: graceful stop
    assert not window.scheduler.running and not action.isChecked()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    with Store.open(tmp_path / "home") as store:
        runs = store.runs("tick")
    finished = {e.run_id for e in events if e.state == "success"}
    assert finished <= {r["run_id"] for r in runs if r["state"] == "success"}
    assert all(r["run_id"].startswith("scheduled__") for r in runs)
    assert psutil.Process().children(recursive=True) == []


def test_a_second_scheduler_on_the_same_home_reports_why_it_stopped(window: MainWindow, qtbot, tmp_path: Path) -> None:
    from studio.store.lock import HomeLock

    path = tmp_path / "tick.py"
    path.write_text(EVERY_SECOND)
    assert window.open_path(path)
    with HomeLock(tmp_path / "home"), qtbot.waitSignal(window.scheduler.process.ended, timeout=60_000) as ended:
        window.actions_by_id["toggle_scheduler"].trigger()  # another scheduler (the lock above) owns the home
    exit_code, message = ended.args
    assert exit_code == 2 and "already schedules the runs of" in message
    assert "Scheduler stopped" in window.statusBar().currentMessage()
    assert not window.actions_by_id["toggle_scheduler"].isChecked()
