"""Where the store lives: the DAG Studio home directory, the database file in it, and Airflow's log layout.

Stdlib (plus platformdirs) only, so the engine, the CLI and worker processes can use it without importing
SQLAlchemy. The home comes from ``--home``, else ``DAGSTUDIO_HOME``, else the platform's user data dir.
Logs follow Airflow's layout:
``<home>/logs/dag_id=<dag>/run_id=<run>/task_id=<task>/[map_index=<i>/]attempt=<n>.log``.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

HOME_ENV = "DAGSTUDIO_HOME"
DB_FILENAME = "dagstudio.db"
LOGS_DIRNAME = "logs"
# Characters kept as they are in a path component: Airflow's id alphabet minus ':' (not allowed in
# Windows file names). Everything else is percent-encoded, so distinct ids stay distinct files.
_SAFE = "-_.~+="


def resolve_home(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """The home directory: ``--home`` if given, else ``$DAGSTUDIO_HOME``, else the user data dir."""
    if cli_value is not None and str(cli_value) != "":
        return Path(cli_value).expanduser().resolve()
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_data_path("dagstudio", appauthor=False)).resolve()


def db_path(home: Path) -> Path:
    """The SQLite file of the store inside ``home``."""
    return Path(home) / DB_FILENAME


def safe_component(value: str) -> str:
    """``value`` as one file-name component: percent-encoded outside ``[A-Za-z0-9-_.~+=]``, never
    empty, ``.`` or ``..`` (so a run id cannot climb out of the logs folder)."""
    text = quote(value, safe=_SAFE)
    if text.strip(".") == "":
        text = text.replace(".", "%2E") or "%00"
    return text


def log_path(home: Path, dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int) -> Path:
    """The log file of one try in Airflow's layout; ``map_index`` < 0 (not mapped) adds no folder."""
    if try_number < 0:
        raise ValueError(f"try_number must be >= 0, got {try_number}")
    path = (
        Path(home)
        / LOGS_DIRNAME
        / f"dag_id={safe_component(dag_id)}"
        / f"run_id={safe_component(run_id)}"
        / f"task_id={safe_component(task_id)}"
    )
    if map_index >= 0:
        path = path / f"map_index={map_index}"
    return path / f"attempt={try_number}.log"
