"""Edge labels: ``a >> Label("why") >> b`` (``airflow.utils.edgemodifier`` / ``airflow.sdk.Label``).

Like Airflow, the modifier waits until both sides are known, and when the two sides live in different
TaskGroups it connects the groups (a task inside a group stands for its whole group).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from studio.sdk.node import DAGNode, DependencyMixin, as_list

if TYPE_CHECKING:
    from studio.sdk.dag import DAG


class EdgeModifier(DependencyMixin):
    """Information (a label) attached to the edges made through it."""

    def __init__(self, label: str | None = None) -> None:
        self.label = label
        self._upstream: list[Any] = []
        self._downstream: list[Any] = []

    @property
    def roots(self) -> list[Any]:
        return self._downstream

    @property
    def leaves(self) -> list[Any]:
        return self._upstream

    def _save_nodes(self, nodes: Any, stream: list[Any]) -> None:
        from studio.sdk.xcom_arg import XComArg

        for node in as_list(nodes):
            if not isinstance(node, (DAGNode, XComArg)):
                raise TypeError(f"Cannot use edge labels with {type(node).__name__}, only tasks, XComArg or TaskGroups")
            stream.append(node)

    @staticmethod
    def _group_key(node: Any) -> str | None:
        from studio.sdk.taskgroup import TaskGroup
        from studio.sdk.xcom_arg import XComArg

        if isinstance(node, XComArg):
            node = node.operator
        group = getattr(node, "task_group", None)
        if group is not None:
            return "root" if group.is_root else group.group_id
        if isinstance(node, TaskGroup):
            return node.group_id
        return None

    def _convert_streams_to_task_groups(self) -> None:
        keys = {self._group_key(n) for n in [*self._upstream, *self._downstream]}
        keys.discard(None)
        if len(keys) != 1:
            self._upstream = [self._as_group(n) for n in self._upstream]
            self._downstream = [self._as_group(n) for n in self._downstream]

    @staticmethod
    def _as_group(node: Any) -> Any:
        group = getattr(node, "task_group", None)
        if isinstance(node, DAGNode) and group is not None and not group.is_root:
            return group
        return node

    def set_upstream(self, other: Any, edge_modifier: EdgeModifier | None = None) -> None:
        self._save_nodes(other, self._upstream)
        if self._upstream and self._downstream:
            self._convert_streams_to_task_groups()
        for node in self._downstream:
            node.set_upstream(other, edge_modifier=self)

    def set_downstream(self, other: Any, edge_modifier: EdgeModifier | None = None) -> None:
        self._save_nodes(other, self._downstream)
        if self._upstream and self._downstream:
            self._convert_streams_to_task_groups()
        for node in self._upstream:
            node.set_downstream(other, edge_modifier=self)

    def update_relative(self, other: Any, upstream: bool = True, edge_modifier: EdgeModifier | None = None) -> None:
        if upstream:
            self.set_upstream(other)
        else:
            self.set_downstream(other)

    def add_edge_info(self, dag: DAG, upstream_id: str, downstream_id: str) -> None:
        dag.set_edge_info(upstream_id, downstream_id, {"label": self.label})


def Label(label: str) -> EdgeModifier:
    """An EdgeModifier that labels the edges made through it."""
    return EdgeModifier(label=label)
