"""Run commands of the main window: Run DAG (F5) and Stop run (Shift+F5).

``RunCommands`` belongs to one ``MainWindow``. ``start`` runs the selected DAG of the open PATH in a
child process (``RunProcess``: the CLI's ``dagstudio run --json``; for a project the CLI runs the
exported code), feeds its progress into a ``RunView`` the task table shows live, and keeps a
status-bar line current: ``Running etl… 3/8 done`` → ``Run etl success · 8 success``. A run that
could not start (bad DAG, exit code 2) puts its diagnostics in the Problems panel and a non-blocking
message; the window never blocks on a run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter, QPen, QPixmap
from PySide6.QtWidgets import QLabel

from studio.ui.run_process import RunOutcome, RunProcess
from studio.ui.run_view import RunView
from studio.ui.states import is_dark, state_colours

if TYPE_CHECKING:
    from studio.ui.main_window import MainWindow


class RunCommands:
    """Run and Stop for one main window (actions name them ``runs.start`` / ``runs.stop``)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.document = window.document
        self.process = RunProcess(window)
        home = os.environ.get("DAGSTUDIO_HOME")
        self.process.home = Path(home) if home else None
        self.process.task_changed.connect(self._on_task_changed)
        self.process.finished.connect(self._on_finished)
        self.view: RunView | None = None
        self.path: Path | None = None  # the PATH of the latest run
        self.last_outcome: RunOutcome | None = None
        self.status = QLabel()
        self.status.setObjectName("runStatus")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setContentsMargins(0, 0, 6, 0)
        self.status_dot = QLabel()
        self.status_dot.setObjectName("runStatusDot")
        self.status_dot.setContentsMargins(6, 0, 0, 0)
        self.status_dot.setVisible(False)

    @property
    def running(self) -> bool:
        return self.process.running

    # --- commands ------------------------------------------------------------------------------------
    def start(self) -> bool:
        """Run the selected DAG; False (with a status message) when there is nothing to run or a run goes on."""
        dag = self.document.current_dag
        path = self.document.path
        if self.running:
            self.window.statusBar().showMessage("A run is already going; Stop it first (Shift+F5)", 5000)
            return False
        if dag is None or path is None:
            self.window.statusBar().showMessage("Open a project and select a DAG to run", 5000)
            return False
        self.view, self.path = RunView(dag.dag_id), path
        self.window.task_panel.show_run(self.view)
        self.last_outcome = None
        self.process.start(path, dag.dag_id)
        self._show_status()
        self.update_actions()
        return True

    def stop(self) -> None:
        """Stop the run: running tasks are stopped and the run is recorded failed."""
        if not self.running:
            return
        self.process.stop()
        self.set_status(f"Stopping {self.process.dag_id}…")
        self.update_actions()

    def shutdown(self) -> None:
        """The window closes: stop a run and wait for its end, so no process outlives the window."""
        self.process.shutdown()

    def update_actions(self) -> None:
        actions = self.window.actions_by_id
        runnable = self.document.current_dag is not None and self.document.path is not None
        actions["run_dag"].setEnabled(runnable and not self.running)
        actions["stop_run"].setEnabled(self.running and not self.process.stopping)

    # --- progress ------------------------------------------------------------------------------------
    def _task_ids(self) -> list[str]:
        project = self.document.project
        dag = project.dag(self.view.dag_id) if project is not None and self.view is not None else None
        return dag.task_ids if dag is not None else sorted({k.split("[", 1)[0] for k in self._instances()})

    def _instances(self) -> list[str]:
        return list(self.view.instances) if self.view is not None else []

    def _on_task_changed(self, key: str, state: str, try_number: int) -> None:
        if self.view is None:
            return
        self.view.update(key, state, try_number)
        if self._shown() and self.document.current_dag_id == self.view.dag_id:
            self.window.task_panel.refresh_run()
        self._show_status()

    def _on_finished(self, outcome: RunOutcome) -> None:
        self.last_outcome = outcome
        view = self.view or RunView(outcome.dag_id)
        view.finish(outcome.result, outcome.state)
        if self._shown():
            self.window.task_panel.show_run(view)
        self._show_status()
        self.update_actions()
        problems = outcome.diagnostics()
        if problems:
            self.document.report(problems)
            self.window.show_problems(f"Could not run {outcome.dag_id}", problems)

    def _shown(self) -> bool:
        """Whether the open PATH is the one the run is of (another project may have been opened since)."""
        return self.path is not None and self.document.path == self.path

    def on_opened(self) -> None:
        """A project was opened: the runs shown belong to the previous one unless it is the same PATH."""
        if not self._shown():
            self.window.task_panel.runs.clear()
            self.window.task_panel.refresh_run()
        self.update_actions()

    def _show_status(self) -> None:
        view = self.view
        if view is None:
            return
        if view.state == "running":
            done, total = view.counts(self._task_ids())
            self.set_status(f"Running {view.dag_id}… {done}/{total} done", "running")
        elif view.state == "error":
            self.set_status(f"Run of {view.dag_id} could not start — see Problems", "failed")
        else:
            stopped = " (stopped)" if self.last_outcome is not None and self.last_outcome.stopped else ""
            summary = view.summary(self._task_ids())
            self.set_status(f"Run {view.dag_id} {view.state}{stopped} · {summary}", view.state)

    def set_status(self, text: str, state: str | None = None) -> None:
        """The run line of the status bar, after a dot in the run state's colour (none for no state)."""
        self.status.setText(text)
        self.status.setToolTip(text)
        colours = state_colours(state, is_dark(self.window.palette()))
        self.status_dot.setVisible(colours is not None)
        if colours is None:
            return
        fill, border, _text = colours
        ratio = self.window.devicePixelRatioF()
        size = 12
        pixmap = QPixmap(round(size * ratio), round(size * ratio))
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(border, 1.2))
        painter.setBrush(fill)
        painter.drawEllipse(QRectF(1, 1, size - 2, size - 2))
        painter.end()
        self.status_dot.setPixmap(pixmap)
        self.status_dot.setToolTip(state or "")
