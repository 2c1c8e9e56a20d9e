"""The main window: Project panel | task table over the Code and Problems tabs, menus and a status bar.

Layout (until the canvas arrives in a later issue, the task table stands in for it)::

    ┌ File  Run  Help ────────────────────────────────────────┐
    │ Open │ Import │ Export │ Reload │ Run DAG  Stop Run      │
    ├──────────────┬──────────────────────────────────────────┤
    │ Project      │ DAG title, schedule · start · size       │
    │  ▾ name      │ task table (id, state, try, duration,    │
    │              │   operator, rule, upstream)              │
    │    dag  @daily 7                                        │
    │              ├──────────────────────────────────────────┤
    │              │ [Code | Problems]                        │
    ├──────────────┴──────────────────────────────────────────┤
    │ status: run line (Running etl… 3/8 done) · project path  │
    └─────────────────────────────────────────────────────────┘

Bad input never crashes the window: it shows in the Problems panel and, when a user started the
operation interactively, in a dialog as well.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QSplitter, QTabWidget, QWidget

from studio import __version__
from studio.core.diagnostics import Diagnostic
from studio.ui.actions import build_menus, create_actions, update_enabled
from studio.ui.document import Document
from studio.ui.file_actions import FileCommands
from studio.ui.panels.code import CodePanel
from studio.ui.panels.problems import ProblemsPanel
from studio.ui.panels.project import KIND_TEXT, ProjectPanel
from studio.ui.panels.tasks import TaskTablePanel
from studio.ui.resources import app_icon
from studio.ui.run_actions import RunCommands
from studio.ui.scheduler_actions import SchedulerCommands

APP_NAME = "DAG Studio"
VIEWS = ("design", "graph", "grid", "gantt", "logs")
AVAILABLE_VIEWS = ("design", "graph")  # both show the task table until the canvas exists


class MainWindow(QMainWindow):
    """The DAG Studio window. ``interactive=False`` (screenshots, scripts) suppresses dialogs."""

    def __init__(self, interactive: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.interactive = interactive
        self.last_dialog: QMessageBox | None = None
        self.document = Document(self)
        self.files = FileCommands(self)
        self.runs = RunCommands(self)
        self.scheduler = SchedulerCommands(self)
        self.setObjectName("mainWindow")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)

        self.project_panel = ProjectPanel(self.document)
        self.task_panel = TaskTablePanel(self.document)
        self.code_panel = CodePanel(self.document)
        self.problems_panel = ProblemsPanel(self.document)
        self.bottom_tabs = QTabWidget()
        self.bottom_tabs.setObjectName("bottomTabs")
        self.bottom_tabs.setDocumentMode(True)
        self.bottom_tabs.addTab(self.code_panel, "Code")
        self.bottom_tabs.addTab(self.problems_panel, "Problems")
        self.problems_panel.count_changed.connect(self._on_problem_count)

        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.task_panel)
        right.addWidget(self.bottom_tabs)
        right.setStretchFactor(0, 2)
        right.setStretchFactor(1, 3)
        right.setSizes([300, 450])
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(self.project_panel)
        main.addWidget(right)
        main.setStretchFactor(1, 1)
        main.setSizes([360, 920])
        self.setCentralWidget(main)

        self.actions_by_id = create_actions(self)
        build_menus(self, self.actions_by_id)
        self.path_label = QLabel()
        self.path_label.setObjectName("statusPath")
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.statusBar().addPermanentWidget(self.runs.status_dot)
        self.statusBar().addPermanentWidget(self.runs.status)
        self.statusBar().addPermanentWidget(self.scheduler.status)
        self.statusBar().addPermanentWidget(self.path_label, 1)

        self.document.opened.connect(self._on_opened)
        self.document.dag_selected.connect(lambda _dag_id: self.runs.update_actions())
        self._on_opened()
        self.problems_panel.refresh()
        self.resize(1280, 800)

    # --- opening -------------------------------------------------------------------------------------
    def open_path(self, path: Path) -> bool:
        """Open a project folder, DAG .json, Airflow .py or dags folder; False (and a dialog) on bad input."""
        ok = self.document.open(Path(path))
        if not ok:
            self.show_problems(f"Could not open {path}", self.document.problems)
        return ok

    def reload(self) -> None:
        if self.document.path is not None and not self.document.reload():
            self.show_problems(f"Could not reload {self.document.path}", self.document.problems)

    def set_view(self, view: str) -> None:
        """Choose the view of ``dagstudio --view``; views of later issues fall back to the task table."""
        if view not in VIEWS:
            raise ValueError(f"unknown view {view!r}; expected one of {', '.join(VIEWS)}")
        if view not in AVAILABLE_VIEWS:
            self.statusBar().showMessage(f"The {view} view is not available yet; showing the task table", 10000)

    # --- feedback ------------------------------------------------------------------------------------
    def show_problems(self, title: str, diagnostics: list[Diagnostic]) -> None:
        """Bring the Problems tab forward and, when interactive, explain in a (non-blocking) dialog."""
        self.bottom_tabs.setCurrentWidget(self.problems_panel)
        if not self.interactive:
            return
        box = QMessageBox(QMessageBox.Icon.Critical, APP_NAME, title, QMessageBox.StandardButton.Ok, self)
        shown = [str(d) for d in diagnostics[:8]]
        if len(diagnostics) > len(shown):
            shown.append(f"… and {len(diagnostics) - len(shown)} more in the Problems panel")
        box.setInformativeText("\n".join(shown))
        box.setDetailedText("\n".join(str(d) for d in diagnostics))
        box.setWindowModality(Qt.WindowModality.WindowModal)
        self.last_dialog = box
        box.open()

    def about(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle(f"About {APP_NAME}")
        box.setIconPixmap(app_icon().pixmap(64, 64))
        box.setText(f"<b>{APP_NAME}</b> {__version__}")
        box.setInformativeText(
            "Design Apache Airflow DAGs as projects, generate clean Airflow 3 or Airflow 2 code from them, "
            "and import existing DAG files without running them.\n\nLicensed under the Apache License 2.0."
        )
        self.last_dialog = box
        if self.interactive:
            box.open()

    def _on_problem_count(self, errors: int, warnings: int) -> None:
        parts = []
        if errors:
            parts.append(f"{errors} error" + ("s" if errors != 1 else ""))
        if warnings:
            parts.append(f"{warnings} warning" + ("s" if warnings != 1 else ""))
        index = self.bottom_tabs.indexOf(self.problems_panel)
        self.bottom_tabs.setTabText(index, "Problems" + (f" ({', '.join(parts)})" if parts else ""))

    def _on_opened(self) -> None:
        loaded = self.document.loaded
        update_enabled(self.actions_by_id, loaded is not None)
        self.actions_by_id["reload"].setEnabled(self.document.path is not None)
        self.runs.on_opened()
        self.scheduler.update_actions()
        if loaded is not None:
            self.setWindowTitle(f"{loaded.project.name} — {APP_NAME}")
            kind = KIND_TEXT.get(loaded.kind, loaded.kind)
            self.path_label.setText(f"{kind.capitalize()}: {Path(loaded.root).resolve()}")
        elif self.document.path is not None:
            self.setWindowTitle(APP_NAME)
            self.path_label.setText(f"Could not open {self.document.path}")
        else:
            self.setWindowTitle(APP_NAME)
            self.path_label.setText("No project open")
        if loaded is not None and not self.document.has_errors():
            self.bottom_tabs.setCurrentWidget(self.code_panel)
        elif self.document.problems:
            self.bottom_tabs.setCurrentWidget(self.problems_panel)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.runs.shutdown()  # a running DAG is stopped: no process outlives the window
        self.scheduler.shutdown()
        super().closeEvent(event)

    # --- drag and drop of files and folders ----------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        local = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if local:
            event.acceptProposedAction()
            self.open_path(Path(local[0]))
