"""Reading and writing projects: ``dagstudio.toml`` plus ``dags/<dag_id>.json`` and ``dags/<dag_id>.py``.

A DAG's JSON file holds its structure and arguments (stable key order, 2-space indent, positions
included); its ``.py`` file holds the module code (imports and the functions its tasks call). Reading
reports malformed files as ``StudioError`` diagnostics naming file, line and JSON path; writing is atomic
per file (temp file + rename) so a failed save never leaves half a project.
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from studio.core.diagnostics import Diagnostic, StudioError, error
from studio.core.jsonfile import child_path, dumps, locate_lines, nearest_line
from studio.core.model import Dag, Edge, Project, SourceMap, Task, TaskGroup
from studio.core.values import ValueError_, from_json, to_json

FORMAT = 1
PROJECT_FILE = "dagstudio.toml"
DAGS_DIR = "dags"
TARGETS = ("airflow3", "airflow2")


# --- DAG <-> JSON ----------------------------------------------------------------------------------
def _args_json(args: dict[str, Any]) -> dict[str, Any]:
    return {k: to_json(args[k]) for k in sorted(args)}


def dag_to_json(dag: Dag) -> dict[str, Any]:
    """The JSON document of a DAG (deterministic: args sorted, tasks/groups/edges in model order)."""
    out: dict[str, Any] = {"dagstudio": FORMAT, "dag_id": dag.dag_id, "args": _args_json(dag.args)}
    if dag.groups:
        out["groups"] = [_group_json(g) for g in dag.groups]
    out["tasks"] = [_task_json(t) for t in dag.tasks]
    out["edges"] = [[e.upstream, e.downstream] + ([e.label] if e.label is not None else []) for e in dag.edges]
    if dag.tail_code:
        out["tail_code"] = dag.tail_code
    if dag.unparsed:
        out["unparsed"] = list(dag.unparsed)
    return out


def _group_json(group: TaskGroup) -> dict[str, Any]:
    out: dict[str, Any] = {"group_id": group.group_id}
    if group.parent_id is not None:
        out["parent"] = group.parent_id
    if group.args:
        out["args"] = _args_json(group.args)
    return out


def _task_json(task: Task) -> dict[str, Any]:
    out: dict[str, Any] = {"task_id": task.task_id, "operator": task.operator}
    if task.class_path is not None:
        out["class"] = task.class_path
    if task.group_id is not None:
        out["group"] = task.group_id
    out["args"] = _args_json(task.args)
    if task.expand is not None:
        out["expand"] = _args_json(task.expand)
    if task.expand_kwargs is not None:
        out["expand_kwargs"] = to_json(task.expand_kwargs)
    if task.position is not None:
        out["position"] = [_num(task.position[0]), _num(task.position[1])]
    return out


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(float(x), 2)


class _Reader:
    """Turns one DAG JSON document into a Dag, collecting errors with file, line and JSON path."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.lines = locate_lines(text)
        self.errors: list[Diagnostic] = []
        self.source = SourceMap(file=file)

    def fail(self, path: str, message: str) -> None:
        self.errors.append(error(message, self.file, nearest_line(self.lines, path), json_path=path))

    def note(self, key: str, path: str) -> None:
        self.source.json_paths[key] = path
        line = nearest_line(self.lines, path)
        if line is not None:
            self.source.lines[key] = line

    def expect(self, data: Any, path: str, kind: type, what: str) -> bool:
        ok = isinstance(data, kind) and not (isinstance(data, bool) and kind is not bool)
        if not ok:
            self.fail(path, f"expected {what}, got {json.dumps(data)[:60]}")
        return ok

    def value(self, data: Any, path: str) -> Any:
        try:
            return from_json(data)
        except ValueError_ as exc:
            self.fail(path, str(exc))
            return None

    def args(self, data: Any, path: str, key: str) -> dict[str, Any]:
        if data is None:
            return {}
        if not self.expect(data, path, dict, "an object of arguments"):
            return {}
        out = {}
        for name, raw in data.items():
            out[name] = self.value(raw, child_path(path, name))
            self.note(f"{key}.args.{name}", child_path(path, name))
        return out

    def dag(self, data: Any) -> Dag | None:
        if not self.expect(data, "$", dict, "a JSON object describing one DAG"):
            return None
        fmt = data.get("dagstudio", FORMAT)
        if fmt != FORMAT:
            self.fail("$.dagstudio", f"unsupported project format {fmt!r} (this DAG Studio reads format {FORMAT})")
        dag_id = data.get("dag_id")
        if not self.expect(dag_id, "$.dag_id", str, "a string dag_id"):
            return None
        self.note("dag", "$.dag_id")
        dag = Dag(dag_id=dag_id, args=self.args(data.get("args"), "$.args", "dag"), source=self.source)
        known = {"dagstudio", "dag_id", "args", "groups", "tasks", "edges", "tail_code", "unparsed"}
        for key in data:
            if key not in known:
                self.fail(child_path("$", key), f"unknown key {key!r} (expected one of: {', '.join(sorted(known))})")
        for i, raw in enumerate(self.list(data, "groups")):
            group = self.group(raw, f"$.groups[{i}]")
            if group:
                dag.groups.append(group)
        for i, raw in enumerate(self.list(data, "tasks")):
            task = self.task(raw, f"$.tasks[{i}]")
            if task:
                dag.tasks.append(task)
        for i, raw in enumerate(self.list(data, "edges")):
            path = f"$.edges[{i}]"
            ok = isinstance(raw, list) and len(raw) in (2, 3) and all(isinstance(x, str) for x in raw[:2])
            if not ok or (len(raw) == 3 and not isinstance(raw[2], (str, type(None)))):
                self.fail(
                    path, 'an edge is ["upstream_task_id", "downstream_task_id"] (optionally a third item: label)'
                )
                continue
            dag.edges.append(Edge(raw[0], raw[1], raw[2] if len(raw) == 3 else None))
            self.note(f"edge:{raw[0]}>{raw[1]}", path)
        for key in ("tail_code",):
            if key in data and self.expect(data[key], f"$.{key}", str, "a string"):
                dag.tail_code = data[key]
        if "unparsed" in data and self.expect(data["unparsed"], "$.unparsed", list, "a list of strings"):
            dag.unparsed = [str(x) for x in data["unparsed"]]
        return dag

    def list(self, data: dict[str, Any], key: str) -> list[Any]:
        raw = data.get(key, [])
        return raw if self.expect(raw, f"$.{key}", list, "a list") else []

    def group(self, raw: Any, path: str) -> TaskGroup | None:
        if not self.expect(raw, path, dict, "a group object") or not self.expect(
            raw.get("group_id"), f"{path}.group_id", str, "a string group_id"
        ):
            return None
        key = f"group:{raw['group_id']}"
        self.note(key, f"{path}.group_id")
        parent = raw.get("parent")
        if parent is not None and not self.expect(parent, f"{path}.parent", str, "a group id or null"):
            parent = None
        return TaskGroup(raw["group_id"], parent, self.args(raw.get("args"), f"{path}.args", key))

    def task(self, raw: Any, path: str) -> Task | None:
        if not self.expect(raw, path, dict, "a task object"):
            return None
        task_id, operator = raw.get("task_id"), raw.get("operator")
        if not self.expect(task_id, f"{path}.task_id", str, "a string task_id"):
            return None
        if not self.expect(operator, f"{path}.operator", str, 'an operator name such as "BashOperator"'):
            return None
        key = f"task:{task_id}"
        self.note(key, f"{path}.task_id")
        known = {"task_id", "operator", "class", "group", "args", "expand", "expand_kwargs", "position"}
        for name in raw:
            if name not in known:
                self.fail(child_path(path, name), f"unknown key {name!r} in task {task_id!r}")
        task = Task(task_id, operator, self.args(raw.get("args"), f"{path}.args", key))
        for name, attr in (("class", "class_path"), ("group", "group_id")):
            if raw.get(name) is not None and self.expect(raw[name], f"{path}.{name}", str, "a string"):
                setattr(task, attr, raw[name])
        if raw.get("expand") is not None:
            self.note(f"{key}.expand", f"{path}.expand")
            task.expand = self.args(raw["expand"], f"{path}.expand", key)
        if raw.get("expand_kwargs") is not None:
            task.expand_kwargs = self.value(raw["expand_kwargs"], f"{path}.expand_kwargs")
        pos = raw.get("position")
        if pos is not None:
            ok = (
                isinstance(pos, list)
                and len(pos) == 2
                and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in pos)
            )
            if ok:
                task.position = (float(pos[0]), float(pos[1]))
            else:
                self.fail(f"{path}.position", "position is [x, y] with two numbers")
        return task


