"""The open document: what the window shows (a loaded project, the selected DAG, the code target, problems).

Panels take a ``Document`` in their constructor and listen to its signals; they never load files or
generate code themselves. Loading goes through ``studio.workspace.load_path`` (every PATH kind of the
CLI), validation through ``studio.workspace.validate``, code through ``studio.codegen.generator`` — the
same output as ``dagstudio export``. Bad input never raises out of here: it becomes diagnostics.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from studio.codegen.generator import generate_dag
from studio.core.diagnostics import Diagnostic, StudioError, error, has_errors
from studio.core.model import Dag, Project
from studio.workspace import Loaded, load_path, validate

TARGETS = ("airflow3", "airflow2")


def internal_error(exc: BaseException, file: str | None = None) -> Diagnostic:
    """A diagnostic for an unexpected exception (a bug): its type and message, the traceback on stderr."""
    traceback.print_exception(exc)
    return error(f"internal error: {type(exc).__name__}: {exc}", file)


class Document(QObject):
    """State shared by the panels of one main window.

    Signals: ``opened`` (a new project, or a failed attempt: then ``project`` is None and ``problems``
    says why), ``dag_selected(dag_id)`` (``""`` when none), ``target_changed(target)``,
    ``problems_changed`` (also emitted after ``opened``).
    """

    opened = Signal()
    dag_selected = Signal(str)
    target_changed = Signal(str)
    problems_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path: Path | None = None
        self.loaded: Loaded | None = None
        self.load_problems: list[Diagnostic] = []  # from loading and validating the project
        self.operation_problems: list[Diagnostic] = []  # from the last failed import or export
        self.current_dag_id: str | None = None
        self.target = "airflow3"
        self._code: dict[tuple[str, str], str | StudioError] = {}

    # --- queries -------------------------------------------------------------------------------------
    @property
    def project(self) -> Project | None:
        return self.loaded.project if self.loaded is not None else None

    @property
    def current_dag(self) -> Dag | None:
        project = self.project
        if project is None or self.current_dag_id is None:
            return None
        return project.dag(self.current_dag_id)

    @property
    def problems(self) -> list[Diagnostic]:
        return list(dict.fromkeys([*self.load_problems, *self.operation_problems]))

    def has_errors(self) -> bool:
        return has_errors(self.load_problems)

    def generated_code(self, dag: Dag | None = None) -> str:
        """The Airflow file ``dagstudio export`` writes for ``dag`` (default: the selected DAG).

        Raises ``StudioError`` when the DAG cannot be turned into code; results are cached per target.
        """
        dag = dag or self.current_dag
        if dag is None:
            raise StudioError(error("no DAG selected"))
        key = (dag.dag_id, self.target)
        if key not in self._code:
            try:
                self._code[key] = generate_dag(dag, self.target)
            except StudioError as exc:
                self._code[key] = exc
            except Exception as exc:  # a bug in the generator must not take the window down
                self._code[key] = StudioError(internal_error(exc))
        result = self._code[key]
        if isinstance(result, StudioError):
            raise result
        return result

    # --- changes -------------------------------------------------------------------------------------
    def open(self, path: Path) -> bool:
        """Load ``path`` (project folder, DAG .json, Airflow .py, dags folder); False when it failed."""
        self.path = Path(path)
        self._code.clear()
        self.operation_problems = []
        try:
            loaded = load_path(self.path)
        except StudioError as exc:
            return self._failed(exc.diagnostics)
        except OSError as exc:
            return self._failed([error(f"cannot read: {exc.strerror or exc}", str(path))])
        except Exception as exc:
            return self._failed([internal_error(exc, str(path))])
        self.loaded = loaded
        try:
            found = validate(loaded)  # the reading problems plus the model's checks
        except Exception as exc:
            found = [*loaded.diagnostics, internal_error(exc, str(path))]
        self.load_problems = found
        if loaded.project.target in TARGETS:
            self.target = loaded.project.target
        dags = loaded.project.dags
        self.current_dag_id = dags[0].dag_id if dags else None
        self.opened.emit()
        self.problems_changed.emit()
        self.target_changed.emit(self.target)
        self.dag_selected.emit(self.current_dag_id or "")
        return True

    def reload(self) -> bool:
        """Open the same path again, keeping the selected DAG when it still exists."""
        if self.path is None:
            return False
        keep = self.current_dag_id
        ok = self.open(self.path)
        if ok and keep is not None and self.project is not None and self.project.dag(keep) is not None:
            self.select_dag(keep)
        return ok

    def select_dag(self, dag_id: str | None) -> None:
        if dag_id == self.current_dag_id:
            return
        if dag_id is not None and (self.project is None or self.project.dag(dag_id) is None):
            return
        self.current_dag_id = dag_id
        self.dag_selected.emit(dag_id or "")

    def set_target(self, target: str) -> None:
        if target not in TARGETS:
            raise ValueError(f"unknown target {target!r}; expected one of {', '.join(TARGETS)}")
        if target != self.target:
            self.target = target
            self.target_changed.emit(target)

    def report(self, diagnostics: list[Diagnostic]) -> None:
        """Show the problems of a failed operation (import, export) next to the project's own."""
        self.operation_problems = list(diagnostics)
        self.problems_changed.emit()

    def _failed(self, diagnostics: list[Diagnostic]) -> bool:
        self.loaded = None
        self.current_dag_id = None
        self.load_problems = list(diagnostics) or [error("could not open", str(self.path))]
        self.opened.emit()
        self.problems_changed.emit()
        self.dag_selected.emit("")
        return False
