"""Exporting a project: one generated Airflow file ``<dag_id>.py`` per DAG, written atomically.

Every file is generated before the first one is written, so a DAG that cannot be generated leaves the
output folder exactly as it was. Each write is atomic (temporary file + rename): an Airflow scheduler
reading the folder sees the old file or the new one, never half of it (if the disk fails midway, the
files written before stay new and the others old). Validation is the caller's job
(``studio.workspace``); export only refuses what it cannot write at all.
"""

from __future__ import annotations

from pathlib import Path

from studio.codegen.generator import TARGETS, generate_dag
from studio.core.diagnostics import Diagnostic, StudioError, error
from studio.core.model import Dag, Project
from studio.core.serialization import atomic_write

__all__ = ["export_project", "file_name"]


def file_name(dag: Dag) -> str:
    """``<dag_id>.py``; raises ``StudioError`` for a dag_id that is not a plain file name."""
    dag_id = dag.dag_id
    if not dag_id or dag_id in (".", "..") or any(ch in dag_id for ch in "/\\\0") or dag_id.startswith("."):
        file = dag.source.file if dag.source else None
        line = dag.source.locate("dag")[0] if dag.source else None
        raise StudioError(error(f"dag_id {dag_id!r} cannot be used as a file name", file, line, dag_id=dag_id))
    return f"{dag_id}.py"


def export_project(project: Project, out_dir: Path, target: str | None = None) -> list[Path]:
    """Write ``<dag_id>.py`` for every DAG of ``project`` into ``out_dir``; return the paths written.

    ``target`` defaults to the project's (``dagstudio.toml``). Raises ``StudioError`` — before writing
    anything — when a DAG cannot be generated or two DAGs would write the same file.
    """
    chosen = target or project.target
    if chosen not in TARGETS:
        raise StudioError(error(f"unknown target {chosen!r} (expected one of: {', '.join(TARGETS)})"))
    problems: list[Diagnostic] = []
    files: dict[str, str] = {}
    owners: dict[str, str] = {}
    for dag in project.dags:
        try:
            name = file_name(dag)
            text = generate_dag(dag, chosen)
        except StudioError as exc:
            problems.extend(exc.diagnostics)
            continue
        key = name.casefold()  # one file on case-insensitive file systems (macOS, Windows)
        if key in owners:
            problems.append(error(f"DAGs {owners[key]!r} and {dag.dag_id!r} would both be written to {name}"))
            continue
        owners[key] = dag.dag_id
        files[name] = text
    if problems:
        raise StudioError(problems)
    written = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            path = out_dir / name
            atomic_write(path, text)
            written.append(path)
    except OSError as exc:  # a full disk, a read-only folder, a file where the folder should be
        raise StudioError(error(f"cannot write the exported DAGs: {exc.strerror or exc}", str(out_dir))) from None
    return written
