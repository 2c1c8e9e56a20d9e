"""Dynamic task mapping: ``Operator.partial(...).expand(...)`` / ``.expand_kwargs(...)`` build a
``MappedOperator``; at run time ``unmap(context, map_index)`` makes the real operator of one map index."""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping, Sequence
from typing import Any

from studio.sdk.abstractoperator import AbstractOperator, merged_defaults, validate_key
from studio.sdk.baseoperator import BaseOperator
from studio.sdk.node import DagContext, TaskGroupContext
from studio.sdk.trigger_rule import TriggerRule
from studio.sdk.xcom_arg import XComArg, find_xcom_args, resolve_xcom_args


def operator_parameters(cls: type) -> set[str]:
    """Every keyword the ``__init__`` of ``cls`` and its bases accept."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        names.update(p for p in inspect.signature(inspect.unwrap(init)).parameters if p != "self")
    return names - {"args", "kwargs"}


def operator_defaults(cls: type) -> dict[str, Any]:
    """The default value of every keyword of ``cls``'s ``__init__`` chain (the most derived wins)."""
    found: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        for name, param in inspect.signature(inspect.unwrap(init)).parameters.items():
            if param.default is not inspect.Parameter.empty:
                found[name] = param.default
    return found


class OperatorPartial:
    """``Operator.partial(**kwargs)``: the fixed arguments of a mapped operator, waiting for ``expand``."""

    def __init__(self, operator_class: type[BaseOperator], kwargs: dict[str, Any], mapped_into: str | None = None):
        if "task_id" not in kwargs:
            raise TypeError("partial() missing required keyword argument 'task_id'")
        self.operator_class = operator_class
        self.kwargs = dict(kwargs)
        self.mapped_into = mapped_into

    def expand(self, **mapped_kwargs: Any) -> MappedOperator:
        if not mapped_kwargs:
            raise TypeError("no arguments to expand against")
        clash = set(mapped_kwargs) & set(
            self.kwargs if self.mapped_into is None else self.kwargs.get(self.mapped_into, {})
        )
        if clash:
            raise TypeError(f"mapping already partial argument(s): {', '.join(sorted(clash))}")
        check_expand_arguments(mapped_kwargs)
        return MappedOperator.create(self, mapped_kwargs, kind="dict_of_lists")

    def expand_kwargs(self, kwargs: Any) -> MappedOperator:
        if not isinstance(kwargs, (XComArg, Sequence)) or isinstance(kwargs, str):
            raise TypeError(f"expected XComArg or list[dict], not {type(kwargs).__name__}")
        return MappedOperator.create(self, kwargs, kind="list_of_dicts")


