"""The abstract interpreter of a DAG file: top-level statements, classification, and the final DAGs.

Each top-level statement is either an import, kept helper code (functions, classes, statements that
do not touch DAG structure), a module constant (kept only if kept code refers to it), DAG structure
(interpreted, not kept), or tail code (``if __name__ == "__main__": dag.test()``). Interpreting never
executes the file: see ``evaluator.py`` for what is evaluated and ``statements.py`` for DAG bodies.
"""

from __future__ import annotations

import ast
from typing import Any

from studio.codegen.generator import GENERATED_MARKER  # the footer of generated docstrings: not module code
from studio.codegen.importer import dependencies as deps
from studio.codegen.importer.builder import Builder
from studio.codegen.importer.calls import Calls
from studio.codegen.importer.convert import build_dag
from studio.codegen.importer.evaluator import Evaluator, Unsupported
from studio.codegen.importer.functions import Functions
from studio.codegen.importer.module_code import ModuleCode, Top, names_in, source_segment, stored_names
from studio.codegen.importer.objects import DagNode, GroupNode, Opaque, TaskNode, XComArgNode, contains_structure
from studio.codegen.importer.operators import Operators
from studio.codegen.importer.pure import mutates
from studio.codegen.importer.residual import source_of, split_lines
from studio.codegen.importer.statements import Statements
from studio.codegen.importer.symbols import Scope, import_bindings
from studio.core.diagnostics import Diagnostic, warning
from studio.core.model import Dag


