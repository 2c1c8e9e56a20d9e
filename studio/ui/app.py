"""Starting the GUI: ``run_gui`` is what ``dagstudio [gui] [PATH] [--view V] [--screenshot FILE.png]`` calls.

With ``screenshot`` the window is laid out offscreen-safe (not shown on a real screen), PATH is loaded
and rendered, and the window is grabbed to a PNG; the function returns 0 (2 when PATH or the PNG
file is bad input — the PNG still shows the Problems panel when PATH failed to load).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QMessageLogContext, Qt, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from studio import __version__
from studio.ui.main_window import APP_NAME, VIEWS, MainWindow
from studio.ui.resources import app_icon

SCREENSHOT_SIZE = (1280, 800)
# Said by the offscreen platform plugin for every top-level window; harmless, and noise for a user.
_QUIET = ("This plugin does not support propagateSizeHints()",)


def _qt_messages(kind: QtMsgType, _context: QMessageLogContext, message: str) -> None:
    if message not in _QUIET and kind != QtMsgType.QtDebugMsg:
        print(message, file=sys.stderr)


def application() -> QApplication:
    """The process's QApplication (created once, Fusion style so every platform looks the same)."""
    app = QApplication.instance()
    if app is None:
        qInstallMessageHandler(_qt_messages)
        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
        app = QApplication([sys.argv[0] if sys.argv else "dagstudio"])
        app.setStyle("Fusion")
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName("DAG Studio")
    app.setDesktopFileName("dagstudio")
    app.setWindowIcon(app_icon())
    return app


def save_screenshot(window: MainWindow, file: Path) -> str | None:
    """Render ``window`` and save it as PNG; an error message, or None when it was written."""
    app = application()
    window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    window.show()
    for _ in range(3):  # layout, then paint of everything the layout made visible
        app.processEvents()
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create {file.parent}: {exc.strerror or exc}"
    if not window.grab().save(str(file), "PNG"):
        return f"cannot write {file}"
    return None


def run_gui(path: Path | None, view: str | None = None, screenshot: Path | None = None) -> int:
    """Open the main window on ``path``; with ``screenshot`` save a PNG of it and return instead of running."""
    if view is not None and view not in VIEWS:
        print(f"error: unknown view {view!r}; expected one of {', '.join(VIEWS)}", file=sys.stderr)
        return 2
    app = application()
    window = MainWindow(interactive=screenshot is None)
    if view is not None:
        window.set_view(view)
    loaded = True
    if path is not None:
        loaded = window.open_path(Path(path))
    if screenshot is None:
        window.show()
        return app.exec()
    window.resize(*SCREENSHOT_SIZE)
    problem = save_screenshot(window, Path(screenshot))
    window.close()
    window.deleteLater()
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if not loaded:
        for diagnostic in window.document.problems:
            print(diagnostic, file=sys.stderr)
        return 2
    return 0
