"""``XComArg``: a reference to an upstream task's XCom (``task.output``, ``@task`` call results,
``arg["key"]``); passing one to an operator makes the dependency, running resolves it to the value."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from studio.sdk.node import DependencyMixin

if TYPE_CHECKING:
    from studio.sdk.abstractoperator import AbstractOperator
    from studio.sdk.edges import EdgeModifier

XCOM_RETURN_KEY = "return_value"


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()
"""What an xcom reader's ``get`` returns when no such XCom exists."""


class XComArg(DependencyMixin):
    """The XCom ``key`` that ``operator`` pushes (by default its return value)."""

    def __init__(self, operator: AbstractOperator, key: str = XCOM_RETURN_KEY) -> None:
        self.operator = operator
        self.key = key

    def __repr__(self) -> str:
        if self.key == XCOM_RETURN_KEY:
            return f"XComArg({self.operator!r})"
        return f"XComArg({self.operator!r}, {self.key!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, XComArg):
            return NotImplemented
        return self.operator is other.operator and self.key == other.key

    def __hash__(self) -> int:
        return hash((id(self.operator), self.key))

    def __getitem__(self, key: str) -> XComArg:
        return XComArg(self.operator, key)

    def __iter__(self) -> Iterator[Any]:
        raise TypeError("'XComArg' object is not iterable")

    def __str__(self) -> str:
        """The Jinja expression Airflow gives an XComArg used inside a string (``f"echo {arg}"``)."""
        dag_id = self.operator.dag.dag_id if self.operator.dag is not None else None
        return f"{{{{ task_instance.xcom_pull(task_ids='{self.operator.task_id}', dag_id='{dag_id}', key='{self.key}') }}}}"

    @property
    def roots(self) -> list[Any]:
        return [self.operator]

    @property
    def leaves(self) -> list[Any]:
        return [self.operator]

    def set_upstream(self, other: Any, edge_modifier: EdgeModifier | None = None) -> None:
        self.operator.set_upstream(other, edge_modifier=edge_modifier)

    def set_downstream(self, other: Any, edge_modifier: EdgeModifier | None = None) -> None:
        self.operator.set_downstream(other, edge_modifier=edge_modifier)

    def iter_references(self) -> Iterator[tuple[AbstractOperator, str]]:
        yield self.operator, self.key

    def as_setup(self) -> XComArg:
        self.operator.as_setup()
        return self

    def as_teardown(self, *, setups: Any = None, on_failure_fail_dagrun: bool | None = None) -> XComArg:
        self.operator.as_teardown(setups=setups, on_failure_fail_dagrun=on_failure_fail_dagrun)
        return self

    def resolve(self, context: Mapping[str, Any]) -> Any:
        """The value through the running ``ti``: a list over every map index of a mapped upstream; from
        a task in a mapped task group, the value of the same map index when the running task is in that
        group too, else every map index's value (Airflow's ``xcom_pull`` without ``map_indexes``: one
        value alone is not wrapped in a list). A missing return value (or multiple_outputs key) is
        None, another missing key an error."""
        ti = context["ti"]
        task_id = self.operator.task_id
        if getattr(self.operator, "is_mapped", False):
            return ti._get_all(ti.dag_id, ti.run_id, task_id, self.key)
        map_index = -1
        if _closest_mapped_group(self.operator) is not None:
            map_index = _relevant_map_index(self.operator, context)
            if map_index is None:
                return ti.xcom_pull(task_ids=task_id, key=self.key)
        value = ti._get_one(ti.dag_id, ti.run_id, task_id, map_index, self.key)
        if not ti.is_missing(value):
            return value
        if self.key == XCOM_RETURN_KEY or getattr(self.operator, "multiple_outputs", False):
            return None
        raise RuntimeError(f"XComArg result from {task_id} at {ti.dag_id} with key={self.key!r} is not found!")


def mapped_task_groups(node: Any) -> list[Any]:
    """The mapped task groups ``node`` is in, innermost first (Airflow's ``iter_mapped_task_groups``)."""
    found = []
    group = getattr(node, "task_group", None)
    while group is not None:
        if getattr(group, "is_mapped", False):
            found.append(group)
        group = group.parent_group
    return found


def _closest_mapped_group(node: Any) -> Any:
    groups = mapped_task_groups(node)
    return groups[0] if groups else None


def _relevant_map_index(upstream: Any, context: Mapping[str, Any]) -> int | None:
    """The map index of ``upstream`` (in a mapped task group) that the running task reads: its own
    when both share a mapped task group, else None (every map index)."""
    map_index = context["ti"].map_index
    if map_index is None or map_index < 0:
        return None
    mine = {g.group_id for g in mapped_task_groups(context["task"])}
    if not any(g.group_id in mine for g in mapped_task_groups(upstream)):
        return None
    return int(map_index)


def find_xcom_args(value: Any, _seen: set[int] | None = None) -> list[XComArg]:
    """Every XComArg inside ``value`` (nested lists, tuples, sets and dicts)."""
    seen = _seen if _seen is not None else set()
    if id(value) in seen:
        return []
    if isinstance(value, XComArg):
        return [value]
    if hasattr(value, "iter_references") and hasattr(value, "resolve"):  # a MappedArgument, a DagParam
        return [XComArg(op, key) for op, key in value.iter_references()]
    found: list[XComArg] = []
    if isinstance(value, (list, tuple, set, frozenset)):
        seen.add(id(value))
        for item in value:
            found.extend(find_xcom_args(item, seen))
    elif isinstance(value, dict):
        seen.add(id(value))
        for item in value.values():
            found.extend(find_xcom_args(item, seen))
    return found


def resolve_xcom_args(value: Any, context: Mapping[str, Any]) -> Any:
    """``value`` with every XComArg (or other resolvable, like a DagParam) replaced by its value."""
    if isinstance(value, XComArg) or (hasattr(value, "resolve") and hasattr(value, "iter_references")):
        return value.resolve(context)
    if isinstance(value, list):
        return [resolve_xcom_args(v, context) for v in value]
    if isinstance(value, tuple):
        return tuple(resolve_xcom_args(v, context) for v in value)
    if isinstance(value, dict):
        return {k: resolve_xcom_args(v, context) for k, v in value.items()}
    return value
