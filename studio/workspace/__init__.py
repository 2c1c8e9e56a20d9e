"""The application service the CLI and the UI talk to: load any PATH, validate, export, import.

A PATH is one of four kinds (the CLI contract of docs/ARCHITECTURE.md):

``project``    a folder with ``dagstudio.toml`` (all its DAGs)
``dag_json``   one ``dags/<dag_id>.json`` of a project (with the project's settings), or a stand-alone one
``py_file``    an Airflow ``.py`` file, read with ``ast`` by the importer — never imported or executed
``py_folder``  a plain folder of Airflow ``.py`` files, found the way Airflow scans its dags folder

Paths in messages are relative to the current directory when the file is below it. Writing operations
(``export``, ``import_to_project``) validate first and write nothing when there is an error. No Qt here.
"""

from __future__ import annotations

import fnmatch
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from studio.core.diagnostics import Diagnostic, StudioError, error, has_errors, warning
from studio.core.jsonfile import dumps
from studio.core.model import Dag, Project
from studio.core.serialization import (
    DAGS_DIR,
    PROJECT_FILE,
    TARGETS,
    dag_from_json_text,
    dag_to_json,
    is_project_dir,
    project_toml,
    read_dag_file,
    read_project,
)
from studio.core.validation import validate_project
from studio.store.paths import resolve_home  # noqa: F401  (re-exported: the CLI asks the workspace)

Kind = Literal["project", "dag_json", "py_file", "py_folder"]
IGNORE_FILE = ".airflowignore"


@dataclass
class Loaded:
    """What ``load_path`` read.

    ``root`` is the project folder for ``project`` (and for a ``dag_json`` inside a project), otherwise
    the path that was opened. ``diagnostics`` are the problems found while reading (importer warnings,
    files of a dags folder that failed to parse); ``validate`` adds the model's own checks. For a
    ``dag_json`` the project holds that one DAG only: save it with its DAG file, not over the project.
    """

    project: Project
    diagnostics: list[Diagnostic]
    kind: Kind
    root: Path
    files: dict[str, Path] = field(default_factory=dict)  # dag_id -> the file it was read from


@dataclass
class Outcome:
    """The result of a writing operation: the files written and the (non-fatal) problems found."""

    files: list[Path]
    diagnostics: list[Diagnostic]
    dag_ids: list[str] = field(default_factory=list)


# --- paths in messages ----------------------------------------------------------------------------
def display_path(path: Path) -> str:
    """``path`` relative to the current directory when it lies below it, else absolute."""
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(Path.cwd()))
    except (ValueError, OSError):
        return str(absolute)


def _display_root(folder: Path) -> Path | None:
    try:
        folder.relative_to(Path.cwd())
    except (ValueError, OSError):
        return None
    return Path.cwd()


# --- loading --------------------------------------------------------------------------------------
def load_path(path: Path) -> Loaded:
    """Read a project folder, a project DAG ``.json``, an Airflow ``.py`` file or a dags folder.

    Raises ``StudioError`` (naming file and line) when the path cannot be read at all.
    """
    path = Path(path)
    shown = display_path(path)
    if not path.exists():
        raise StudioError(error("no such file or directory", shown))
    absolute = Path(os.path.abspath(path))
    if path.is_dir():
        if is_project_dir(path):
            project = read_project(absolute, _display_root(absolute))
            files = {d.dag_id: _dag_file(absolute, d) for d in project.dags}
            return Loaded(project, [], "project", absolute, files)
        return _load_py_folder(absolute)
    if path.suffix == ".json":
        return _load_dag_json(absolute)
    if path.suffix == ".py":
        from studio.codegen.importer import import_file  # codegen is imported only when a .py is read

        result = import_file(absolute, shown)
        project = Project(name=absolute.stem, dags=list(result.dags))
        return Loaded(
            project, list(result.diagnostics), "py_file", absolute, {d.dag_id: absolute for d in project.dags}
        )
    raise StudioError(
        error(f"not a DAG Studio project ({PROJECT_FILE}), DAG .json file, Airflow .py file or folder", shown)
    )


def _dag_file(folder: Path, dag: Dag) -> Path:
    """The file a project DAG was read from (its display path is relative to the cwd, or absolute)."""
    if dag.source is not None and dag.source.file:
        return Path(os.path.abspath(dag.source.file))
    return folder / DAGS_DIR / f"{dag.dag_id}.json"


