"""The scheduler for any PATH kind: which Airflow files it schedules, the scheduler itself, backfills, and
the DAGs' paused flags (``dagstudio scheduler``, ``dagstudio backfill``, ``dagstudio dags``).

A ``.py`` file is scheduled as it is; a folder of ``.py`` files (an Airflow dags folder) file by file —
a file that fails to load gets an import error in the store and the others run; a project is exported
to ``<home>/build/`` first (as ``dagstudio run`` does), one file per DAG.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from studio.core.diagnostics import StudioError, error

__all__ = ["backfill", "dag_files", "dags_overview", "make_scheduler", "set_paused"]


def dag_files(path: Path, home: Path) -> list[Path]:
    """The Airflow files the scheduler loads for PATH."""
    from studio import workspace
    from studio.workspace.runs import runnable_file

    path = Path(path)
    if path.is_file() and path.suffix == ".py":
        return [path]
    if path.is_dir() and not (path / "dagstudio.toml").exists() and not list(path.glob("*.json")):
        files = sorted(p for p in path.glob("*.py") if not p.name.startswith("_"))
        if not files:
            raise StudioError(error("no DAG files (*.py) in this folder", str(path)))
        return files
    loaded = workspace.load_path(path)
    return [runnable_file(path, dag.dag_id, home)[0] for dag in loaded.project.dags]


def make_scheduler(path: Path, home: Path, log: Callable[[str], None]) -> object:
    """A ``runtime.scheduler.Scheduler`` for PATH (``run()`` it; ``stop()`` from another thread/signal) that
    watches PATH: an edited DAG file or project is re-read (for a project, its files regenerated)."""
    from studio.runtime.scheduler import Scheduler

    path = Path(path)
    return Scheduler(dag_files(path, home), home, log=log, watch=[path], resolve=lambda: dag_files(path, home))


def backfill(
    path: Path,
    *,
    home: Path,
    dag_id: str | None,
    from_date: dt.datetime,
    to_date: dt.datetime,
    rerun_failed: bool = False,
    log: Callable[[str], None] | None = None,
    on_change: Callable[[Any], None] | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Backfill one DAG of PATH over ``[from_date, to_date]`` in the foreground (``runtime.backfill``);
    returns ``{"dag_id", "runs": [run as in dagstudio run --json + "logical_date"], "skipped": [...]}``."""
    from studio.runtime.backfill import Backfill, backfill_infos
    from studio.runtime.engine import LocalRun, utcnow
    from studio.workspace.runs import runnable_file

    file, dag_id = runnable_file(path, dag_id, home)
    with LocalRun(file, home) as local:
        dag_id = _one_dag(local.dags, dag_id, file)
        if _paused(local.store, dag_id, local.dags[dag_id]):  # Airflow would keep its runs queued forever
            raise StudioError(error(f"DAG {dag_id!r} is paused: its backfill runs would not start; unpause it "
                                    "first (dagstudio dags unpause PATH --dag ID)", str(file)))  # fmt: skip
        infos = backfill_infos(local.dags[dag_id], from_date, to_date, now=now or utcnow())
        job = Backfill(local, dag_id, infos, reprocess="failed" if rerun_failed else "none", log=log,
                       on_change=on_change)  # fmt: skip
        return job.run().as_json()


def _one_dag(dags: dict[str, Any], dag_id: str | None, file: Path) -> str:
    if dag_id is None:
        if len(dags) != 1:
            names = ", ".join(sorted(dags)) or "none"
            raise StudioError(error(f"{len(dags)} DAGs in this file ({names}): choose one with --dag", str(file)))
        return next(iter(dags))
    if dag_id not in dags:
        raise StudioError(error(f"no DAG {dag_id!r} in this file (it has: {', '.join(sorted(dags))})", str(file)))
    return dag_id


