"""Module code of an imported DAG: everything in the file that is not DAG structure, in canonical form.

Kept: top-level functions and classes (TaskFlow functions without their ``@task`` decorator), helper
statements, functions defined inside DAG bodies (moved to module level, dedented), the module
constants that kept code or code expressions refer to, the imports that kept code uses, and every
non-Airflow import that the DAG structure does not use. Dropped: the DAG structure itself and the
imports only it used (operator classes, ``DAG``, ``task``, ``TaskGroup``, ``chain``, ``Label``,
``pendulum`` when only DAG arguments used it...). The result is ``pysource.join_module`` output.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

from studio.codegen.importer.objects import DagNode
from studio.codegen.pysource import ImportStmt, join_module, parse_imports
from studio.core.model import Dag, dag_leaves
from studio.core.values import CallableRef, CodeExpr

_WORD = re.compile(r"(?<![\w.])[A-Za-z_]\w*")


@dataclass
class Top:
    """A top-level statement and what the interpreter made of it."""

    index: int
    node: ast.stmt
    kind: str  # import, keep, def, constant, update, try_import, structure, tail
    defines: set[str] = field(default_factory=set)
    dag: DagNode | None = None


def source_segment(lines: list[str], node: ast.stmt, strip: set[int] | None = None, dedent: int = 0) -> str:
    """Source of a statement with the comment lines right above it, without the decorators in ``strip``."""
    decorators = getattr(node, "decorator_list", [])
    first = min([node.lineno] + [d.lineno for d in decorators])
    start = first - 1
    while start > 0 and lines[start - 1].lstrip().startswith("#"):
        start -= 1
    out = lines[start : first - 1]
    for dec in decorators:
        if id(dec) not in (strip or set()):
            out.extend(lines[dec.lineno - 1 : dec.end_lineno])
    out.extend(lines[node.lineno - 1 : node.end_lineno])
    if dedent:
        out = [line[dedent:] if line[:dedent].strip() == "" else line for line in out]
    return "\n".join(out).rstrip()


def names_in(node: ast.AST | None) -> set[str]:
    if node is None:
        return set()
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def names_in_source(text: str) -> set[str]:
    for mode in ("eval", "exec"):
        try:
            return names_in(ast.parse(text, mode=mode))
        except SyntaxError:
            continue
    return set()


def stored_names(stmt: ast.stmt) -> set[str]:
    """Names a statement binds at its own level (not inside the functions or classes it defines)."""
    out: set[str] = set()
    stack: list[ast.AST] = [stmt]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
            if node is not stmt:
                continue
            stack.extend(node.decorator_list)
            continue
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out.update(s.bound_name for s in parse_imports(node))
        stack.extend(ast.iter_child_nodes(node))
    return out


def model_code_names(dag: Dag) -> set[str]:
    """Names used by the code expressions, callables, tail code and unparsed code of a model DAG."""
    names: set[str] = set()

    for value in dag_leaves(dag):
        if isinstance(value, CodeExpr):
            names.update(names_in_source(value.source))
        elif isinstance(value, CallableRef):
            names.add(value.name)
    for text in [dag.tail_code, *dag.unparsed]:
        names.update(names_in_source(text))
    return names


class ModuleCode:
    """Computes each DAG's module code from the interpreted file."""

    def __init__(self, interp: Any) -> None:
        self.lines: list[str] = interp.lines
        self.tops: list[Top] = interp.top
        self.task_used: set[int] = interp.task_used
        self.consumed: set[int] = interp.consumed
        self.hoisted: list[tuple[ast.stmt, DagNode | None]] = interp.hoisted
        self.extra_imports: list[tuple[ast.stmt, DagNode | None]] = interp.extra_imports
        self.decorators: dict[int, list[ast.expr]] = interp.airflow_decorators
        self._mentioned: set[str] | None = None
        self.import_lines = {
            number
            for n in interp.tree.body
            if isinstance(n, (ast.Import, ast.ImportFrom))
            for number in range(n.lineno, (n.end_lineno or n.lineno) + 1)
        }

    def segment(self, node: ast.stmt, dedent: int = 0) -> str:
        """A statement's source with its comments; TaskFlow decorators removed from functions that became tasks."""
        strip = {id(d) for d in self.decorators.get(id(node), [])} if id(node) in self.task_used else set()
        return source_segment(self.lines, node, strip, dedent)

    # --- per DAG ------------------------------------------------------------------------------------
    def for_dag(self, node: DagNode, dag: Dag) -> str:
        kept: list[tuple[int, str]] = []
        used = model_code_names(dag)
        candidates: list[Top] = []
        imports: list[tuple[ImportStmt, ast.stmt]] = []
        for top in self.tops:
            kind = top.kind
            if kind == "import":
                assert isinstance(top.node, (ast.Import, ast.ImportFrom))
                imports.extend((s, top.node) for s in parse_imports(top.node))
            elif kind == "keep" or (kind == "def" and id(top.node) not in self.consumed):
                text = self.segment(top.node)
                kept.append((top.node.lineno, text))
                used |= names_in_source(text)
            elif kind in ("constant", "update", "try_import"):
                candidates.append(top)
        seen: set[int] = set()
        for stmt, owner in self.hoisted:
            if id(stmt) in seen or id(stmt) in self.consumed or (owner is not None and owner is not node):
                continue
            if owner is None and getattr(stmt, "name", None) not in used:
                continue
            seen.add(id(stmt))
            text = self.segment(stmt, dedent=stmt.col_offset)
            kept.append((stmt.lineno, text))
            used |= names_in_source(text)
        for stmt, owner in self.extra_imports:
            if owner is None or owner is node:
                assert isinstance(stmt, (ast.Import, ast.ImportFrom))
                imports.extend((s, stmt) for s in parse_imports(stmt))
        changed = True
        chosen: set[int] = set()
        while changed:
            changed = False
            for top in candidates:
                if top.index not in chosen and top.defines & used:
                    chosen.add(top.index)
                    used |= names_in(top.node)
                    changed = True
        for top in candidates:
            if top.index in chosen:
                kept.append((top.node.lineno, self.segment(top.node)))
        chosen_imports = {stmt for stmt, _ in imports if self.keep_import(stmt, used)}
        kept.sort(key=lambda item: item[0])
        return join_module(sorted(chosen_imports), [text for _, text in kept])

    def keep_import(self, stmt: ImportStmt, used: set[str]) -> bool:
        name = stmt.bound_name
        if name in used:
            return True
        if stmt.module.split(".")[0] == "airflow" and not stmt.level:
            return False
        return not self.mentioned_outside_imports(name)

    def mentioned_outside_imports(self, name: str) -> bool:
        """Whether the file names ``name`` anywhere but in its imports (a cheap, generous test: an import
        only the DAG structure used is dropped, an import nothing uses is kept)."""
        if self._mentioned is None:
            words: set[str] = set()
            for number, line in enumerate(self.lines, 1):
                if number not in self.import_lines:
                    words.update(_WORD.findall(line))
            self._mentioned = words
        return name in self._mentioned