def dag_from_json_text(text: str, file: str) -> Dag:
    """Parse a DAG JSON document; raises ``StudioError`` naming ``file`` and the line on bad input."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StudioError(error(f"invalid JSON: {exc.msg}", file, exc.lineno)) from None
    reader = _Reader(file, text)
    dag = reader.dag(data)
    if reader.errors or dag is None:
        raise StudioError(reader.errors or [error("not a DAG Studio DAG file", file, 1)])
    return dag


def read_dag_file(path: Path, display: str | None = None) -> Dag:
    """A DAG from ``dags/<id>.json`` and its module code from the ``.py`` beside it (if any)."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StudioError(error(f"cannot read: {exc}", name)) from None
    dag = dag_from_json_text(text, name)
    module = path.with_suffix(".py")
    if module.exists():
        try:
            dag.module_code = module.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise StudioError(error(f"cannot read: {exc}", str(Path(name).with_suffix(".py")))) from None
        if dag.source is not None:
            dag.source.module_file = str(Path(name).with_suffix(".py"))
    return dag


# --- projects -------------------------------------------------------------------------------------
def is_project_dir(path: Path) -> bool:
    return (path / PROJECT_FILE).is_file()


def read_project(folder: Path, display_root: Path | None = None) -> Project:
    """Load a project folder; all malformed files are reported together in one ``StudioError``."""
    shown = (lambda p: str(p.relative_to(display_root))) if display_root else str
    toml_path = folder / PROJECT_FILE
    try:
        settings = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        line = _toml_error_line(str(exc))
        raise StudioError(error(f"invalid TOML: {exc}", shown(toml_path), line)) from None
    except OSError as exc:
        raise StudioError(error(f"cannot read: {exc}", shown(toml_path))) from None
    table = settings.get("project", {})
    if not isinstance(table, dict):
        raise StudioError(error("[project] must be a table", shown(toml_path), 1))
    name = table.get("name", folder.name)
    target = table.get("target", "airflow3")
    problems: list[Diagnostic] = []
    if not isinstance(name, str):
        problems.append(error("project.name must be a string", shown(toml_path), _toml_key_line(toml_path, "name")))
    if target not in TARGETS:
        problems.append(
            error(
                f"project.target must be one of {', '.join(TARGETS)}, got {target!r}",
                shown(toml_path),
                _toml_key_line(toml_path, "target"),
            )
        )
    project = Project(name=str(name), target=str(target) if target in TARGETS else "airflow3", settings=settings)
    dags_dir = folder / str(table.get("dags_folder", DAGS_DIR))
    for json_path in sorted(dags_dir.glob("*.json")) if dags_dir.is_dir() else []:
        try:
            project.dags.append(read_dag_file(json_path, shown(json_path)))
        except StudioError as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise StudioError(problems)
    return project


