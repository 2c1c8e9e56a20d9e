"""Names in a generated DAG file: task and group variables, and the merged import block.

Variables are made from ids (``features.scale`` → ``features_scale``) and never collide with a
keyword, a builtin, an import, or any name the DAG's module code or tail code uses (a TaskFlow function
``extract`` called as task ``extract`` gets the variable ``extract_task``). Python reads identifiers in
NFKC form, so names are compared in that form too.

``Imports`` hands out the names of what the generated code imports. A name the module code already
imports under the same name is used as is (``from datetime import timedelta`` is not imported twice);
a name the module code binds to something else gets an alias (``from airflow.sdk import Label as
Label_``), so generated code never calls the user's object by mistake.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import unicodedata

from studio.codegen.pysource import ImportStmt
from studio.core.model import Dag, dag_leaves
from studio.core.values import CodeExpr

__all__ = [
    "AIRFLOW_SYMBOLS",
    "Imports",
    "Namespace",
    "binding_lines",
    "code_expr_names",
    "identifier",
    "module_bindings",
    "used_names",
]

# Where the Airflow authoring names come from, per target.
AIRFLOW_SYMBOLS: dict[str, dict[str, tuple[str, str]]] = {
    "airflow3": {
        "DAG": ("airflow.sdk", "DAG"),
        "Label": ("airflow.sdk", "Label"),
        "Param": ("airflow.sdk", "Param"),
        "TaskGroup": ("airflow.sdk", "TaskGroup"),
        "task": ("airflow.sdk", "task"),
    },
    "airflow2": {
        "DAG": ("airflow", "DAG"),
        "Label": ("airflow.utils.edgemodifier", "Label"),
        "Param": ("airflow.models.param", "Param"),
        "TaskGroup": ("airflow.utils.task_group", "TaskGroup"),
        "task": ("airflow.decorators", "task"),
    },
}

RESERVED = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))


def _nfkc(name: str) -> str:
    return unicodedata.normalize("NFKC", name)


def identifier(text: str, fallback: str = "task") -> str:
    """A valid Python identifier made from an Airflow id (invalid characters become ``_``)."""
    name = _nfkc(text)
    for _ in range(3):  # replacing a character can let NFKC compose its neighbours differently
        name = _nfkc("".join(ch if ("_" + ch).isidentifier() else "_" for ch in name))
        if name.isidentifier() or not name:
            break
    if not name:
        return fallback
    if not name.isidentifier():
        name = f"{fallback}_{name}"
    return name if name.isidentifier() else fallback


class Namespace:
    """The names taken in the generated module; ``claim`` returns a fresh one."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = {_nfkc(n) for n in taken} | RESERVED

    def reserve(self, names: set[str]) -> None:
        """Keep ``names`` from being claimed (names the generated code may import later)."""
        self.taken |= {_nfkc(n) for n in names}

    def is_free(self, name: str) -> bool:
        return _nfkc(name) not in self.taken

    def claim(self, base: str, alternative: str | None = None) -> str:
        """``base`` if free, else ``alternative``, ``alternative_2``, ``alternative_3``..."""
        alt = alternative or base
        candidates = [base, alt]
        for name in candidates:
            if self.is_free(name):
                self.taken.add(_nfkc(name))
                return _nfkc(name)
        number = 2
        while not self.is_free(f"{alt}_{number}"):
            number += 1
        name = _nfkc(f"{alt}_{number}")
        self.taken.add(name)
        return name


def used_names(tree: ast.AST) -> set[str]:
    """Every name a piece of code binds or reads anywhere (conservative: what variables must avoid)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
    return names


def code_expr_names(dag: Dag) -> set[str]:
    """Names the DAG's code expressions read: a task variable must not hide one of them."""
    names: set[str] = set()

    for value in dag_leaves(dag):
        if isinstance(value, CodeExpr):
            try:
                tree = ast.parse(f"({value.source}\n)", mode="eval")
            except SyntaxError:
                continue  # reported when the value is written
            names.update(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))
    return names


def _statement_bindings(stmt: ast.stmt) -> set[str]:
    """Names one module-level statement binds (not the locals of functions or classes it defines)."""
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
            return
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            out.add(node.id)
        elif isinstance(node, ast.alias):
            out.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, ast.Global):
            out.update(node.names)
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            out.add(node.name)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(stmt)
    return out


def module_bindings(tree: ast.Module) -> set[str]:
    """Names the module-level code binds other than by its top-level import statements."""
    out: set[str] = set()
    for stmt in tree.body:
        if not isinstance(stmt, (ast.Import, ast.ImportFrom)):
            out |= _statement_bindings(stmt)
    return out


def binding_lines(tree: ast.Module) -> dict[str, int]:
    """The line where each module-level name is first bound (imports included)."""
    lines: dict[str, int] = {}
    for stmt in tree.body:
        for name in _statement_bindings(stmt):
            lines.setdefault(name, stmt.lineno)
    return lines


class Imports:
    """The generated code's imports, merged with the module code's (deduplicated per bound name)."""

    def __init__(self, module_imports: list[ImportStmt], module_bound: set[str], namespace: Namespace) -> None:
        self.module_imports = list(module_imports)
        self.by_bound = {s.bound_name: s for s in module_imports}
        self.module_bound = module_bound
        self.namespace = namespace
        self.added: dict[tuple[str, str | None], ImportStmt] = {}
        self.claimed: dict[str, tuple[str, str | None]] = {}

    def name(self, module: str, name: str | None = None) -> str:
        """The name to write for ``from module import name`` (``import module`` when name is None)."""
        key = (module, name)
        if key in self.added:
            stmt = self.added[key]
            return stmt.bound_name
        bound = name if name is not None else module.split(".")[0]
        existing = self.by_bound.get(bound)
        if existing is not None and bound not in self.module_bound and self._same(existing, module, name):
            self.added[key] = existing
            return bound
        owner = self.claimed.get(bound)
        if existing is None and bound not in self.module_bound and owner in (None, key):
            stmt = ImportStmt(module, name)
        else:  # the module code (or another import) already uses the name for something else
            stmt = ImportStmt(module, name, self.namespace.claim(bound + "_"))
        self.claimed.setdefault(stmt.bound_name, key)
        self.added[key] = stmt
        return stmt.bound_name

    @staticmethod
    def _same(existing: ImportStmt, module: str, name: str | None) -> bool:
        if existing.level:
            return False
        if name is None:
            return existing.name is None and existing.module == module and existing.asname is None
        return existing.name == name and existing.asname is None

    def statements(self) -> list[ImportStmt]:
        """Every import of the generated module: the module code's plus the new ones."""
        out = list(self.module_imports)
        seen = set(out)
        for stmt in self.added.values():
            if stmt not in seen:
                seen.add(stmt)
                out.append(stmt)
        return out