class MappedOperator(AbstractOperator):
    """A task expanded at run time into one task instance per map index (``task_id[i]``)."""

    is_mapped = True

    def __init__(self, partial: OperatorPartial, expand_input: Any, kind: str, dag: Any, group: Any) -> None:
        self.operator_class = partial.operator_class
        self.mapped_into = partial.mapped_into
        self.expand_input = expand_input
        self.expand_kind = kind
        self.upstream_task_ids: set[str] = set()
        self.downstream_task_ids: set[str] = set()
        self.dag = None
        self.task_group = None
        kwargs = dict(partial.kwargs)
        defaults, params = merged_defaults(dag, group, kwargs.pop("params", None), kwargs.pop("default_args", None))
        accepted = operator_parameters(self.operator_class)
        for name, value in defaults.items():
            if name in accepted and name not in kwargs:
                kwargs[name] = value
        kwargs["params"] = params
        self.partial_kwargs = kwargs
        task_id = kwargs["task_id"]
        self.task_id = group.child_id(task_id) if group is not None else task_id
        validate_key(self.task_id)
        probe = {k: v for k, v in kwargs.items() if k not in ("task_id", "dag", "task_group")}
        self.trigger_rule = TriggerRule(probe.get("trigger_rule", TriggerRule.ALL_SUCCESS))
        self.retries = int(probe.get("retries") or 0)
        self.priority_weight = probe.get("priority_weight", 1)
        self.weight_rule = probe.get("weight_rule", "downstream")
        self.template_fields = self.operator_class.template_fields
        self.template_ext = self.operator_class.template_ext
        self.is_setup = False
        self.is_teardown = False
        self.on_failure_fail_dagrun = False
        self.do_xcom_push = probe.get("do_xcom_push", True)
        self.multiple_outputs = probe.get("multiple_outputs", False)
        self.probe_kwargs = probe

    @classmethod
    def create(cls, partial: OperatorPartial, expand_input: Any, kind: str) -> MappedOperator:
        dag = partial.kwargs.get("dag") or DagContext.get_current()
        group = partial.kwargs.get("task_group") or (TaskGroupContext.get_current(dag) if dag else None)
        if mapped_task_groups_of(group):
            raise NotImplementedError("operator expansion in an expanded task group is not yet supported")
        op = cls(partial, expand_input, kind, dag, group)
        if group is not None:
            group.add(op)
        if dag is not None:
            dag.add_task(op)
        for arg in op.iter_xcom_dependencies():
            op.set_upstream(arg.operator)
        return op

    def __repr__(self) -> str:
        return f"<Mapped({self.operator_class.__name__}): {self.task_id}>"

    def __getattr__(self, name: str) -> Any:
        """Operator arguments: the partial value, else the operator class's default."""
        probe = self.__dict__.get("probe_kwargs", {})
        if name in probe:
            return probe[name]
        defaults = operator_defaults(self.__dict__.get("operator_class", BaseOperator))
        if name in defaults:
            return defaults[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def task_type(self) -> str:
        return self.operator_class.__name__

    def iter_xcom_dependencies(self) -> list[XComArg]:
        found = find_xcom_args(self.expand_input)
        fields = set(self.template_fields)
        for name, value in self.partial_kwargs.items():
            if name in fields:
                found.extend(find_xcom_args(value))
        return found

    def literal_length(self) -> int | None:
        """The number of map indexes when it does not depend on any XCom, else None."""
        return literal_input_length(self.expand_kind, self.expand_input)

    def map_length(self, context: Mapping[str, Any]) -> int:
        return input_length(self.expand_kind, self.expand_input, context)

    def mapped_kwargs(self, context: Mapping[str, Any], map_index: int) -> dict[str, Any]:
        """The expanded keyword values of one map index (the last keyword varies fastest, like Airflow)."""
        return expanded_values(self.expand_kind, self.expand_input, context, map_index)

    def unmap(self, context: Mapping[str, Any], map_index: int) -> BaseOperator:
        """The real operator of ``map_index``, not registered in the DAG (same id, group, relatives)."""
        expanded = self.mapped_kwargs(context, map_index)
        kwargs = {k: v for k, v in self.partial_kwargs.items() if k not in ("dag", "task_group")}
        if self.mapped_into is not None:
            kwargs[self.mapped_into] = {**kwargs.get(self.mapped_into, {}), **expanded}
        else:
            kwargs.update(expanded)
        kwargs["task_id"] = self.task_id
        op = self.operator_class(**kwargs, dag=self.dag, task_group=self.task_group, _unmapped=True)
        op.upstream_task_ids = set(self.upstream_task_ids)
        op.downstream_task_ids = set(self.downstream_task_ids)
        op.is_setup, op.is_teardown = self.is_setup, self.is_teardown
        return op


def _resolved_input(kind: str, expand_input: Any, context: Mapping[str, Any]) -> Any:
    if kind == "list_of_dicts":
        value = resolve_xcom_args(expand_input, context) if isinstance(expand_input, XComArg) else expand_input
        return list(value)
    return {k: resolve_xcom_args(v, context) if isinstance(v, XComArg) else v for k, v in expand_input.items()}


def literal_input_length(kind: str, expand_input: Any) -> int | None:
    """The length of an expand input that holds no XCom reference (parse-time), else None."""
    if kind == "list_of_dicts":
        return None if isinstance(expand_input, (XComArg, MappedArgument)) else len(expand_input)
    if any(isinstance(v, (XComArg, MappedArgument)) for v in expand_input.values()):
        return None
    return math.prod(len(v) for v in expand_input.values())


def input_length(kind: str, expand_input: Any, context: Mapping[str, Any]) -> int:
    """How many map indexes an expand input (``dict_of_lists`` or ``list_of_dicts``) gives."""
    value = _resolved_input(kind, expand_input, context)
    if kind == "list_of_dicts":
        return len(value)
    return math.prod(len(_sized(k, v)) for k, v in value.items())


def expanded_values(kind: str, expand_input: Any, context: Mapping[str, Any], map_index: int) -> dict[str, Any]:
    """The keyword values of ``map_index`` of an expand input (the last keyword varies fastest)."""
    value = _resolved_input(kind, expand_input, context)
    if kind == "list_of_dicts":
        chosen = value[map_index]
        if not isinstance(chosen, Mapping):
            chosen = resolve_xcom_args(chosen, context)
        if not isinstance(chosen, Mapping):
            raise ValueError(f"expand_kwargs() expects a list[dict], not list[{type(chosen).__name__}]")
        return {k: resolve_xcom_args(v, context) for k, v in chosen.items()}
    out: dict[str, Any] = {}
    index = map_index
    for key in reversed(list(value)):
        items = _sized(key, value[key])
        out[key] = items[index % len(items)]
        index //= len(items)
    return {k: out[k] for k in value}


class MappedArgument:
    """What a mapped task group's function receives for an expanded argument (Airflow's
    ``MappedArgument``): resolved in a task of the group to the value of the task's map index."""

    def __init__(self, expand_input: Any, kind: str, key: str) -> None:
        self.expand_input = expand_input
        self.kind = kind
        self.key = key

    def __repr__(self) -> str:
        return f"MappedArgument({self.key!r})"

    def iter_references(self) -> list[tuple[Any, str]]:
        return [(arg.operator, arg.key) for arg in find_xcom_args(self.expand_input)]

    def resolve(self, context: Mapping[str, Any]) -> Any:
        map_index = context["ti"].map_index
        if map_index is None or map_index < 0:
            raise RuntimeError("can't resolve task-mapping argument without expanding")
        return expanded_values(self.kind, self.expand_input, context, map_index)[self.key]


def check_expand_arguments(mapped_kwargs: Mapping[str, Any]) -> None:
    """Airflow's ``is_mappable`` check of ``expand(**kwargs)`` values."""
    for name, value in mapped_kwargs.items():
        if not isinstance(value, (XComArg, MappedArgument, Sequence, Mapping)) or isinstance(value, str):
            raise ValueError(f"Cannot map over {name}={value!r}: expected a list, a dict or an XComArg")


def mapped_task_groups_of(group: Any) -> list[Any]:
    """``group`` and its parents that are mapped task groups, innermost first."""
    found = []
    while group is not None:
        if getattr(group, "is_mapped", False):
            found.append(group)
        group = group.parent_group
    return found


def _sized(key: str, value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return list(value.items())
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ValueError(f"Cannot map over {key}={value!r}: expected a list or a dict")
    return list(value)
