"""File commands of the main window: Open, Open Folder, Import Airflow DAG, Export Code.

``FileCommands`` belongs to one ``MainWindow``. Each ``*_dialog`` method asks for paths with the
standard file dialogs and hands them to a method that does the work without any dialog
(``import_into``, ``export_to``, and the window's own ``open_path``) — those are what tests and
scripts call. Work goes through the workspace and codegen layers; failures become diagnostics in the
Problems panel plus a dialog, and nothing is half-written (those layers write atomically).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog

from studio.codegen.export import export_project
from studio.core.diagnostics import Diagnostic, StudioError, error
from studio.core.serialization import PROJECT_FILE
from studio.ui.document import Document, internal_error
from studio.workspace import import_to_project

if TYPE_CHECKING:
    from studio.ui.main_window import MainWindow

OPEN_FILTERS = ";;".join(
    (
        f"Projects and DAG files ({PROJECT_FILE} *.json *.py)",
        f"DAG Studio project ({PROJECT_FILE})",
        "DAG Studio DAG (*.json)",
        "Airflow DAG file (*.py)",
        "All files (*)",
    )
)


class FileCommands:
    """Open, Import and Export for one main window (actions name them ``files.<method>``)."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.document: Document = window.document

    def _start_dir(self) -> str:
        path = self.document.path
        if path is None:
            return str(Path.cwd())
        return str(path if path.is_dir() else path.parent)

    # --- open ----------------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        """A project is opened by choosing its dagstudio.toml; .json and .py files open as they are."""
        file, _ = QFileDialog.getOpenFileName(self.window, "Open", self._start_dir(), OPEN_FILTERS)
        if file:
            path = Path(file)
            self.window.open_path(path.parent if path.name == PROJECT_FILE else path)

    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self.window, "Open a project folder or an Airflow dags folder", self._start_dir()
        )
        if folder:
            self.window.open_path(Path(folder))

    # --- import --------------------------------------------------------------------------------------
    def import_dialog(self) -> None:
        file, _ = QFileDialog.getOpenFileName(
            self.window, "Import Airflow DAG", self._start_dir(), "Airflow DAG file (*.py);;All files (*)"
        )
        if not file:
            return
        folder = QFileDialog.getExistingDirectory(
            self.window, "Project folder to import into (new or existing)", str(Path(file).parent)
        )
        if folder:
            self.import_into(Path(file), Path(folder))

    def import_into(self, py_file: Path, project_dir: Path) -> bool:
        """Import ``py_file`` into the project at ``project_dir`` (created or updated), then open it."""
        try:
            result = import_to_project(py_file, project_dir)
        except StudioError as exc:
            return self._failed(f"Could not import {py_file}", exc.diagnostics)
        except OSError as exc:
            return self._failed(f"Could not import {py_file}", [error(f"cannot write: {exc}", str(project_dir))])
        except Exception as exc:
            return self._failed(f"Could not import {py_file}", [internal_error(exc, str(py_file))])
        if not self.window.open_path(project_dir):
            return False
        if result.diagnostics:  # the importer's warnings (what it kept as code, and why)
            self.document.report(result.diagnostics)
        self.window.statusBar().showMessage(f"Imported {py_file.name} into {project_dir}", 10000)
        return True

    # --- export --------------------------------------------------------------------------------------
    def export_dialog(self) -> None:
        if self.document.project is None:
            return
        folder = QFileDialog.getExistingDirectory(self.window, "Export Airflow code to", self._start_dir())
        if folder:
            self.export_to(Path(folder))

    def export_to(self, out_dir: Path) -> list[Path] | None:
        """Write ``<dag_id>.py`` for every DAG (the document's target); None when nothing was written."""
        project = self.document.project
        if project is None:
            return None
        errors = [d for d in self.document.load_problems if d.severity == "error"]
        if errors:
            count = f"{len(errors)} error" + ("s" if len(errors) != 1 else "")
            self.window.show_problems(f"Fix {count} before exporting; nothing was written.", errors)
            return None
        try:
            written = export_project(project, out_dir, self.document.target)
        except StudioError as exc:
            self._failed(f"Could not export to {out_dir}", exc.diagnostics)
            return None
        except OSError as exc:
            self._failed(f"Could not export to {out_dir}", [error(f"cannot write: {exc}", str(out_dir))])
            return None
        except Exception as exc:
            self._failed(f"Could not export to {out_dir}", [internal_error(exc, str(out_dir))])
            return None
        self.document.report([])
        count = f"{len(written)} file" + ("s" if len(written) != 1 else "")
        self.window.statusBar().showMessage(f"Exported {count} ({self.document.target}) to {out_dir}", 10000)
        return written

    def _failed(self, title: str, diagnostics: list[Diagnostic]) -> bool:
        self.document.report(diagnostics)
        self.window.show_problems(title, diagnostics)
        return False
