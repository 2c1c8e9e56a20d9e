"""Run (F5) and Stop (Shift+F5) in the window (pytest-qt, offscreen): a real ``dagstudio run`` child process.

Each test uses a temporary run store (``DAGSTUDIO_HOME``) and checks that no process is left behind.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import psutil
import pytest
from PySide6.QtGui import QColor, QKeySequence

from studio import cli
from studio.core.model import Dag, Edge, Project, Task
from studio.core.serialization import write_project
from studio.core.values import CallableRef, DateTime
from studio.ui import run_process
from studio.ui.main_window import MainWindow
from studio.ui.run_process import parse_diagnostic, parse_progress
from studio.ui.run_view import RunView, format_duration
from studio.ui.states import STATE_COLOURS, contrast, state_colours

pytestmark = pytest.mark.gui

THREE = textwrap.dedent(
    """
    import pendulum
    from airflow.sdk import DAG, task

    with DAG("three", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None) as dag:
        @task
        def extract():
            return 1

        @task
        def boom(value):
            raise ValueError("boom")

        @task
        def load(value):
            return value

        value = extract()
        boom(value) >> load(value)
    """
)

SLOW = textwrap.dedent(
    """
    import pendulum
    from airflow.sdk import DAG, task
    from airflow.providers.standard.operators.bash import BashOperator

    with DAG("slow", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None) as dag:
        @task
        def quick():
            return 1

        sleepy = BashOperator(task_id="sleepy", bash_command="sleep 300")
        after = BashOperator(task_id="after", bash_command="echo after")
        quick() >> sleepy >> after
    """
)

RUN_TIMEOUT_MS = 60_000


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("DAGSTUDIO_HOME", str(folder))
    return folder


@pytest.fixture
def window(qtbot, home: Path) -> MainWindow:
    win = MainWindow(interactive=False)
    qtbot.addWidget(win)
    yield win
    win.runs.shutdown()


def open_dag(window: MainWindow, tmp_path: Path, name: str, code: str) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(code)
    assert window.open_path(path), window.document.problems
    return path


def states(window: MainWindow) -> dict[str, tuple[str, str]]:
    """task id → (state, try) as the table shows them."""
    return {row[0]: (row[1], row[2]) for row in window.task_panel.run_texts()}


def living(pids: set[int]) -> list[int]:
    return [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]


# --- pieces ---------------------------------------------------------------------------------------
def test_the_gui_reads_the_progress_lines_the_cli_prints() -> None:
    assert run_process.PROGRESS_PREFIX == cli.PROGRESS_PREFIX
    assert parse_progress(cli.progress_line("fan[12]", "up_for_retry", 2)) == ("fan[12]", "up_for_retry", 2)
    assert parse_progress("interrupted") is None
    assert parse_progress("task looks like a task line but is not") is None


def test_cli_error_lines_become_diagnostics() -> None:
    found = parse_diagnostic("error: /x/broken.py:3: RuntimeError: boom")
    assert (found.severity, found.file, found.line, found.message) == ("error", "/x/broken.py", 3, "RuntimeError: boom")
    plain = parse_diagnostic("error: --conf must be a JSON object")
    assert (plain.file, plain.message) == (None, "--conf must be a JSON object")
    assert parse_diagnostic("interrupted") is None


@pytest.mark.parametrize("state", sorted(STATE_COLOURS))
@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_state_colours_are_readable(state: str, dark: bool) -> None:
    fill, border, text = state_colours(state, dark)
    assert contrast(fill, text) >= 4.5
    background = QColor("#2b2b2b" if dark else "#ffffff")
    assert contrast(border, background) > contrast(fill, background) or contrast(border, fill) > 1.3
    assert state_colours(None) is None


def test_a_mapped_task_shows_one_row_and_durations_read_well() -> None:
    view = RunView("d")
    view.update("fan[0]", "success", 1, now=0.0)
    view.update("fan[1]", "running", 1, now=1.0)
    assert view.task_state("fan")[0] == "running" and view.task_state("fan")[3] == 2
    view.update("fan[1]", "failed", 1, now=2.5)
    assert view.task_state("fan")[:2] == ("failed", 1)
    assert view.counts(["fan", "other"]) == (1, 2)
    assert [format_duration(s) for s in (0.123, 12.34, 125, 7300, None)] == [
        "0.12 s",
        "12.3 s",
        "2 min 05 s",
        "2 h 01 min",
        "",
    ]


# --- the window -----------------------------------------------------------------------------------
def test_run_and_stop_are_in_the_run_menu_and_toolbar(window: MainWindow, tmp_path: Path) -> None:
    run, stop = window.actions_by_id["run_dag"], window.actions_by_id["stop_run"]
    assert run.shortcut() == QKeySequence("F5") and stop.shortcut() == QKeySequence("Shift+F5")
    assert not run.isEnabled() and not stop.isEnabled()  # nothing open
    menus = {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}
    assert {a.objectName() for a in menus["Run"].actions()} >= {"action_run_dag", "action_stop_run"}
    open_dag(window, tmp_path, "three", THREE)
    assert run.isEnabled() and not stop.isEnabled()
    assert window.task_panel.run_texts()[0] == ["extract", "", "", ""]  # no run yet: empty run columns


def test_run_shows_live_and_final_task_states(window: MainWindow, qtbot, tmp_path: Path, home: Path) -> None:
    open_dag(window, tmp_path, "three", THREE)
    seen: list[tuple[str, str, int]] = []
    window.runs.process.task_changed.connect(lambda *change: seen.append(change))
    window.actions_by_id["run_dag"].trigger()
    assert window.runs.running
    assert window.runs.status.text().startswith("Running three… ")
    assert not window.actions_by_id["run_dag"].isEnabled() and window.actions_by_id["stop_run"].isEnabled()
    qtbot.waitUntil(lambda: not window.runs.running, timeout=RUN_TIMEOUT_MS)

    assert ("extract", "running", 1) in seen and ("boom", "failed", 1) in seen  # live, before the end
    assert states(window) == {
        "extract": ("success", "1"),
        "boom": ("failed", "1"),
        "load": ("upstream_failed", ""),
    }
    rows = {row[0]: row for row in window.task_panel.run_texts()}
    assert rows["extract"][3].endswith(" s") and rows["load"][3] == ""
    assert window.runs.status.text() == "Run three failed · 1 failed, 1 upstream_failed, 1 success"
    assert window.runs.last_outcome.exit_code == 1 and window.document.problems == []
    assert window.actions_by_id["run_dag"].isEnabled() and not window.actions_by_id["stop_run"].isEnabled()
    assert any(home.rglob("*.db")) or any(home.iterdir())  # the run went to the temporary store

    shot = tmp_path / "after_run.png"
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    assert window.grab().save(str(shot), "PNG") and shot.stat().st_size > 10_000

    window.reload()  # the same PATH again: the run stays on screen
    assert states(window)["boom"] == ("failed", "1")
    other = tmp_path / "other"
    other.mkdir()
    open_dag(window, other, "three", THREE)  # another file with a DAG of the same name: no states of ours
    assert states(window)["boom"] == ("", "")


def test_stop_ends_the_run_failed_and_leaves_no_process(window: MainWindow, qtbot, tmp_path: Path) -> None:
    open_dag(window, tmp_path, "slow", SLOW)
    window.actions_by_id["run_dag"].trigger()
    qtbot.waitUntil(lambda: states(window)["sleepy"][0] == "running", timeout=RUN_TIMEOUT_MS)
    parent = psutil.Process(window.runs.process.process.processId())
    pids = {parent.pid}
    qtbot.waitUntil(lambda: any("sleep" in " ".join(c.cmdline()) for c in parent.children(recursive=True)))
    pids.update(c.pid for c in parent.children(recursive=True))
    assert len(pids) >= 3  # the CLI, its fork server, the worker, the sleep

    window.actions_by_id["stop_run"].trigger()
    assert window.runs.status.text() == "Stopping slow…"
    assert not window.actions_by_id["stop_run"].isEnabled()
    qtbot.waitUntil(lambda: not window.runs.running, timeout=RUN_TIMEOUT_MS)

    assert living(pids) == []
    outcome = window.runs.last_outcome
    assert outcome.stopped and outcome.exit_code not in (0, 2) and outcome.state == "failed"
    assert states(window)["quick"] == ("success", "1")
    assert states(window)["sleepy"][0] == "failed"
    assert states(window)["after"][0] in ("skipped", "upstream_failed", "no status")
    assert window.runs.status.text().startswith("Run slow failed (stopped) · ")
    assert window.document.problems == []  # a stop is not a problem of the DAG


def test_closing_the_window_stops_a_run(qtbot, tmp_path: Path, home: Path) -> None:
    window = MainWindow(interactive=False)
    qtbot.addWidget(window)
    open_dag(window, tmp_path, "slow", SLOW)
    assert window.runs.start()
    assert not window.runs.start()  # one run at a time
    qtbot.waitUntil(lambda: states(window)["sleepy"][0] == "running", timeout=RUN_TIMEOUT_MS)
    parent = psutil.Process(window.runs.process.process.processId())
    pids = {parent.pid} | {c.pid for c in parent.children(recursive=True)}
    window.close()
    assert not window.runs.running
    assert living(pids) == []


def test_a_dag_that_fails_to_load_at_run_time_goes_to_problems(window: MainWindow, qtbot, tmp_path: Path) -> None:
    path = open_dag(window, tmp_path, "late", THREE + "\nraise RuntimeError('boom at run time')\n")
    window.actions_by_id["run_dag"].trigger()
    qtbot.waitUntil(lambda: not window.runs.running, timeout=RUN_TIMEOUT_MS)
    assert window.runs.last_outcome.exit_code == 2
    problems = window.document.problems
    assert problems and problems[0].severity == "error" and "boom at run time" in problems[0].message
    assert problems[0].file is not None and Path(problems[0].file).name == path.name
    assert window.bottom_tabs.currentWidget() is window.problems_panel
    assert window.runs.status.text() == "Run of three could not start — see Problems"
    assert window.problems_panel.rows()[0][0] == "error"


def test_a_project_runs_its_exported_code(window: MainWindow, qtbot, tmp_path: Path) -> None:
    start = DateTime(dt.datetime(2024, 1, 1), "UTC")
    alpha = Dag(
        "alpha",
        args={"schedule": None, "start_date": start},
        tasks=[
            Task("extract", "PythonOperator", {"python_callable": CallableRef("extract")}),
            Task("transform", "BashOperator", {"bash_command": "echo transform"}),
            Task("load", "BashOperator", {"bash_command": "exit 3"}),
        ],
        edges=[Edge("extract", "transform"), Edge("transform", "load")],
        module_code="def extract():\n    return 1\n",
    )
    beta = Dag("beta", args={"schedule": None, "start_date": start}, tasks=[Task("only", "EmptyOperator", {})])
    folder = tmp_path / "demo"
    write_project(Project(name="demo", dags=[alpha, beta]), folder)
    assert window.open_path(folder), window.document.problems
    window.document.select_dag("alpha")
    window.actions_by_id["run_dag"].trigger()
    qtbot.waitUntil(lambda: not window.runs.running, timeout=RUN_TIMEOUT_MS)
    assert window.runs.last_outcome.exit_code == 1, window.runs.last_outcome.messages
    assert states(window) == {"extract": ("success", "1"), "transform": ("success", "1"), "load": ("failed", "1")}
    assert window.runs.status.text() == "Run alpha failed · 1 failed, 2 success"
    window.document.select_dag("beta")  # another DAG of the project: its own (empty) run columns
    assert states(window) == {"only": ("", "")}
