"""Running DAGs locally from any PATH kind, and reading the run history back.

What runs is always an Airflow ``.py`` file: the user's own file for a ``.py`` PATH or a dags folder,
and for a project the file ``dagstudio export`` writes (generated into ``<home>/build/``), so "works
in the studio" means "works in Airflow". The run itself is ``studio.runtime.engine.LocalRun``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from studio.core.diagnostics import StudioError, error, has_errors
from studio.core.serialization import atomic_write

__all__ = ["log_text", "run", "runnable_file", "runs"]


def runnable_file(path: Path, dag_id: str | None, home: Path) -> tuple[Path, str | None]:
    """The Airflow file to run for PATH (and the dag id, when PATH fixes it)."""
    from studio import workspace

    path = Path(path)
    if path.is_file() and path.suffix == ".py":
        return path, dag_id
    loaded = workspace.load_path(path)
    if loaded.kind == "py_folder":
        problems = [d for d in loaded.diagnostics if d.severity == "error"]
        if dag_id is None and len(loaded.files) > 1:
            raise StudioError(error(f"{len(loaded.files)} DAGs here: choose one with --dag", str(path)))
        if dag_id is None and loaded.files:
            dag_id = next(iter(loaded.files))
        if dag_id not in loaded.files:
            raise StudioError(problems or error(f"no DAG {dag_id!r} in this folder", str(path)))
        return loaded.files[dag_id], dag_id
    diagnostics = workspace.validate(loaded)
    if has_errors(diagnostics):
        raise StudioError([d for d in diagnostics if d.severity == "error"])
    dags = loaded.project.dags
    if dag_id is None:
        if len(dags) != 1:
            names = ", ".join(d.dag_id for d in dags)
            raise StudioError(error(f"{len(dags)} DAGs here ({names}): choose one with --dag", str(path)))
        dag_id = dags[0].dag_id
    dag = loaded.project.dag(dag_id)
    if dag is None:
        raise StudioError(error(f"no DAG {dag_id!r} in this project", str(path)))
    from studio.codegen.generator import generate_dag

    digest = hashlib.sha256(str(Path(loaded.root).resolve()).encode()).hexdigest()[:12]
    target = Path(home) / "build" / f"{loaded.project.name or 'project'}-{digest}" / f"{dag_id}.py"
    code = generate_dag(dag, "airflow3")
    if not target.exists() or target.read_text(encoding="utf-8") != code:
        atomic_write(target, code)
    return target, dag_id


def run(
    path: Path,
    *,
    home: Path,
    dag_id: str | None = None,
    conf: dict[str, Any] | None = None,
    logical_date: dt.datetime | None = None,
    on_change: Callable[[Any], None] | None = None,
) -> dict[str, Any]:
    """Run one DAG of PATH to its end; the run in ``dagstudio run --json``'s shape."""
    from studio.runtime.engine import LocalRun

    file, dag_id = runnable_file(path, dag_id, home)
    with LocalRun(file, home) as local:
        if dag_id is None:
            if len(local.dags) != 1:
                names = ", ".join(sorted(local.dags)) or "none"
                raise StudioError(
                    error(f"{len(local.dags)} DAGs in this file ({names}): choose one with --dag", str(file))
                )
            dag_id = next(iter(local.dags))
        if dag_id not in local.dags:
            raise StudioError(
                error(f"no DAG {dag_id!r} in this file (it has: {', '.join(sorted(local.dags))})", str(file))
            )
        return local.execute(dag_id, conf=conf, logical_date=logical_date, on_change=on_change)


def runs(path: Path | None, *, home: Path) -> list[dict[str, Any]]:
    """Runs of PATH's DAGs (all runs when PATH is None), newest first."""
    from studio import workspace
    from studio.store import Store

    dag_ids: set[str] | None = None
    if path is not None:
        dag_ids = {d.dag_id for d in workspace.load_path(Path(path)).project.dags}
    store = Store.open(home)
    try:
        return [r for r in store.runs() if dag_ids is None or r["dag_id"] in dag_ids]
    finally:
        store.close()


def log_text(*, home: Path, dag_id: str, run_id: str, task: str, try_number: int | None = None) -> str:
    """The log of one try (default: the latest) of task ``task`` (``task_id`` or ``task_id[i]``)."""
    from studio.store import Store, TIKey

    task_id, map_index = task, -1
    if task.endswith("]") and "[" in task:
        task_id, index = task[:-1].split("[", 1)
        map_index = int(index)
    store = Store.open(home)
    try:
        key = TIKey(dag_id, run_id, task_id, map_index)
        if store.task_instance(key) is None:
            raise StudioError(error(f"no task instance {task!r} in run {run_id!r} of DAG {dag_id!r}"))
        log = store.log_path(key, try_number)
    finally:
        store.close()
    if log is None or not Path(log).exists():
        shown = f"try {try_number}" if try_number else "any try"
        raise StudioError(error(f"no log for {shown} of {task!r} in run {run_id!r}"))
    return Path(log).read_text(encoding="utf-8", errors="replace")
