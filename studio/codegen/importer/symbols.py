"""Names: scopes of the abstract interpreter, and what an imported name is in Airflow's terms.

A name imported from Airflow is recognised by its fully qualified path, whatever it was imported as
(``from airflow.sdk import DAG as D``, ``import airflow.providers.standard.operators.bash as b``,
``airflow.models.DAG``). ``role_of`` names the role of DAG-structure symbols (the DAG class, ``@task``,
``TaskGroup``, ``chain``, ``Label``...); ``operator_class`` maps an operator class to its catalog spec
(Airflow 3 and 2 paths, old aliases such as ``airflow.operators.dummy.DummyOperator``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from studio.codegen.importer.objects import ClassValue, OperatorClass, Symbol
from studio.core.catalog import get_spec, spec_for_class


@dataclass
class Binding:
    """A name's value; ``referable`` when kept module code defines it (code expressions may use it)."""

    value: Any
    referable: bool = False
    statement: int | None = None  # index of the top-level statement that bound it


class Scope:
    """A namespace: the module's globals, a function call's locals, or a comprehension's."""

    def __init__(self, parent: Scope | None = None, *, module: bool = False) -> None:
        self.parent = parent
        self.module = module
        self.vars: dict[str, Binding] = {}

    def lookup(self, name: str) -> Binding | None:
        scope: Scope | None = self
        while scope is not None:
            found = scope.vars.get(name)
            if found is not None:
                return found
            scope = scope.parent
        return None

    def bind(self, name: str, value: Any, referable: bool = False, statement: int | None = None) -> None:
        self.vars[name] = Binding(value, referable, statement)

    @property
    def globals(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope


def import_bindings(node: ast.Import | ast.ImportFrom) -> list[tuple[str, Symbol]]:
    """(bound name, Symbol) for each name an import statement binds."""
    out: list[tuple[str, Symbol]] = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                out.append((alias.asname, Symbol(alias.name, alias.asname)))
            else:
                top = alias.name.split(".")[0]
                out.append((top, Symbol(top, top)))
        return out
    module = "." * node.level + (node.module or "")
    for alias in node.names:
        if alias.name == "*":
            continue
        bound = alias.asname or alias.name
        path = f"{module}.{alias.name}" if module and not module.endswith(".") else module + alias.name
        out.append((bound, Symbol(path, bound)))
    return out


# --- roles of Airflow names -------------------------------------------------------------------------
_ROLE_BY_NAME = {
    "DAG": "DAG",
    "dag": "dag",
    "task": "task",
    "task_group": "task_group",
    "TaskGroup": "TaskGroup",
    "chain": "chain",
    "chain_linear": "chain_linear",
    "cross_downstream": "cross_downstream",
    "Label": "Label",
    "EdgeModifier": "Label",
    "TriggerRule": "TriggerRule",
    "Param": "Param",
    "XComArg": "XComArg",
    "days_ago": "days_ago",
    "setup": "setup",
    "teardown": "teardown",
    "BaseOperator": "BaseOperator",
    "BaseSensorOperator": "BaseOperator",
    "Variable": "Variable",
    "asset": "asset",
}
_TASK_MODULES = ("airflow.decorators", "airflow.sdk", "airflow.sdk.definitions.decorators", "airflow")

# Airflow 2 modules and class names that Airflow renamed; mapped before looking a class up in the catalog.
MODULE_ALIASES = {
    "airflow.operators.dummy_operator": "airflow.operators.empty",
    "airflow.operators.dummy": "airflow.operators.empty",
    "airflow.operators.bash_operator": "airflow.operators.bash",
    "airflow.operators.python_operator": "airflow.operators.python",
    "airflow.operators.email_operator": "airflow.operators.email",
    "airflow.sensors.filesystem_sensor": "airflow.sensors.filesystem",
    "airflow.contrib.operators.docker_operator": "airflow.providers.docker.operators.docker",
    "airflow.operators.docker_operator": "airflow.providers.docker.operators.docker",
}
CLASS_RENAMES = {"DummyOperator": "EmptyOperator"}


def split_path(path: str) -> tuple[str, str]:
    module, _, name = path.rpartition(".")
    return module, name


def role_of(value: Any) -> str | None:
    """The DAG-structure role of a Symbol (``"DAG"``, ``"task"``, ``"task.branch"``, ``"chain"``...)."""
    if not isinstance(value, Symbol) or not value.path.startswith("airflow"):
        return None
    path = value.path
    for module in _TASK_MODULES:
        prefix = f"{module}.task."
        if path.startswith(prefix):
            return "task." + path[len(prefix) :]
    module, name = split_path(path)
    if module.endswith(".asset"):
        return "asset"
    if module.endswith(".TriggerRule"):
        return "TriggerRule." + name
    return _ROLE_BY_NAME.get(name)


def operator_class(value: Any) -> OperatorClass | None:
    """The operator class a callee names, or None when it is not an (imported or in-file) operator."""
    if isinstance(value, ClassValue):
        return OperatorClass("custom", value.name, class_templated(value))
    if not isinstance(value, Symbol):
        return None
    return operator_for_path(value.path)


def operator_for_path(path: str) -> OperatorClass | None:
    """An imported class path resolved through the catalog; ``custom`` for other operator-like classes."""
    module, name = split_path(path)
    if not module:
        return None
    module = MODULE_ALIASES.get(module, module)
    name = CLASS_RENAMES.get(name, name)
    spec = spec_for_class(module, name)
    if spec is None and module.startswith("airflow."):
        spec = _spec_by_class_name(name, module)
    if spec is not None:
        return OperatorClass(spec.id, None, frozenset(spec.templated_fields))
    return None


def _spec_by_class_name(name: str, module: str) -> Any:
    """Catalog spec for ``airflow.operators.<x>.Name``-style paths whose module the catalog does not list."""
    if not (module.startswith("airflow.operators") or module.startswith("airflow.sensors")):
        return None
    spec = get_spec(name)
    return spec if spec is not None and spec.kind != "taskflow" else None


def looks_like_operator(value: Any) -> bool:
    """A class name such as ``HttpOperator``/``SqlSensor`` (used when the call has no task_id)."""
    if isinstance(value, Symbol):
        name = split_path(value.path)[1]
        return name.endswith(("Operator", "Sensor"))
    return False


def class_templated(cls: ClassValue) -> frozenset[str] | None:
    """Template fields of an in-file operator class: its own literal ones, else its base's."""
    if cls.template_fields is not None:
        return frozenset(cls.template_fields)
    for base in cls.base_paths:
        if isinstance(base, ClassValue):
            found = class_templated(base)
            if found is not None:
                return found
        elif isinstance(base, Symbol):
            if role_of(base) == "BaseOperator":
                return frozenset()
            op = operator_for_path(base.path)
            if op is not None:
                return op.templated
    return None


def is_operator_subclass(cls: ClassValue) -> bool:
    """Whether an in-file class derives (as far as the file tells) from BaseOperator or an operator."""
    for base in cls.base_paths:
        if isinstance(base, ClassValue) and is_operator_subclass(base):
            return True
        if isinstance(base, Symbol) and (
            role_of(base) == "BaseOperator" or operator_for_path(base.path) or looks_like_operator(base)
        ):
            return True
    return False


def literal_template_fields(node: ast.ClassDef) -> tuple[str, ...] | None:
    """``template_fields = ("a", "b")`` (or a list, or a bare string) in a class body."""
    for stmt in node.body:
        targets: list[ast.expr] = []
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == "template_fields" for t in targets):
            try:
                fields = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                return None
            if isinstance(fields, str):
                return (fields,)
            if isinstance(fields, (list, tuple)) and all(isinstance(f, str) for f in fields):
                return tuple(fields)
            return None
    return None
