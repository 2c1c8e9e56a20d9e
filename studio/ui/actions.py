"""Actions as data: one table (id, text, shortcut, icon, handler) from which menus and toolbar are built.

``handler`` names a method of the main window (dotted for its helpers: ``files.open_dialog``).
``needs_project`` actions are disabled while nothing is open. Adding a command is adding a row here
and the method it names; menus, the toolbar and (later) the command palette all read this table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QStyle, QToolBar


@dataclass(frozen=True)
class ActionSpec:
    """One command of the window."""

    id: str
    text: str
    shortcut: str | None
    handler: str  # a method of the main window taking no arguments: "reload", "files.open_dialog"
    menu: str
    icon: str | None = None  # a QStyle.StandardPixmap name
    tip: str = ""
    toolbar: bool = False
    needs_project: bool = False
    separator_before: bool = False
    role: QAction.MenuRole = QAction.MenuRole.NoRole


MENUS = ("&File", "&Run", "&Help")

ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        "open",
        "&Open…",
        "Ctrl+O",
        "files.open_dialog",
        "&File",
        "SP_DialogOpenButton",
        "Open a project (its dagstudio.toml), a DAG .json file or an Airflow .py file",
        toolbar=True,
    ),
    ActionSpec(
        "open_folder",
        "Open &Folder…",
        "Ctrl+Shift+O",
        "files.open_folder_dialog",
        "&File",
        "SP_DirOpenIcon",
        "Open a project folder or an Airflow dags folder",
    ),
    ActionSpec(
        "import_dag",
        "&Import Airflow DAG…",
        "Ctrl+I",
        "files.import_dialog",
        "&File",
        "SP_FileDialogNewFolder",
        "Read an Airflow .py file (without running it) into a project folder",
        toolbar=True,
        separator_before=True,
    ),
    ActionSpec(
        "export_code",
        "&Export Code…",
        "Ctrl+E",
        "files.export_dialog",
        "&File",
        "SP_DialogSaveButton",
        "Write the Airflow .py file of every DAG into a folder",
        toolbar=True,
        needs_project=True,
    ),
    ActionSpec(
        "reload",
        "&Reload",
        "Ctrl+R",
        "reload",
        "&File",
        "SP_BrowserReload",
        "Read the open project from disk again",
        toolbar=True,
        needs_project=True,
        separator_before=True,
    ),
    ActionSpec(
        "quit",
        "&Quit",
        "Ctrl+Q",
        "close",
        "&File",
        None,
        "Quit DAG Studio",
        separator_before=True,
        role=QAction.MenuRole.QuitRole,
    ),
    ActionSpec(
        "run_dag",
        "&Run DAG",
        "F5",
        "runs.start",
        "&Run",
        "SP_MediaPlay",
        "Run the selected DAG locally and show its task states",
        toolbar=True,
        needs_project=True,
        separator_before=True,
    ),
    ActionSpec(
        "stop_run",
        "&Stop Run",
        "Shift+F5",
        "runs.stop",
        "&Run",
        "SP_MediaStop",
        "Stop the run: running tasks are stopped and the run is recorded failed",
        toolbar=True,
        needs_project=True,
    ),
    ActionSpec(
        "toggle_scheduler",
        "S&cheduler",
        "Ctrl+F5",
        "scheduler.toggle",
        "&Run",
        "SP_BrowserReload",
        "Schedule the open project's DAGs while the window is open (as `dagstudio scheduler PATH`); "
        "uncheck to stop: running tasks may finish",
        toolbar=True,
        needs_project=True,
        separator_before=True,
    ),
    ActionSpec("about", "&About DAG Studio", None, "about", "&Help", None, role=QAction.MenuRole.AboutRole),
)


def resolve_handler(window: QMainWindow, name: str) -> Callable[[], object]:
    """``getattr`` along a dotted name: ``"files.open_dialog"`` → ``window.files.open_dialog``."""
    return reduce(getattr, name.split("."), window)  # type: ignore[arg-type, return-value]


def create_actions(window: QMainWindow, specs: tuple[ActionSpec, ...] = ACTIONS) -> dict[str, QAction]:
    """A QAction per spec, connected to the handler it names; keyed by id."""
    actions: dict[str, QAction] = {}
    style = window.style()
    for spec in specs:
        handler: Callable[[], object] = resolve_handler(window, spec.handler)
        action = QAction(spec.text, window)
        action.setObjectName(f"action_{spec.id}")
        if spec.shortcut:
            action.setShortcut(QKeySequence(spec.shortcut))
        if spec.icon:
            action.setIcon(style.standardIcon(getattr(QStyle.StandardPixmap, spec.icon)))
        tip = spec.tip or spec.text.replace("&", "").rstrip("…")
        if spec.shortcut:
            tip += f" ({QKeySequence(spec.shortcut).toString(QKeySequence.SequenceFormat.NativeText)})"
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.setMenuRole(spec.role)
        action.triggered.connect(lambda _checked=False, h=handler: h())
        window.addAction(action)
        actions[spec.id] = action
    return actions


def build_menus(window: QMainWindow, actions: dict[str, QAction], specs: tuple[ActionSpec, ...] = ACTIONS) -> None:
    """The menu bar (menus in ``MENUS`` order) and the main toolbar, from the table."""
    menus: dict[str, QMenu] = {title: window.menuBar().addMenu(title) for title in MENUS}
    toolbar = QToolBar("Main", window)
    toolbar.setObjectName("mainToolbar")
    toolbar.setMovable(False)
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    window.addToolBar(toolbar)
    for spec in specs:
        menu = menus[spec.menu]
        if spec.separator_before and not menu.isEmpty():
            menu.addSeparator()
        menu.addAction(actions[spec.id])
        if spec.toolbar:
            if spec.separator_before and toolbar.actions():
                toolbar.addSeparator()
            toolbar.addAction(actions[spec.id])


def update_enabled(actions: dict[str, QAction], has_project: bool, specs: tuple[ActionSpec, ...] = ACTIONS) -> None:
    for spec in specs:
        if spec.needs_project:
            actions[spec.id].setEnabled(has_project)