def _toml_error_line(message: str) -> int | None:
    import re

    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None


def _toml_key_line(path: Path, key: str) -> int | None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip().startswith(f"{key} ") or line.strip().startswith(f"{key}="):
            return number
    return None


def project_toml(project: Project) -> str:
    """``dagstudio.toml`` text: the [project] table (other tables are kept as they were read)."""
    lines = [
        "[project]",
        f"name = {json.dumps(project.name, ensure_ascii=False)}",
        f"format = {FORMAT}",
        f'target = "{project.target}"',
        "",
    ]
    for table, values in project.settings.items():
        if table == "project" or not isinstance(values, dict):
            continue
        lines.append(f"[{table}]")
        lines.extend(f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in values.items() if _toml_scalar(v))
        lines.append("")
    return "\n".join(lines)


def _toml_scalar(v: Any) -> bool:
    return isinstance(v, (str, int, float, bool)) or (isinstance(v, list) and all(isinstance(x, (str, int)) for x in v))


def project_files(project: Project) -> dict[str, str]:
    """Every file of a project as ``{relative path: text}`` (what ``write_project`` writes)."""
    files = {PROJECT_FILE: project_toml(project)}
    for dag in project.dags:
        files[f"{DAGS_DIR}/{dag.dag_id}.json"] = dumps(dag_to_json(dag))
        if dag.module_code:
            files[f"{DAGS_DIR}/{dag.dag_id}.py"] = dag.module_code
    return files


def write_project(project: Project, folder: Path) -> None:
    """Write ``project`` into ``folder``; files of DAGs no longer in the project are removed."""
    files = project_files(project)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / DAGS_DIR).mkdir(exist_ok=True)
    for rel, text in files.items():
        atomic_write(folder / rel, text)
    for old in (folder / DAGS_DIR).glob("*.json"):
        if f"{DAGS_DIR}/{old.name}" not in files:  # a DAG that was deleted or renamed
            old.unlink()
            old.with_suffix(".py").unlink(missing_ok=True)
    for dag in project.dags:
        if not dag.module_code:
            (folder / DAGS_DIR / f"{dag.dag_id}.py").unlink(missing_ok=True)


def atomic_write(path: Path, text: str) -> None:
    """Write text so that readers see the old file or the new one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def project_to_json(project: Project) -> dict[str, Any]:
    """A comparable form of a whole project (used by round-trip tests)."""
    return {
        "name": project.name,
        "target": project.target,
        "dags": [dict(dag_to_json(d), module_code=d.module_code) for d in project.dags],
    }
