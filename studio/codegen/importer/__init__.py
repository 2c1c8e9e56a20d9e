"""The AST importer: an Airflow DAG file (``.py``) read into the model without ever running it.

``import_source(source, file)`` parses the file with ``ast`` and interprets it abstractly (see
``interpreter.py``): DAGs, TaskGroups, operator and TaskFlow tasks, dependencies, mapping and
arguments become model objects following docs/ARCHITECTURE.md's model <-> code conventions; the rest
of the file becomes the DAG's module code. Whatever cannot be represented is kept as code and reported
as a warning naming ``file:line``; a syntax error raises ``StudioError`` naming the line.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from studio.codegen.importer.flavour import apply_airflow2_defaults, is_airflow2_file
from studio.codegen.importer.interpreter import Interpreter
from studio.core.diagnostics import Diagnostic, StudioError, error, warning
from studio.core.model import Dag

__all__ = ["ImportResult", "import_file", "import_source"]


@dataclass
class ImportResult:
    """The DAGs of one file, and the warnings (each naming file and line) met while reading it."""

    dags: list[Dag] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def import_source(source: str, file: str) -> ImportResult:
    """Read Airflow DAG source into model DAGs; never imports or executes it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(source, filename=file)
    except SyntaxError as exc:
        raise StudioError(error(f"syntax error: {exc.msg}", file, exc.lineno)) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise StudioError(error(f"cannot parse: {exc}", file, None)) from None
    interp = Interpreter(source, file, tree)
    try:
        interp.run()
        dags = interp.result()
    except RecursionError:
        raise StudioError(error("the file is nested too deeply to read", file, None)) from None
    diagnostics = interp.diagnostics
    if is_airflow2_file(tree):
        for dag in dags:
            diagnostics.extend(apply_airflow2_defaults(dag, file))
    if not dags:
        diagnostics.append(warning("no DAG found in this file", file, None))
    return ImportResult(dags, diagnostics)


def import_file(path: Path, display: str | None = None) -> ImportResult:
    """``import_source`` of a file; ``display`` is the name messages use (default: the path)."""
    name = display or str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StudioError(error(f"cannot read: {exc}", name)) from None
    return import_source(text, name)
