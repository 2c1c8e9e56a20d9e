"""Abstract evaluation of expressions: literals, names, containers, f-strings, operators, comprehensions.

``Evaluator.ev(node)`` returns a plain Python value when the expression is a literal computation,
an object of ``objects.py`` for DAG structure and imported names, or an ``Opaque`` holding the
expression's source when its value is only known when the file runs. Nothing of the file is executed:
calls go through ``calls.py``, which only evaluates known pure functions and Airflow's constructors.
"""

from __future__ import annotations

import ast
from typing import Any

from studio.codegen.importer.objects import (
    RETURN_KEY,
    BoundMethod,
    Builtin,
    ClassValue,
    DagNode,
    EnumStr,
    FunctionValue,
    GroupNode,
    Opaque,
    SourceFile,
    Symbol,
    TaskNode,
    Timezone,
    XComArgNode,
    contains_structure,
)
from studio.codegen.importer.pure import BUILTINS, KNOWN_ATTRIBUTES, MAX_ITEMS, NotConstant, has_method, is_plain
from studio.codegen.importer.residual import residual_source
from studio.codegen.importer.symbols import Scope, role_of


class Unsupported(Exception):
    """Code the importer cannot represent; the statement is kept as code with a warning."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


_PASSIVE_BUILTINS = {"print", "open", "globals", "locals", "vars", "getattr", "isinstance", "type", "repr"}


class Evaluator:
    """Expression evaluation; the interpreter mixes this in with calls and statements."""

    scope: Scope
    lines: list[str]
    module_doc: str | None

    # --- entry points ------------------------------------------------------------------------------
    def ev(self, node: ast.expr) -> Any:
        method = getattr(self, "ev_" + type(node).__name__, None)
        if method is None:
            return self.opaque(node)
        return method(node)

    def opaque(self, node: ast.expr) -> Opaque:
        """The expression kept as code (local names replaced by their literal values)."""
        source, unresolved = residual_source(node, self.scope, self.lines)
        if unresolved:
            names = ", ".join(sorted(set(unresolved)))
            self.warn(f"kept as code, but it uses names that exist only while the file runs: {names}", node.lineno)
        return Opaque(source, node.lineno)

    # --- leaves ------------------------------------------------------------------------------------
    def ev_Constant(self, node: ast.Constant) -> Any:
        return node.value

    def ev_Name(self, node: ast.Name) -> Any:
        binding = self.scope.lookup(node.id)
        if binding is not None:
            value = binding.value
            if isinstance(value, Opaque):
                value.used = True
            return value
        if node.id == "__doc__" and self.module_doc is not None:
            return self.module_doc
        if node.id == "__file__":
            return SourceFile(self.file.replace("\\", "/").rsplit("/", 1)[-1])
        if node.id in BUILTINS or node.id in _PASSIVE_BUILTINS:
            return Builtin(node.id)
        return Opaque(node.id, node.lineno)

    def ev_Attribute(self, node: ast.Attribute) -> Any:
        obj = self.ev(node.value)
        name = node.attr
        if isinstance(obj, Symbol):
            sym = obj.attr(name)
            if sym.path in KNOWN_ATTRIBUTES:
                return Timezone(KNOWN_ATTRIBUTES[sym.path], sym.source)
            role = role_of(sym)
            if role is not None and role.startswith("TriggerRule."):
                return EnumStr(name.lower())
            return sym
        if isinstance(obj, EnumStr) and name == "value":
            return str(obj)
        if isinstance(obj, TaskNode):
            if name == "output":
                return XComArgNode(obj)
            if name == "task_id":
                return obj.task_id
            if name == "dag_id" and obj.dag is not None:
                return obj.dag.dag_id
            if name == "dag" and obj.dag is not None:
                return obj.dag
            return BoundMethod(obj, name)
        if isinstance(obj, XComArgNode):
            if name == "operator":
                return obj.task
            if name == "output":
                return obj
            return BoundMethod(obj, name)
        if isinstance(obj, DagNode):
            if name == "dag_id":
                return obj.dag_id
            if name in ("tasks", "roots", "leaves"):
                tasks = list(obj.tasks.values())
                if name == "roots":
                    return [t for t in tasks if not t.upstream]
                return [t for t in tasks if not t.downstream] if name == "leaves" else tasks
            if name in ("task_ids", "task_dict"):
                return list(obj.tasks) if name == "task_ids" else dict(obj.tasks)
            return BoundMethod(obj, name)
        if isinstance(obj, GroupNode):
            if name == "group_id":
                return obj.group_id
            return BoundMethod(obj, name)
        if isinstance(obj, SourceFile) and name in ("name", "stem"):
            return getattr(obj, name)
        if isinstance(obj, (FunctionValue, ClassValue)) or (not is_plain(obj) and contains_structure(obj)):
            return BoundMethod(obj, name)
        if has_method(obj, name) or isinstance(obj, Builtin):
            return BoundMethod(obj, name)
        if contains_structure(obj):
            raise Unsupported(f"attribute {name!r} of a DAG object", node.lineno)
        return self.opaque(node)

    def ev_Subscript(self, node: ast.Subscript) -> Any:
        obj = self.ev(node.value)
        index = self.ev(node.slice)
        if isinstance(obj, XComArgNode):
            if not isinstance(index, str):
                raise Unsupported("an XComArg can only be indexed with a string key", node.lineno)
            if obj.key != RETURN_KEY:
                raise Unsupported("an XComArg with a key cannot be indexed again", node.lineno)
            return XComArgNode(obj.task, index)
        if isinstance(obj, (list, tuple, dict, str)) and (is_plain(index) or isinstance(index, slice)):
            try:
                return obj[index]
            except (KeyError, IndexError, TypeError):
                return self.opaque(node)
        self._no_structure_inside(obj, node)
        return self.opaque(node)

    def ev_Slice(self, node: ast.Slice) -> Any:
        parts = [self.ev(p) if p is not None else None for p in (node.lower, node.upper, node.step)]
        if all(p is None or (isinstance(p, int) and not isinstance(p, bool)) for p in parts):
            return slice(*parts)
        return Opaque(ast.unparse(node), node.lineno)

    # --- containers --------------------------------------------------------------------------------
    def _items(self, elts: list[ast.expr]) -> list[Any] | None:
        out: list[Any] = []
        for elt in elts:
            if isinstance(elt, ast.Starred):
                value = self.ev(elt.value)
                if not isinstance(value, (list, tuple, str)):
                    return None
                out.extend(value)
            else:
                out.append(self.ev(elt))
        return out

    def ev_List(self, node: ast.List) -> Any:
        items = self._items(node.elts)
        return items if items is not None else self.opaque(node)

    def ev_Tuple(self, node: ast.Tuple) -> Any:
        items = self._items(node.elts)
        return tuple(items) if items is not None else self.opaque(node)

    def ev_Set(self, node: ast.Set) -> Any:
        items = self._items(node.elts)
        if items is None or not is_plain(items):
            return self.opaque(node)
        return set(items)

    def ev_Dict(self, node: ast.Dict) -> Any:
        out: dict[Any, Any] = {}
        for key_node, value_node in zip(node.keys, node.values):
            if key_node is None:
                merged = self.ev(value_node)
                if not isinstance(merged, dict):
                    return self.opaque(node)
                out.update(merged)
                continue
            key = self.ev(key_node)
            if not is_plain(key) or isinstance(key, (list, dict, set)):
                return self.opaque(node)
            out[key] = self.ev(value_node)
        return out

    def ev_JoinedStr(self, node: ast.JoinedStr) -> Any:
        parts: list[str] = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
                continue
            assert isinstance(value, ast.FormattedValue)
            inner = self.ev(value.value)
            if isinstance(inner, XComArgNode) and value.conversion == -1 and value.format_spec is None:
                inner = inner.template()
            spec = self.ev(value.format_spec) if value.format_spec is not None else ""
            if not isinstance(inner, (str, int, float, bool, type(None))) or not isinstance(spec, str):
                self._no_structure_inside(inner, node)
                return self.opaque(node)
            if value.conversion == ord("r"):
                inner = repr(inner)
            elif value.conversion == ord("a"):
                inner = ascii(inner)
            elif value.conversion == ord("s"):
                inner = str(inner)
            try:
                parts.append(format(inner, spec))
            except (ValueError, TypeError):
                return self.opaque(node)
        return "".join(parts)

    def ev_NamedExpr(self, node: ast.NamedExpr) -> Any:
        value = self.ev(node.value)
        self.scope.bind(node.target.id, value)
        return value

    def ev_Call(self, node: ast.Call) -> Any:
        return self.call(node)

    def ev_Lambda(self, node: ast.Lambda) -> Any:
        return self.opaque(node)

    # --- comprehensions ----------------------------------------------------------------------------
    def _comprehension(self, node: Any, make: Any) -> Any:
        outer = self.scope
        self.scope = Scope(outer)
        results: list[Any] = []
        try:
            if not self._generate(node, node.generators, results):
                return None
        finally:
            self.scope = outer
        return make(results)

    def _generate(self, node: Any, generators: list[ast.comprehension], out: list[Any]) -> bool:
        gen, rest = generators[0], generators[1:]
        iterable = self.ev(gen.iter)
        items = iterable_items(iterable)
        if items is None or gen.is_async:
            return False
        for item in items:
            if not self.bind_target(gen.target, item):
                return False
            conditions = [self.ev(cond) for cond in gen.ifs]
            if not all(is_plain(c) for c in conditions):
                return False
            if not all(conditions):
                continue
            if rest:
                if not self._generate(node, rest, out):
                    return False
            elif isinstance(node, ast.DictComp):
                out.append((self.ev(node.key), self.ev(node.value)))
            else:
                out.append(self.ev(node.elt))
            if len(out) > MAX_ITEMS:
                return False
        return True

    def _comp_or_opaque(self, node: Any, make: Any) -> Any:
        result = self._comprehension(node, make)
        return self.opaque(node) if result is None else result

    def ev_ListComp(self, node: ast.ListComp) -> Any:
        return self._comp_or_opaque(node, list)

    def ev_GeneratorExp(self, node: ast.GeneratorExp) -> Any:
        return self._comp_or_opaque(node, list)

    def ev_SetComp(self, node: ast.SetComp) -> Any:
        result = self._comprehension(node, list)
        return set(result) if result is not None and is_plain(result) else self.opaque(node)

    def ev_DictComp(self, node: ast.DictComp) -> Any:
        result = self._comprehension(node, list)
        if result is None or not all(is_plain(k) for k, _ in result):
            return self.opaque(node)
        return dict(result)

    # --- binding -----------------------------------------------------------------------------------
    def bind_target(self, target: ast.expr, value: Any, referable: bool = False, statement: int | None = None) -> bool:
        """Assign ``value`` to a name or a (nested) tuple of names; False when it cannot be unpacked."""
        if isinstance(target, ast.Name):
            self.scope.bind(target.id, value, referable, statement)
            return True
        if isinstance(target, (ast.Tuple, ast.List)):
            items = iterable_items(value)
            starred = [i for i, t in enumerate(target.elts) if isinstance(t, ast.Starred)]
            if items is None:
                return False
            if starred:
                i = starred[0]
                after = len(target.elts) - i - 1
                if len(items) < len(target.elts) - 1:
                    return False
                parts = [*items[:i], list(items[i : len(items) - after]), *items[len(items) - after :]]
            else:
                if len(items) != len(target.elts):
                    return False
                parts = list(items)
            for elt, item in zip(target.elts, parts):
                inner = elt.value if isinstance(elt, ast.Starred) else elt
                if not self.bind_target(inner, item, referable, statement):
                    return False
            return True
        return False

    def _no_structure_inside(self, value: Any, node: ast.expr) -> None:
        if contains_structure(value):
            raise Unsupported(
                "a task, XComArg or DAG object is used in an expression the importer cannot follow", node.lineno
            )


def iterable_items(value: Any) -> list[Any] | None:
    """The items a ``for`` loop over ``value`` sees, when known."""
    if isinstance(value, (list, tuple, str)):
        return list(value)
    if isinstance(value, dict):
        return list(value)
    if isinstance(value, (set, frozenset)) and is_plain(value):
        return sorted(value, key=repr)
    return None


def require_str(value: Any, what: str, line: int) -> str:
    if not isinstance(value, str):
        raise Unsupported(f"{what} must be a string known without running the file", line)
    return value


__all__ = ["Builtin", "Evaluator", "NotConstant", "Unsupported", "iterable_items", "require_str"]
