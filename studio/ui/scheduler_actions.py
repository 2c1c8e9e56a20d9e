"""The Scheduler command of the main window: schedule the open project's DAGs while the window is open.

``SchedulerCommands.toggle`` (Run ▸ Scheduler, checkable) starts ``dagstudio scheduler PATH`` for the open
PATH in a child process (``SchedulerProcess``) or stops it gracefully. A status-bar label says what it is
doing — ``Scheduler ● etl_hourly · 2 runs started · last: etl_hourly_orders success`` — with the last
log message as tooltip; when the scheduler ends by itself (another scheduler already owns the home, a bad
PATH) the reason goes to the status bar and the Problems panel. Closing the window stops it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QLabel

from studio.ui.run_process import parse_diagnostic
from studio.ui.scheduler_process import SchedulerEvent, SchedulerProcess

if TYPE_CHECKING:
    from studio.ui.main_window import MainWindow


class SchedulerCommands:
    """The scheduler toggle of one main window (the action names ``scheduler.toggle``)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.process = SchedulerProcess(window)
        self.process.home = window.runs.process.home
        self.process.line.connect(self._on_line)
        self.process.event.connect(self._on_event)
        self.process.ended.connect(self._on_ended)
        self.started_runs = 0
        self.last_event: SchedulerEvent | None = None
        self.status = QLabel()
        self.status.setObjectName("schedulerStatus")
        self.status.setContentsMargins(6, 0, 6, 0)
        self.status.setVisible(False)

    @property
    def running(self) -> bool:
        return self.process.running

    def toggle(self) -> None:
        """Start the scheduler for the open PATH, or stop the one that runs."""
        if self.running:
            self.process.stop()
            self._show("stopping (running tasks may finish)…")
        else:
            path = self.window.document.path
            if path is None:
                self.window.statusBar().showMessage("Open a project to schedule its DAGs", 5000)
            else:
                self.started_runs, self.last_event = 0, None
                self.process.start(path)
                self._show("starting…")
        self.update_actions()

    def shutdown(self) -> None:
        self.process.shutdown()

    def update_actions(self) -> None:
        action = self.window.actions_by_id["toggle_scheduler"]
        action.setCheckable(True)
        action.setChecked(self.running)
        action.setEnabled(self.running or self.window.document.path is not None)

    # --- the child's news ------------------------------------------------------------------------------
    def _on_line(self, message: str) -> None:
        self.status.setToolTip(message)
        if message.startswith("loaded ") or message.startswith("scheduler started"):
            self._show("on")

    def _on_event(self, event: SchedulerEvent) -> None:
        self.last_event = event
        if event.state == "started":
            self.started_runs += 1
        self._show("on")

    def _on_ended(self, exit_code: int, last_message: str) -> None:
        self.status.setVisible(False)
        self.update_actions()
        if exit_code not in (0, 15) and last_message:  # 15: our own SIGTERM ended it
            self.window.statusBar().showMessage(f"Scheduler stopped: {last_message}", 15000)
            problem = parse_diagnostic(last_message)
            if problem is not None:
                self.window.show_problems("The scheduler stopped", [problem])

    def _show(self, what: str) -> None:
        name = self.process.path.name if self.process.path is not None else ""
        parts = [f"Scheduler ● {name}", what if what != "on" else f"{self.started_runs} runs started"]
        if what == "on" and self.last_event is not None:
            parts.append(f"last: {self.last_event.dag_id} {self.last_event.state}")
        self.status.setText(" · ".join(parts))
        self.status.setVisible(True)
