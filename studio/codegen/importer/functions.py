"""Functions of the DAG file: definitions (TaskFlow, ``@task_group``, ``@dag`` or plain), and calling them.

``@dag`` and ``@task_group`` functions, and plain helper functions that create tasks, are interpreted
when called (their bodies run through ``statements.py`` in a new scope, parameters bound the way Python
binds them). TaskFlow and other plain functions are never interpreted: they become module code.
Functions defined inside DAG code are moved to the module code, with a warning when they need names
that only exist inside the DAG code.
"""

from __future__ import annotations

import ast
import builtins
from typing import Any

from studio.codegen.importer.builder import CallArgs
from studio.codegen.importer.evaluator import Unsupported
from studio.codegen.importer.objects import ClassValue, DagNode, DagParamValue, FunctionValue, Symbol
from studio.codegen.importer.statements import ReturnSignal
from studio.codegen.importer.symbols import Scope, literal_template_fields, role_of

MAX_DEPTH = 40
UNSUPPORTED_DECORATORS = {
    "task.run_if": "@task.run_if conditions are not supported by the importer yet",
    "task.skip_if": "@task.skip_if conditions are not supported by the importer yet",
    "asset": "@asset functions (Airflow 3 assets) each define a DAG, which the importer does not read yet",
}


class Functions:
    """Definitions and calls of the file's functions; mixed into the interpreter."""

    def define_function(self, stmt: ast.FunctionDef | ast.AsyncFunctionDef, top_level: bool) -> FunctionValue:
        fv = FunctionValue(stmt, self.scope, top_level=top_level)
        for dec in stmt.decorator_list:
            found = self.decorator_of(dec)
            if found is None:
                continue
            if fv.kind != "plain":
                self.warn(f"{stmt.name} has more than one Airflow decorator; only the first is used", dec.lineno)
                continue
            fv.kind, fv.operator = found.kind, found.operator
            fv.kwargs, fv.kwarg_nodes, fv.kwarg_lines = dict(found.kwargs), dict(found.nodes), dict(found.lines)
            fv.decorators.append(dec)
        self.airflow_decorators[id(stmt)] = fv.decorators
        if not top_level:
            self.hoisted.append((stmt, self.current_dag()))
            self.check_hoisted(stmt)
        return fv

    def check_hoisted(self, stmt: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        """A function moved to module level must not need names that exist only inside the DAG code."""
        free = free_names(stmt)
        local = sorted(n for n in free if (b := self.scope.lookup(n)) is not None and not b.referable)
        if local:
            self.warn(
                f"{stmt.name} is moved to the module code, but it uses {', '.join(local)}, which exist only "
                "inside the DAG code; define them at module level",
                stmt.lineno,
            )
        known = self.scope.globals.vars.get(stmt.name)
        if known is not None and isinstance(known.value, (FunctionValue, ClassValue)) and known.value.node is not stmt:
            self.warn(f"{stmt.name} is also defined at module level; the module code keeps both", stmt.lineno)

    def decorator_of(self, dec: ast.expr) -> Any:
        """The Airflow decorator ``dec`` is (``@task``, ``@task.branch(...)``, ``@dag``...), or None."""
        from studio.codegen.importer.calls import Decorator

        try:
            head = self.ev(dec.func if isinstance(dec, ast.Call) else dec)
        except Unsupported as exc:
            self.warn(f"decorator: {exc}", dec.lineno)
            return None
        role = role_of(head) if isinstance(head, Symbol) else None
        if role in UNSUPPORTED_DECORATORS:
            self.warn(f"{UNSUPPORTED_DECORATORS[role]}; the decorated function is kept as code", dec.lineno)
            return None
        if role in ("setup", "teardown"):
            self.warn(f"@{role} tasks are not supported by the importer yet; imported as a plain @task", dec.lineno)
            return Decorator("task")
        if not isinstance(dec, ast.Call):
            if role is not None and (role in ("task", "dag", "task_group") or role.startswith("task.")):
                return self.decorator_for(role, head, None)
            return None
        try:
            value = self.ev(dec)
        except Unsupported as exc:
            self.warn(f"decorator: {exc}", dec.lineno)
            return None
        return value if isinstance(value, Decorator) else None

    def define_class(self, stmt: ast.ClassDef, top_level: bool) -> ClassValue:
        bases: list[Any] = []
        for base in stmt.bases:
            try:
                bases.append(self.ev(base))
            except Unsupported:
                bases.append(None)
        if not top_level:
            self.hoisted.append((stmt, self.current_dag()))
            self.check_hoisted(stmt)
        return ClassValue(stmt.name, stmt, bases, literal_template_fields(stmt))

    # --- calling functions of the file --------------------------------------------------------------
    def run_function(self, fv: FunctionValue, ca: CallArgs, param: bool = False) -> Any:
        if self.depth > MAX_DEPTH:
            raise Unsupported("functions calling each other too deeply", ca.line)
        scope = Scope(fv.scope)
        self.bind_params(fv, ca, scope, param)
        outer, line = self.scope, self.stmt_line
        self.scope = scope
        self.depth += 1
        try:
            self.exec_block(fv.node.body)
            return None
        except ReturnSignal as ret:
            return ret.value
        finally:
            self.scope, self.stmt_line = outer, line
            self.depth -= 1

    def bind_params(self, fv: FunctionValue, ca: CallArgs, scope: Scope, param: bool) -> None:
        spec = fv.node.args
        positional = [a.arg for a in spec.posonlyargs + spec.args]
        values: dict[str, Any] = {}
        extra: list[Any] = []
        for i, value in enumerate(ca.args):
            if i < len(positional):
                values[positional[i]] = value
            elif spec.vararg is not None:
                extra.append(value)
            else:
                raise Unsupported(f"{fv.name}() got too many positional arguments", ca.line)
        names = set(positional) | {a.arg for a in spec.kwonlyargs}
        rest: dict[str, Any] = {}
        for name, value in ca.kwargs.items():
            if name in names:
                values[name] = value
            elif spec.kwarg is not None:
                rest[name] = value
            else:
                raise Unsupported(f"{fv.name}() got an unexpected argument {name!r}", ca.line)
        defaults = dict(zip(positional[len(positional) - len(spec.defaults) :], spec.defaults))
        defaults.update({a.arg: d for a, d in zip(spec.kwonlyargs, spec.kw_defaults) if d is not None})
        outer = self.scope
        self.scope = fv.scope
        try:
            for name in [*positional, *(a.arg for a in spec.kwonlyargs)]:
                if name not in values:
                    if name not in defaults:
                        raise Unsupported(f"{fv.name}() is missing argument {name!r}", ca.line)
                    values[name] = self.ev(defaults[name])
        finally:
            self.scope = outer
        for name, value in values.items():
            scope.bind(name, DagParamValue(name) if param else value)
        if param and values:
            self.dag_params(fv, values, ca.line)
        if spec.vararg is not None:
            scope.bind(spec.vararg.arg, tuple(extra))
        if spec.kwarg is not None:
            scope.bind(spec.kwarg.arg, rest)

    def run_dag_function(self, fv: FunctionValue, ca: CallArgs) -> DagNode:
        kwargs = dict(fv.kwargs)
        dag_id = kwargs.pop("dag_id", fv.name)
        if not isinstance(dag_id, str):
            raise Unsupported("dag_id must be a string known without running the file", ca.line)
        dag = self.new_dag(dag_id, fv.node.lineno)
        self.set_dag_args(
            dag, kwargs, CallArgs(fv.node.lineno, kwargs=kwargs, kw_nodes=fv.kwarg_nodes, kw_lines=fv.kwarg_lines)
        )
        doc = ast.get_docstring(fv.node, clean=False)
        if doc and "doc_md" not in dag.args:
            dag.args["doc_md"] = doc
            dag.arg_lines["doc_md"] = fv.node.body[0].lineno
        dag.registered = True
        self.consumed.add(id(fv.node))
        self.dag_stack.append(dag)
        try:
            self.run_function(fv, ca, param=True)
        finally:
            self.dag_stack.pop()
        return dag

    def dag_params(self, fv: FunctionValue, values: dict[str, Any], line: int) -> None:
        dag = self.dag_stack[-1]
        params = dict(dag.args.get("params") or {})
        for name, value in values.items():
            params[name] = self.model_value(value, None, f"parameter {name} of {fv.name}", line)
        dag.args["params"] = params
        self.warn(
            f"the parameters of @dag function {fv.name} become DAG params; where the body uses them "
            "they are kept as code",
            fv.node.lineno,
        )

    def run_group_function(self, fv: FunctionValue, ca: CallArgs) -> Any:
        kwargs = dict(fv.kwargs)
        group_id = kwargs.pop("group_id", fv.name)
        gca = CallArgs(ca.line, kwargs=kwargs, kw_nodes=dict(fv.kwarg_nodes), kw_lines=dict(fv.kwarg_lines))
        group = self.make_group(gca, suffix=True, group_id=group_id)
        doc = ast.get_docstring(fv.node, clean=False)
        if doc and "tooltip" not in group.args:
            group.args["tooltip"] = doc
        self.consumed.add(id(fv.node))
        self.group_stack.append(group)
        try:
            result = self.run_function(fv, ca)
        finally:
            self.group_stack.pop()
        return result if result is not None else group

    def run_factory(self, fv: FunctionValue, ca: CallArgs) -> Any:
        self.consumed.add(id(fv.node))
        return self.run_function(fv, ca)


def free_names(stmt: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> set[str]:
    """Names a definition's body reads but neither binds nor gets from builtins (decorators excluded)."""
    loaded: set[str] = set()
    bound: set[str] = set()
    for part in stmt.body:
        for node in ast.walk(part):
            if isinstance(node, ast.Name):
                (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(node.name)
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                bound.update((a.asname or a.name).split(".")[0] for a in node.names)
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        args = stmt.args
        bound.update(a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs])
        bound.update(a.arg for a in (args.vararg, args.kwarg) if a is not None)
    return loaded - bound - set(dir(builtins))
