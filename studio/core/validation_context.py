"""Shared pieces of validation: where a problem is (file, line, JSON path), the module code's names, and
walkers over the model values of a DAG.

``Reporter`` turns a ``SourceMap`` key (``"task:load.copy.args.retries"``) into a ``Diagnostic`` naming
the file, the line and, for project files, the JSON path. ``ModuleInfo`` parses a DAG's module code once
(with ``ast`` only; nothing is executed) and answers which names it defines.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from studio.core.diagnostics import Diagnostic, Severity
from studio.core.model import Dag

# Airflow's rules for keys (airflow/sdk/definitions/_internal/node.py: validate_key, validate_group_key).
KEY_REGEX = re.compile(r"^[\w.-]+$")
GROUP_KEY_REGEX = re.compile(r"^[\w-]+$")
KEY_MAX_LENGTH = 250
GROUP_KEY_MAX_LENGTH = 200

_ENTRY_SUFFIXES = (".task_id", ".group_id", ".dag_id")


def key_problem(key: str, what: str, group: bool = False) -> str | None:
    """Why ``key`` is not a valid Airflow dag/task id (``group``: TaskGroup id), or None when it is."""
    limit, regex = (GROUP_KEY_MAX_LENGTH, GROUP_KEY_REGEX) if group else (KEY_MAX_LENGTH, KEY_REGEX)
    if not key:
        return f"{what} is empty"
    if len(key) > limit:
        return f"{what} {_short(key)} is {len(key)} characters long; Airflow allows at most {limit}"
    if not regex.match(key):
        allowed = (
            "letters, digits, dashes and underscores" if group else "letters, digits, dashes, dots and underscores"
        )
        return f"invalid {what} {key!r}: Airflow allows only {allowed}"
    return None


def _short(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


@dataclass
class Reporter:
    """Collects the diagnostics of one DAG, locating each through the DAG's ``SourceMap``."""

    dag: Dag
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def file(self) -> str | None:
        return self.dag.source.file if self.dag.source else None

    def where(self, key: str, leaf: str | None = None) -> tuple[int | None, str | None]:
        """(line, JSON path) of a SourceMap key; ``leaf`` names a member of the entry that has no own path."""
        source = self.dag.source
        if source is None:
            return None, None
        line, path = source.locate(key)
        if (path is None or leaf) and source.json_paths:
            probe: str | None = key
            while probe is not None and probe not in source.json_paths:
                probe = probe.rsplit(".", 1)[0] if "." in probe else ("dag" if probe != "dag" else None)
            if probe is not None:
                path = source.json_paths[probe]
                for suffix in _ENTRY_SUFFIXES:  # "$.tasks[2].task_id" -> the entry "$.tasks[2]"
                    if path.endswith(suffix):
                        path = path[: -len(suffix)]
                        break
                if leaf:
                    path = f"{path}.{leaf}"
        return line, path

    def add(
        self,
        severity: Severity,
        key: str,
        message: str,
        *,
        leaf: str | None = None,
        task_id: str | None = None,
        file: str | None = None,
        line: int | None = None,
    ) -> None:
        if file is not None or line is not None:  # a problem in another file (the module code)
            self.diagnostics.append(Diagnostic(severity, message, file, line, None, self.dag.dag_id, task_id))
            return
        found_line, path = self.where(key, leaf)
        self.diagnostics.append(Diagnostic(severity, message, self.file, found_line, path, self.dag.dag_id, task_id))

    def error(self, key: str, message: str, **kw: Any) -> None:
        self.add("error", key, message, **kw)

    def warning(self, key: str, message: str, **kw: Any) -> None:
        self.add("warning", key, message, **kw)


@dataclass
class ModuleInfo:
    """What the module code of a DAG defines at top level (functions, classes, assignments, imports)."""

    names: set[str] = field(default_factory=set)
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    syntax_error: SyntaxError | None = None

    @classmethod
    def parse(cls, code: str) -> ModuleInfo:
        info = cls()
        if not code.strip():
            return info
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError) as exc:  # NUL bytes: SyntaxError or ValueError, without a line
            line = getattr(exc, "lineno", None)
            if line is None and "\0" in code:
                line = code[: code.index("\0")].count("\n") + 1
            info.syntax_error = SyntaxError(getattr(exc, "msg", None) or str(exc), (None, line, None, None))
            return info
        info._collect(tree.body)
        return info

    def _collect(self, body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.names.add(node.name)
                self.functions[node.name] = node
            elif isinstance(node, ast.ClassDef):
                self.names.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    self.names.add(alias.asname or alias.name.split(".")[0])
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    self.names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
            elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
                for part in ("body", "orelse", "finalbody"):
                    self._collect(getattr(node, part, []))
                for handler in getattr(node, "handlers", []):
                    self._collect(handler.body)

    def defines(self, name: str) -> bool:
        """True when ``name`` (or the first part of a dotted name) is bound by the module or is a builtin."""
        head = name.split(".")[0]
        return head in self.names or hasattr(builtins, head)


def walk_values(value: Any) -> Iterator[Any]:
    """``value`` and every value nested in it (dict values, list items)."""
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from walk_values(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from walk_values(v)


def dag_values(dag: Dag) -> Iterator[tuple[str, str | None, Any]]:
    """(SourceMap key, task id or None, value) for every argument value of the DAG, its groups and tasks."""
    for name, value in dag.args.items():
        yield f"dag.args.{name}", None, value
    for group in dag.groups:
        for name, value in group.args.items():
            yield f"group:{group.group_id}.args.{name}", None, value
    for task in dag.tasks:
        for name, value in task.args.items():
            yield f"task:{task.task_id}.args.{name}", task.task_id, value
        for value in (task.expand or {}).values():
            yield f"task:{task.task_id}.expand", task.task_id, value
        if task.expand_kwargs is not None:
            yield f"task:{task.task_id}.expand", task.task_id, task.expand_kwargs