def _dag_ids(path: Path, dag_id: str | None) -> list[str]:
    """The DAG ids of PATH (read without running it), or just ``dag_id`` after checking PATH has it."""
    from studio import workspace

    ids = [d.dag_id for d in workspace.load_path(Path(path)).project.dags]
    if dag_id is None:
        if not ids:
            raise StudioError(error("no DAGs here", str(path)))
        return ids
    if dag_id not in ids:
        raise StudioError(error(f"no DAG {dag_id!r} here (there are: {', '.join(ids) or 'none'})", str(path)))
    return [dag_id]


def set_paused(path: Path, *, home: Path, dag_id: str | None, paused: bool) -> list[str]:
    """Pause (or unpause) one DAG of PATH, or all of them; a running scheduler sees it within
    ``PAUSE_POLL`` seconds. Returns the DAG ids changed."""
    from studio.store import Store

    ids = _dag_ids(path, dag_id)
    with Store.open(home) as store:
        for one in ids:
            store.set_paused(one, paused)
    return ids


def dags_overview(path: Path, *, home: Path, dag_id: str | None = None, now: dt.datetime | None = None) -> dict:
    """``dagstudio dags list``: each DAG of PATH with its schedule, paused flag and next run (as the
    scheduler would create it, continuing from the DAG's last automated run), and the files of PATH that
    fail to load (``{"dags": [...], "import_errors": [...]}``)."""
    from studio.runtime import timetables
    from studio.runtime.engine import LocalRun, utcnow
    from studio.store import Store

    now = now or utcnow()
    found: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    for file in dag_files(path, home):
        try:
            local = LocalRun(file, home)
        except StudioError as exc:
            first = exc.diagnostics[0]
            problems.append({"filename": str(file), "line": first.line, "message": first.message})
            continue
        with local:
            for one, desc in sorted(local.dags.items()):
                if dag_id is None or one == dag_id:
                    found.append(_overview(local.store, one, desc, file, now, timetables))
    if dag_id is not None and not found:
        raise StudioError(error(f"no DAG {dag_id!r} here", str(path)))
    with Store.open(home) as store:
        known = {Path(f["filename"]).resolve() for f in problems}
        for rec in store.import_errors():  # recorded by a scheduler for files of PATH that failed then
            if Path(rec.filename).resolve() not in known and Path(rec.filename).resolve() in _resolved(path, home):
                problems.append({"filename": rec.filename, "line": rec.line, "message": rec.stacktrace})
    return {"dags": found, "import_errors": problems}


def _resolved(path: Path, home: Path) -> set[Path]:
    try:
        return {f.resolve() for f in dag_files(path, home)}
    except StudioError:
        return set()


def _overview(store: Any, dag_id: str, desc: dict[str, Any], file: Path, now: dt.datetime, tt: Any) -> dict:
    last = store.last_automated_run(dag_id)
    interval = None
    if last is not None and last.data_interval_start is not None and last.data_interval_end is not None:
        interval = tt.DataInterval(last.data_interval_start, last.data_interval_end)
    preview = tt.preview(desc, 1, now, interval) if desc.get("timetable") else []
    paused = _paused(store, dag_id, desc)
    nxt = preview[0] if preview else None
    return {
        "dag_id": dag_id,
        "fileloc": str(file),
        "schedule": desc.get("schedule"),
        "is_paused": paused,
        "next_dagrun": nxt.logical_date.isoformat() if nxt and nxt.logical_date else None,
        "next_dagrun_run_after": nxt.run_after.isoformat() if nxt else None,
    }


def _paused(store: Any, dag_id: str, desc: dict[str, Any]) -> bool:
    """The DAG's paused flag; for a DAG the store has never seen, what the scheduler would decide."""
    paused = store.is_paused(dag_id)
    if paused is None:
        from studio.runtime.scheduler import paused_at_creation_default

        creation = desc.get("is_paused_upon_creation")
        paused = paused_at_creation_default() if creation is None else bool(creation)
    return paused
