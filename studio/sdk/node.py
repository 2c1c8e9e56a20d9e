"""Dependency plumbing shared by operators, task groups, XComArgs and labels: ``>>``/``<<``, the
active-DAG and active-TaskGroup stacks, and ``DAGNode._set_relatives`` (Airflow's edge-making rule)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from studio.sdk.dag import DAG
    from studio.sdk.edges import EdgeModifier
    from studio.sdk.taskgroup import TaskGroup


class DagContext:
    """The stack of DAGs entered with ``with DAG(...)``; DAGs exited are auto-registered for the loader."""

    _stack: ClassVar[list[DAG]] = []
    autoregistered: ClassVar[list[DAG]] = []

    @classmethod
    def push(cls, dag: DAG) -> None:
        cls._stack.append(dag)

    @classmethod
    def pop(cls) -> DAG | None:
        dag = cls._stack.pop() if cls._stack else None
        if dag is not None and getattr(dag, "auto_register", True) and dag not in cls.autoregistered:
            cls.autoregistered.append(dag)
        return dag

    @classmethod
    def get_current(cls) -> DAG | None:
        return cls._stack[-1] if cls._stack else None


class TaskGroupContext:
    """The stack of TaskGroups entered with ``with TaskGroup(...)``."""

    _stack: ClassVar[list[TaskGroup]] = []

    @classmethod
    def push(cls, group: TaskGroup) -> None:
        cls._stack.append(group)

    @classmethod
    def pop(cls) -> TaskGroup | None:
        return cls._stack.pop() if cls._stack else None

    @classmethod
    def get_current(cls, dag: DAG | None = None) -> TaskGroup | None:
        if cls._stack:
            return cls._stack[-1]
        return dag.task_group if dag is not None else None

    @classmethod
    def active(cls) -> bool:
        return bool(cls._stack)


def as_list(value: Any) -> list[Any]:
    """A single node or a sequence of nodes as a list (strings are not sequences here)."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return [value]


class DependencyMixin:
    """``>>``, ``<<`` and their reflected forms for anything with ``set_upstream``/``set_downstream``."""

    @property
    def roots(self) -> list[Any]:
        raise NotImplementedError

    @property
    def leaves(self) -> list[Any]:
        raise NotImplementedError

    def set_upstream(self, other: Any, edge_modifier: EdgeModifier | None = None) -> None:
        raise NotImplementedError

    def set_downstream(self, other: Any, edge_modifier: EdgeModifier | None = None) -> None:
        raise NotImplementedError

    def update_relative(self, other: Any, upstream: bool = True, edge_modifier: EdgeModifier | None = None) -> None:
        """Hook for nodes (TaskGroup, Label) that record the relation itself."""

    def __rshift__(self, other: Any) -> Any:
        self.set_downstream(other)
        return other

    def __lshift__(self, other: Any) -> Any:
        self.set_upstream(other)
        return other

    def __rrshift__(self, other: Any) -> Any:
        self.__lshift__(other)
        return self

    def __rlshift__(self, other: Any) -> Any:
        self.__rshift__(other)
        return self


class DAGNode(DependencyMixin):
    """An operator or a task group: a node that owns ``upstream_task_ids``/``downstream_task_ids``."""

    dag: DAG | None
    upstream_task_ids: set[str]
    downstream_task_ids: set[str]

    @property
    def node_id(self) -> str:
        raise NotImplementedError

    def has_dag(self) -> bool:
        return getattr(self, "dag", None) is not None

    def _set_relatives(self, others: Any, upstream: bool = False, edge_modifier: EdgeModifier | None = None) -> None:
        from studio.sdk.abstractoperator import AbstractOperator

        task_list: list[AbstractOperator] = []
        for obj in as_list(others):
            obj.update_relative(self, not upstream, edge_modifier=edge_modifier)
            for task in obj.leaves if upstream else obj.roots:
                if not isinstance(task, AbstractOperator):
                    raise TypeError(f"Relationships can only be set between Operators; received {type(task).__name__}")
                task_list.append(task)
        dags = {id(t.dag): t.dag for t in [*self.roots, *task_list] if t.has_dag()}
        if len(dags) > 1:
            raise RuntimeError("Tried to set relationships between tasks in more than one DAG")
        if not dags:
            raise ValueError(
                "Tried to create relationships between tasks that don't have DAGs yet. "
                f"Set the DAG for at least one task and try again: {[self, *task_list]}"
            )
        dag = next(iter(dags.values()))
        if not self.has_dag():
            self.dag = dag
            dag.add_task(self)  # type: ignore[arg-type]
        for task in task_list:
            if not task.has_dag():
                task.dag = dag
                dag.add_task(task)
            up, down = (task, self) if upstream else (self, task)
            down.upstream_task_ids.add(up.node_id)
            up.downstream_task_ids.add(down.node_id)
            if edge_modifier is not None:
                edge_modifier.add_edge_info(dag, up.node_id, down.node_id)

    def set_downstream(self, other: Any, edge_modifier: EdgeModifier | None = None) -> None:
        self._set_relatives(other, upstream=False, edge_modifier=edge_modifier)

    def set_upstream(self, other: Any, edge_modifier: EdgeModifier | None = None) -> None:
        self._set_relatives(other, upstream=True, edge_modifier=edge_modifier)

    @property
    def upstream_list(self) -> list[Any]:
        assert self.dag is not None
        return [self.dag.get_task(tid) for tid in self.upstream_task_ids]

    @property
    def downstream_list(self) -> list[Any]:
        assert self.dag is not None
        return [self.dag.get_task(tid) for tid in self.downstream_task_ids]