def read_settings(folder: Path) -> tuple[str, str, dict[str, Any]]:
    """(name, target, all tables) of a project's ``dagstudio.toml``; ``StudioError`` on a bad file."""
    toml_path = folder / PROJECT_FILE
    shown = display_path(toml_path)
    try:
        settings = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))  # Python 3.11's TOMLDecodeError has no lineno
        line = int(match.group(1)) if match else None
        raise StudioError(error(f"invalid TOML: {exc}", shown, line)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StudioError(error(f"cannot read: {exc}", shown)) from None
    table = settings.get("project", {})
    if not isinstance(table, dict):
        raise StudioError(error("[project] must be a table", shown, 1))
    name, target = table.get("name", folder.name), table.get("target", "airflow3")
    if not isinstance(name, str) or target not in TARGETS:
        raise StudioError(error(f"[project] needs a string name and a target in {', '.join(TARGETS)}", shown))
    return name, target, settings


def _load_dag_json(file: Path) -> Loaded:
    folder = file.parent.parent
    in_project = is_project_dir(folder)
    if in_project:
        name, target, settings = read_settings(folder)
        dags_folder = settings.get("project", {}).get("dags_folder", DAGS_DIR)
        in_project = (folder / str(dags_folder)).resolve() == file.parent.resolve()
    dag = read_dag_file(file, display_path(file))
    if in_project:
        project = Project(name=name, dags=[dag], target=target, settings=settings)
        return Loaded(project, [], "dag_json", folder, {dag.dag_id: file})
    return Loaded(Project(name=dag.dag_id, dags=[dag]), [], "dag_json", file, {dag.dag_id: file})


def dag_files(folder: Path) -> list[Path]:
    """The ``.py`` files Airflow would parse in a dags folder, sorted.

    Like Airflow: recursive (following links, once per directory), ``.airflowignore`` glob patterns
    (negated ``!`` patterns are not supported), and safe mode — only files whose text mentions
    "airflow" and "dag" (or "asset"), ignoring case.
    """
    found: list[Path] = []
    seen: set[Path] = set()
    for root, dirs, files in os.walk(folder, followlinks=True):
        here = Path(root)
        real = here.resolve()
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        patterns = _ignore_patterns(folder, here)
        dirs[:] = sorted(d for d in dirs if not _ignored(folder, here / d, patterns))
        for name in sorted(files):
            file = here / name
            if name.endswith(".py") and not _ignored(folder, file, patterns) and _might_contain_dag(file):
                found.append(file)
    return sorted(found)


def _ignore_patterns(base: Path, folder: Path) -> list[str]:
    patterns: list[str] = []
    current = folder
    while True:
        ignore = current / IGNORE_FILE
        if ignore.is_file():
            for line in ignore.read_text(encoding="utf-8", errors="replace").splitlines():
                line = line.split("#", 1)[0].strip()
                if line and not line.startswith("!"):
                    patterns.append(line)
        if current == base or current.parent == current:
            return patterns
        current = current.parent


def _ignored(base: Path, path: Path, patterns: list[str]) -> bool:
    rel = path.relative_to(base).as_posix()
    bare = [p.strip("/") for p in patterns]
    return any(fnmatch.fnmatch(rel, b) or fnmatch.fnmatch(path.name, b) or fnmatch.fnmatch(rel, f"*/{b}") for b in bare)


def _might_contain_dag(file: Path) -> bool:
    """Airflow's safe-mode heuristic (airflow.utils.file.might_contain_dag_via_default_heuristic)."""
    try:
        content = file.read_bytes().lower()
    except OSError:
        return True  # let the import report that it cannot be read
    return b"airflow" in content and (b"dag" in content or b"asset" in content)


def _load_py_folder(folder: Path) -> Loaded:
    project = Project(name=folder.name)
    diagnostics: list[Diagnostic] = []
    files: dict[str, Path] = {}
    for file in dag_files(folder):
        from studio.codegen.importer import import_file

        try:
            result = import_file(file, display_path(file))
        except StudioError as exc:
            diagnostics.extend(exc.diagnostics)
            continue
        except (OSError, UnicodeDecodeError) as exc:
            diagnostics.append(error(f"cannot read: {exc}", display_path(file)))
            continue
        diagnostics.extend(result.diagnostics)
        project.dags.extend(result.dags)
        for dag in result.dags:
            files.setdefault(dag.dag_id, file)
    if not project.dags and not has_errors(diagnostics):
        diagnostics.append(warning("no Airflow DAG files found in this folder", display_path(folder)))
    return Loaded(project, diagnostics, "py_folder", folder, files)


# --- validation, inspection -----------------------------------------------------------------------
def validate(loaded: Loaded) -> list[Diagnostic]:
    """The problems found while loading plus the model's checks, without duplicates."""
    return list(dict.fromkeys([*loaded.diagnostics, *validate_project(loaded.project)]))


def structure(loaded: Loaded) -> dict[str, Any]:
    """``{"dags": [{"dag_id", "tasks", "edges"}]}`` as ``dagstudio inspect --json`` prints it."""
    return {"dags": [dag.structure() for dag in loaded.project.dags]}


def errors_first(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=lambda d: d.severity != "error")


# --- export ---------------------------------------------------------------------------------------
def export(path: Path, out_dir: Path, target: str | None = None) -> Outcome:
    """Validate ``path`` and write ``<dag_id>.py`` per DAG into ``out_dir``; nothing is written on errors."""
    if target is not None and target not in TARGETS:
        raise StudioError(error(f"unknown target {target!r}; expected one of {', '.join(TARGETS)}"))
    loaded = load_path(path)
    found = validate(loaded)
    if has_errors(found):
        raise StudioError(errors_first(found))
    if not loaded.project.dags:
        raise StudioError([error("nothing to export: no DAGs found", display_path(Path(path))), *found])
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise StudioError(error("the output path exists and is not a folder", display_path(out_dir)))
    from studio.codegen.export import export_project

    files = export_project(loaded.project, out_dir, target or loaded.project.target)
    return Outcome(list(files), found, [d.dag_id for d in loaded.project.dags])


# --- import ---------------------------------------------------------------------------------------
def import_to_project(py_file: Path, project_dir: Path) -> Outcome:
    """Import the DAGs of an Airflow ``.py`` file into the project at ``project_dir``.

    A new project is created when ``project_dir`` does not exist (or is an empty folder); in an existing
    project only the imported DAGs are added or replaced. Everything is read, validated and serialised
    in memory first; on any error nothing is written and ``StudioError`` is raised.
    """
    py_file, project_dir = Path(py_file), Path(project_dir)
    shown_dir = display_path(project_dir)
    if not py_file.is_file():
        raise StudioError(error("no such file" if not py_file.exists() else "not a file", display_path(py_file)))
    existing = is_project_dir(project_dir)
    if existing:
        name, target, settings = read_settings(project_dir)
    else:
        _check_new_project_dir(project_dir, shown_dir)
        name, target, settings = project_dir.name or "project", "airflow3", {}
    from studio.codegen.importer import import_file

    result = import_file(Path(os.path.abspath(py_file)), display_path(py_file))
    found = list(result.diagnostics)
    if not result.dags:
        raise StudioError([error("no DAG found in this file", display_path(py_file)), *found])
    imported = Project(name=name, dags=list(result.dags), target=target, settings=settings)
    found = list(dict.fromkeys([*found, *validate_project(imported)]))
    if has_errors(found):
        raise StudioError(errors_first(found))

    files: dict[Path, str | None] = {}  # path -> new text, or None: delete
    if not existing:
        files[project_dir / PROJECT_FILE] = project_toml(imported)
    dags_dir = project_dir / DAGS_DIR
    from studio.codegen.export import file_name

    for dag in imported.dags:
        file_name(dag)  # a dag_id that is a plain file name (no leading dot)
        text = dumps(dag_to_json(dag))
        dag_from_json_text(text, f"{DAGS_DIR}/{dag.dag_id}.json")  # what we write must read back
        files[dags_dir / f"{dag.dag_id}.json"] = text
        module = dags_dir / f"{dag.dag_id}.py"
        if dag.module_code:
            files[module] = dag.module_code
        elif module.exists():
            files[module] = None
    for old in _files_defining(dags_dir, {d.dag_id for d in imported.dags}) if existing else []:
        if old not in files:  # the same dag_id under another file name: replaced
            files[old] = None
            if old.with_suffix(".py").exists():
                files[old.with_suffix(".py")] = None
    written = _commit(files, shown_dir)
    return Outcome(written, found, [d.dag_id for d in imported.dags])


def _check_new_project_dir(project_dir: Path, shown: str) -> None:
    if project_dir.exists() and not project_dir.is_dir():
        raise StudioError(error("exists and is not a folder", shown))
    if project_dir.is_dir() and ((project_dir / DAGS_DIR).exists() or (project_dir / PROJECT_FILE).exists()):
        raise StudioError(
            error(
                f"this folder is not a DAG Studio project (no {PROJECT_FILE}) but already has a "
                f"'{DAGS_DIR}' folder; import into a new or empty folder, or into a project",
                shown,
            )
        )


def _files_defining(dags_dir: Path, dag_ids: set[str]) -> list[Path]:
    """Project DAG files whose ``dag_id`` is one of ``dag_ids`` (unreadable files are left alone)."""
    import json

    out = []
    for file in sorted(dags_dir.glob("*.json")):
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("dag_id") in dag_ids:
            out.append(file)
    return out


def _commit(files: dict[Path, str | None], shown: str) -> list[Path]:
    """Write all files or none: stage temp files beside their targets, then rename them into place."""
    umask = os.umask(0o022)
    os.umask(umask)
    created: list[Path] = []
    staged: list[tuple[Path, Path]] = []
    try:
        for target, text in files.items():
            if text is None:
                continue
            for parent in reversed([target.parent, *target.parent.parents]):
                if not parent.exists():
                    parent.mkdir()
                    created.append(parent)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
            staged.append((Path(tmp), target))
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; project files are ordinary files
    except (OSError, UnicodeError) as exc:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        for folder in reversed(created):
            folder.rmdir()
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise StudioError(error(f"cannot write: {reason}", shown)) from None
    for tmp, target in staged:
        os.replace(tmp, target)
    for target, text in files.items():
        if text is None:
            target.unlink(missing_ok=True)
    return [target for _, target in staged]
