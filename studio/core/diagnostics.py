"""Diagnostics: errors and warnings that name the file, the line and (for project files) the JSON path.

Every layer reports bad input the same way; the CLI prints ``error: FILE:LINE: message`` and the GUI
lists the same objects in its Problems panel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a file."""

    severity: Severity
    message: str
    file: str | None = None
    line: int | None = None
    json_path: str | None = None  # "$.tasks[2].args.retries" for project files
    dag_id: str | None = None
    task_id: str | None = None

    def location(self) -> str:
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def __str__(self) -> str:
        where = self.location()
        path = f"{self.json_path}: " if self.json_path else ""
        return f"{self.severity}: {where + ': ' if where else ''}{path}{self.message}"


class StudioError(Exception):
    """Bad input that stops an operation; carries one or more diagnostics (at least one error)."""

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic) -> None:
        self.diagnostics = [diagnostics] if isinstance(diagnostics, Diagnostic) else list(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


def error(message: str, file: str | None = None, line: int | None = None, **kw: str | None) -> Diagnostic:
    return Diagnostic("error", message, file, line, **kw)  # type: ignore[arg-type]


def warning(message: str, file: str | None = None, line: int | None = None, **kw: str | None) -> Diagnostic:
    return Diagnostic("warning", message, file, line, **kw)  # type: ignore[arg-type]


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)