class Interpreter(Statements, Functions, Calls, Builder, Operators, Evaluator):
    """Reads one parsed file into DAG nodes; ``run()`` then ``result()``."""

    def __init__(self, text: str, file: str, tree: ast.Module) -> None:
        self.text = text
        self.file = file
        self.tree = tree
        self.lines = split_lines(text)
        self.module_doc = ast.get_docstring(tree, clean=False)
        self.scope = Scope(module=True)
        self.diagnostics: list[Diagnostic] = []
        self.dags: list[DagNode] = []
        self.dag_stack: list[DagNode] = []
        self.group_stack: list[GroupNode] = []
        self.events = 0
        self.mutations = 0  # in-place changes of lists and dicts (``tasks.append(t)``)
        self.depth = 0
        self.stmt_line = 0
        self.task_used: set[int] = set()
        self.consumed: set[int] = set()
        self.top: list[Top] = []
        self.hoisted: list[tuple[ast.stmt, DagNode | None]] = []
        self.extra_imports: list[tuple[ast.stmt, DagNode | None]] = []
        self.airflow_decorators: dict[int, list[ast.expr]] = {}
        self.local_opaques: list[tuple[Opaque, ast.stmt, DagNode | None]] = []
        self.pending_unparsed: list[str] = []
        self.structural_cache: dict[int, bool] = {}
        self.orphans: list[TaskNode] = []
        self._seen_warnings: set[tuple[str, int | None]] = set()

    # --- diagnostics --------------------------------------------------------------------------------
    def warn(self, message: str, line: int | None) -> None:
        key = (message, line)
        if key in self._seen_warnings:
            return
        self._seen_warnings.add(key)
        dag = self.dag_stack[-1].dag_id if self.dag_stack else None
        self.diagnostics.append(warning(message, self.file, line, dag_id=dag))

    def keep_unparsed(self, stmt: ast.stmt, reason: str, line: int | None) -> None:
        """A statement the importer cannot represent: kept verbatim in its DAG's ``unparsed``."""
        text = self.statement_text(stmt)
        dag = self.current_dag() or self.referenced_dag(stmt) or (self.dags[-1] if self.dags else None)
        if dag is None:
            if text not in self.pending_unparsed:
                self.pending_unparsed.append(text)
        elif text not in dag.unparsed:
            dag.unparsed.append(text)
        self.warn(f"{reason}; the statement is kept as code", line or stmt.lineno)

    def statement_text(self, stmt: ast.stmt) -> str:
        segment = source_of(self.lines, stmt, padded=True) or ast.unparse(stmt)
        lines = segment.split("\n")
        indent = stmt.col_offset
        return "\n".join(line[indent:] if line[:indent].strip() == "" else line for line in lines)

    def referenced_dag(self, stmt: ast.stmt) -> DagNode | None:
        for name in names_in(stmt):
            binding = self.scope.lookup(name)
            if binding is not None and isinstance(binding.value, DagNode):
                return binding.value
        return None

    def only_dag_referenced(self, stmt: ast.stmt) -> DagNode | None:
        dag = None
        for name in names_in(stmt):
            binding = self.scope.lookup(name)
            value = binding.value if binding is not None else None
            if isinstance(value, DagNode):
                dag = value
            elif isinstance(value, (TaskNode, XComArgNode, GroupNode)):
                return None
        return dag

    # --- the module ---------------------------------------------------------------------------------
    def run(self) -> None:
        for index, stmt in enumerate(self.tree.body):
            self.stmt_line = stmt.lineno
            self.top_statement(index, stmt)
        self.finish()

    def top_statement(self, index: int, stmt: ast.stmt) -> None:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for name, sym in import_bindings(stmt):
                self.scope.bind(name, sym, referable=True, statement=index)
            self.top.append(Top(index, stmt, "import"))
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            fv = self.define_function(stmt, top_level=True)
            self.scope.bind(stmt.name, fv, referable=True, statement=index)
            self.top.append(Top(index, stmt, "def", {stmt.name}))
        elif isinstance(stmt, ast.ClassDef):
            self.scope.bind(stmt.name, self.define_class(stmt, top_level=True), referable=True, statement=index)
            self.top.append(Top(index, stmt, "keep", {stmt.name}))
        elif _is_main_guard(stmt):
            dag = self.referenced_dag(stmt) or (self.dags[-1] if self.dags else None)
            self.top.append(Top(index, stmt, "tail", dag=dag))
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            generated = index == 0 and str(stmt.value.value).rstrip().endswith(GENERATED_MARKER)
            self.top.append(Top(index, stmt, "structure" if generated else "keep"))
        elif (
            isinstance(stmt, ast.Try)
            and stmt.body
            and all(isinstance(s, (ast.Import, ast.ImportFrom)) for s in stmt.body)
        ):
            for inner in stmt.body:
                for name, sym in import_bindings(inner):  # type: ignore[arg-type]
                    self.scope.bind(name, sym, referable=True, statement=index)
            self.top.append(Top(index, stmt, "try_import", stored_names(stmt)))
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            self.top_assign(index, stmt)
        elif (name := self.constant_mutated(stmt)) is not None:
            self.ev(stmt.value)  # type: ignore[attr-defined]
            self.top.append(Top(index, stmt, "update", {name}))
        elif not self.code_structural([stmt], self.scope, set()):
            self.keep_helper(index, stmt)
        else:
            self.top_structure(index, stmt)

    def top_structure(self, index: int, stmt: ast.stmt) -> None:
        self.top.append(Top(index, stmt, "structure"))
        try:
            self.exec_stmt(stmt)
        except (Unsupported, deps.DependencyError) as exc:
            dag = self.only_dag_referenced(stmt)
            if dag is not None and isinstance(stmt, ast.Expr):
                self.top[-1] = Top(index, stmt, "tail", dag=dag)
            else:
                self.keep_unparsed(stmt, str(exc), getattr(exc, "line", None))
        except RecursionError:
            self.keep_unparsed(stmt, "nested too deeply to follow", None)
        except Exception as exc:  # never a traceback for a construct the interpreter does not model
            self.keep_unparsed(stmt, f"could not interpret ({type(exc).__name__}: {exc})", None)

    def keep_helper(self, index: int, stmt: ast.stmt) -> None:
        defines = stored_names(stmt)
        for name in defines:
            self.scope.bind(name, Opaque(name, stmt.lineno), referable=True, statement=index)
        for name in names_in(stmt) - defines:
            binding = self.scope.lookup(name)
            if binding is not None and binding.referable and isinstance(binding.value, (list, dict, set)):
                self.scope.bind(name, Opaque(name, stmt.lineno), referable=True, statement=binding.statement)
        self.top.append(Top(index, stmt, "keep", defines))

    def top_assign(self, index: int, stmt: ast.Assign | ast.AnnAssign | ast.AugAssign) -> None:
        if stmt.value is None:
            self.top.append(Top(index, stmt, "keep"))
            return
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        plain_targets = all(isinstance(n, (ast.Name, ast.Tuple, ast.List)) for n in targets)
        before = self.events
        try:
            value = self.aug_value(stmt) if isinstance(stmt, ast.AugAssign) else self.ev(stmt.value)
        except (Unsupported, deps.DependencyError) as exc:
            self.top.append(Top(index, stmt, "structure"))
            self.keep_unparsed(stmt, str(exc), getattr(exc, "line", None))
            return
        structural = self.events != before or contains_structure(value)
        if not plain_targets and self.code_structural(targets, self.scope, set()):
            structural = True
        if not structural and not plain_targets:
            self.top_item_update(index, stmt, targets, value)
            return
        if structural:
            self.top.append(Top(index, stmt, "structure"))
            try:
                for target in targets:
                    self.assign_target(target, value)
            except (Unsupported, deps.DependencyError) as exc:
                self.keep_unparsed(stmt, str(exc), getattr(exc, "line", None))
            return
        defines = stored_names(stmt)
        if isinstance(value, Opaque) or not all(self.bind_target(t, value, True, index) for t in targets):
            self.keep_helper(index, stmt)
            return
        kind = "update" if isinstance(stmt, ast.AugAssign) else "constant"
        self.top.append(Top(index, stmt, kind, defines))

    def constant_mutated(self, stmt: ast.stmt) -> str | None:
        """``TABLES.append("c")`` on a module constant list/dict with plain arguments: the constant's name."""
        if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
            return None
        func = stmt.value.func
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
            return None
        binding = self.scope.lookup(func.value.id)
        if binding is None or not binding.referable or not mutates(binding.value, func.attr):
            return None
        if self.code_structural([stmt], self.scope, set()):
            return None
        return func.value.id

    def top_item_update(self, index: int, stmt: ast.stmt, targets: list[ast.expr], value: Any) -> None:
        """``CONFIG["key"] = value`` on a module constant: applied, kept if the constant is."""
        target = targets[0]
        if len(targets) == 1 and isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            binding = self.scope.lookup(target.value.id)
            if binding is not None and binding.referable and isinstance(binding.value, (dict, list)):
                try:
                    self.assign_target(target, value)
                    self.top.append(Top(index, stmt, "update", {target.value.id}))
                    return
                except Unsupported:
                    pass
        self.keep_helper(index, stmt)

    # --- the end ------------------------------------------------------------------------------------
    def finish(self) -> None:
        for binding in self.scope.vars.values():
            if isinstance(binding.value, DagNode):
                binding.value.registered = True
        for dag in self.dags:
            if not dag.registered:
                self.warn(
                    f"DAG {dag.dag_id!r} is neither used in a with block nor assigned to a module-level name: "
                    "Airflow does not load it",
                    dag.line,
                )
        loaded = self.loaded_dags()
        for op, stmt, dag in self.local_opaques:
            if not op.used:
                owner = dag or (loaded[-1] if loaded else None)
                text = self.statement_text(stmt)
                if owner is not None and text not in owner.unparsed:
                    owner.unparsed.append(text)
                self.warn("an assignment whose value the DAG does not use; the statement is kept as code", stmt.lineno)
        if loaded and self.pending_unparsed:
            loaded[0].unparsed[:0] = [t for t in self.pending_unparsed if t not in loaded[0].unparsed]
        for top in self.top:
            if top.kind == "tail":
                owner = top.dag if top.dag in loaded else (loaded[-1] if loaded else None)
                if owner is not None:
                    owner.tail.append(source_segment(self.lines, top.node))
        ids = [d.dag_id for d in loaded]
        for dag in loaded:
            if ids.count(dag.dag_id) > 1:
                self.warn(f"dag_id {dag.dag_id!r} is used by more than one DAG in this file", dag.line)

    def loaded_dags(self) -> list[DagNode]:
        return [d for d in self.dags if d.registered]

    def result(self) -> list[Dag]:
        code = ModuleCode(self)
        out: list[Dag] = []
        for task in self.orphans:
            if task.dag is None:
                self.warn(f"task {task.task_id!r} belongs to no DAG: Airflow ignores it", task.line)
        for node in self.loaded_dags():
            dag = build_dag(node, self.file, "")
            dag.module_code = code.for_dag(node, dag)
            out.append(dag)
        return out


def _is_main_guard(stmt: ast.stmt) -> bool:
    if not isinstance(stmt, ast.If) or not isinstance(stmt.test, ast.Compare):
        return False
    test = stmt.test
    parts = [test.left, *test.comparators]
    return (
        len(parts) == 2
        and isinstance(test.ops[0], ast.Eq)
        and any(isinstance(p, ast.Name) and p.id == "__name__" for p in parts)
        and any(isinstance(p, ast.Constant) and p.value == "__main__" for p in parts)
    )
