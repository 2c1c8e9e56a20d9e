"""``TaskGroup`` and ``@task_group``: prefixed ids, group default_args, and group dependencies (a group
upstream means its leaves, downstream its roots; an empty group passes its own upstream tasks through)."""

from __future__ import annotations

import copy
import functools
import inspect
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from studio.sdk.exceptions import DuplicateTaskIdFound, TaskAlreadyInTaskGroup
from studio.sdk.node import DagContext, DAGNode, TaskGroupContext, as_list

if TYPE_CHECKING:
    from studio.sdk.abstractoperator import AbstractOperator
    from studio.sdk.dag import DAG
    from studio.sdk.edges import EdgeModifier

GROUP_KEY_REGEX = re.compile(r"^[\w-]+$")


class TaskGroup(DAGNode):
    """A named group of tasks; ids of its children are prefixed with ``group_id.`` (``prefix_group_id``)."""

    is_mapped = False

    def __init__(
        self,
        group_id: str | None,
        prefix_group_id: bool = True,
        parent_group: TaskGroup | None = None,
        dag: DAG | None = None,
        default_args: dict[str, Any] | None = None,
        tooltip: str = "",
        ui_color: str = "CornflowerBlue",
        ui_fgcolor: str = "#000",
        add_suffix_on_collision: bool = False,
        group_display_name: str = "",
        doc_md: str | None = None,
    ) -> None:
        if group_id is not None and not GROUP_KEY_REGEX.match(group_id):
            raise ValueError(
                f"The key {group_id!r} has to be made of alphanumeric characters, dashes, and underscores exclusively"
            )
        self._group_id = group_id
        self.prefix_group_id = prefix_group_id
        self.parent_group = parent_group if parent_group is not None else TaskGroupContext.get_current(None)
        if dag is None:
            dag = self.parent_group.dag if self.parent_group is not None else DagContext.get_current()
        if dag is None:
            raise RuntimeError("TaskGroup can only be used inside a dag")
        self.dag = dag
        self.default_args = copy.deepcopy(default_args or {})
        self.tooltip, self.doc_md = tooltip, doc_md
        self.ui_color, self.ui_fgcolor = ui_color, ui_fgcolor
        self.group_display_name = group_display_name
        self.children: dict[str, DAGNode] = {}
        self.upstream_group_ids: set[str | None] = set()
        self.downstream_group_ids: set[str | None] = set()
        self.upstream_task_ids: set[str] = set()
        self.downstream_task_ids: set[str] = set()
        root = getattr(dag, "task_group", None)
        self.used_group_ids: set[str | None] = root.used_group_ids if root is not None else set()
        if group_id is None:
            return
        self._check_collision(add_suffix_on_collision)
        if self.parent_group is None:
            self.parent_group = dag.task_group
        self.parent_group.add(self)
        if self.parent_group.default_args:
            self.default_args = {**self.parent_group.default_args, **self.default_args}
        self.used_group_ids.add(self.group_id)

    @classmethod
    def create_root(cls, dag: DAG) -> TaskGroup:
        return cls(None, dag=dag, parent_group=None)

    def _check_collision(self, add_suffix: bool) -> None:
        assert self._group_id is not None
        if self.group_id not in self.used_group_ids:
            return
        if not add_suffix:
            raise DuplicateTaskIdFound(f"group_id '{self._group_id}' has already been added to the DAG")
        base = re.split(r"__\d+$", self._group_id)[0]
        suffixes = sorted(
            int(re.split(r"^.+__", used)[1])
            for used in self.used_group_ids
            if used is not None and re.match(rf"^{re.escape(base)}__\d+$", used)
        )
        self._group_id = f"{base}__{suffixes[-1] + 1}" if suffixes else f"{self._group_id}__1"

    def __repr__(self) -> str:
        return f"<TaskGroup: {self.group_id}>"

    @property
    def group_id(self) -> str | None:
        parent = self.parent_group
        if self._group_id and parent is not None and parent.prefix_group_id and parent._group_id:
            return parent.child_id(self._group_id)
        return self._group_id

    @property
    def node_id(self) -> str:
        return self.group_id or ""

    @property
    def is_root(self) -> bool:
        return not self._group_id

    @property
    def task_group(self) -> TaskGroup | None:
        return self.parent_group

    @task_group.setter
    def task_group(self, value: TaskGroup | None) -> None:
        self.parent_group = value

    @property
    def label(self) -> str | None:
        return self.group_display_name or self._group_id

    def child_id(self, label: str) -> str:
        if self.prefix_group_id and self.group_id:
            return f"{self.group_id}.{label}"
        return label

    def __iter__(self) -> Iterator[AbstractOperator]:
        for child in self.children.values():
            if isinstance(child, TaskGroup):
                yield from child
            else:
                yield child  # type: ignore[misc]

    def add(self, node: DAGNode) -> DAGNode:
        from studio.sdk.abstractoperator import AbstractOperator

        existing = getattr(node, "task_group", None)
        if TaskGroupContext.active() and existing is not None and existing is not self:
            existing.children.pop(node.node_id, None)
            node.task_group = self  # type: ignore[misc]
            existing = self
        if isinstance(node, AbstractOperator) and existing is not None and existing is not self:
            raise TaskAlreadyInTaskGroup(
                f"cannot add {node.node_id!r} to {self.node_id!r}: already in {existing.node_id!r}"
            )
        if isinstance(node, AbstractOperator):
            node.task_group = self
        key = node.node_id
        if key in self.children:
            kind = "Task" if isinstance(node, AbstractOperator) else "Task Group"
            raise DuplicateTaskIdFound(f"{kind} id '{key}' has already been added to the DAG")
        self.children[key] = node
        return node

    def __getitem__(self, label: str) -> DAGNode:
        return self.children[self.child_id(label)]

    def get_child_by_label(self, label: str) -> DAGNode:
        return self[label]

    def has_task(self, task: AbstractOperator) -> bool:
        return any(t is task for t in self)

    def get_roots(self) -> Iterator[AbstractOperator]:
        tasks = list(self)
        ids = {t.task_id for t in tasks}
        for task in tasks:
            if task.upstream_task_ids.isdisjoint(ids):
                yield task

    def get_leaves(self) -> Iterator[AbstractOperator]:
        tasks = list(self)
        ids = {t.task_id for t in tasks}

        def has_non_teardown_downstream(task: Any, exclude: str) -> bool:
            return any(d.task_id != exclude and d.task_id in ids and not d.is_teardown for d in task.downstream_list)

        def first_non_teardown(task: Any) -> Iterator[AbstractOperator]:
            for up in task.upstream_list:
                if up.task_id not in ids:
                    continue
                if up.is_teardown:
                    yield from first_non_teardown(up)
                elif task.is_teardown and up.is_setup:
                    continue
                elif not has_non_teardown_downstream(up, exclude=task.task_id):
                    yield up

        for task in tasks:
            if task.downstream_task_ids.isdisjoint(ids):
                if not task.is_teardown:
                    yield task
                else:
                    yield from first_non_teardown(task)

    @property
    def roots(self) -> list[AbstractOperator]:
        return list(self.get_roots())

    @property
    def leaves(self) -> list[AbstractOperator]:
        return list(self.get_leaves())

    def update_relative(self, other: Any, upstream: bool = True, edge_modifier: EdgeModifier | None = None) -> None:
        if isinstance(other, TaskGroup):
            parent, child = (self, other) if upstream else (other, self)
            parent.upstream_group_ids.add(child.group_id)
            child.downstream_group_ids.add(parent.group_id)
            return
        for task in other.roots:
            if task is self:
                continue
            (self.upstream_task_ids if upstream else self.downstream_task_ids).add(task.node_id)

    def _set_relatives(self, others: Any, upstream: bool = False, edge_modifier: EdgeModifier | None = None) -> None:
        leaves = self._find_leaves()
        for other in as_list(others):
            self.update_relative(other, upstream, edge_modifier=edge_modifier)
        if upstream:
            for task in self.get_roots():
                task.set_upstream(others)
        else:
            for task in leaves:
                task.set_downstream(others)

    def _find_leaves(self) -> list[Any]:
        group: TaskGroup | None = self
        while group is not None:
            leaves = list(group.get_leaves())
            if leaves:
                return leaves
            if group.upstream_task_ids:
                return [self.dag.get_task(tid) for tid in group.upstream_task_ids]  # type: ignore[union-attr]
            group = group.parent_group
        return []

    def __enter__(self) -> TaskGroup:
        TaskGroupContext.push(self)
        return self

    def __exit__(self, *exc: object) -> None:
        TaskGroupContext.pop()


class MappedTaskGroup(TaskGroup):
    """A ``@task_group`` called with ``expand``/``expand_kwargs``: every task inside is expanded with
    the group's map indexes (``task_id[i]``); ``expand_kind`` is ``dict_of_lists`` or ``list_of_dicts``."""

    is_mapped = True

    def __init__(self, *args: Any, expand_input: Any, expand_kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.expand_input = expand_input
        self.expand_kind = expand_kind

    def __iter__(self) -> Iterator[AbstractOperator]:
        for child in self.children.values():
            if str(getattr(child, "trigger_rule", "")) == "always":
                raise ValueError(
                    "Task-generated mapping within a mapped task group is not allowed with trigger rule 'always'"
                )
        yield from super().__iter__()

    def iter_mapped_dependencies(self) -> list[AbstractOperator]:
        """The upstream tasks whose XCom the group expands over."""
        from studio.sdk.xcom_arg import find_xcom_args

        return [arg.operator for arg in find_xcom_args(self.expand_input)]

    def __exit__(self, *exc: object) -> None:
        for operator in self.iter_mapped_dependencies():
            self.set_upstream(operator)
        super().__exit__(*exc)


def task_group(python_callable: Callable[..., Any] | None = None, **tg_kwargs: Any) -> Any:
    """``@task_group``: each call builds a TaskGroup (``group_id`` = function name, ``__N`` on repeats)."""
    if python_callable is not None:
        return _TaskGroupFactory(python_callable, tg_kwargs)
    return lambda func: _TaskGroupFactory(func, tg_kwargs)


class _TaskGroupFactory:
    def __init__(
        self, function: Callable[..., Any], tg_kwargs: dict[str, Any], partial_kwargs: dict[str, Any] | None = None
    ) -> None:
        self.function = function
        self.tg_kwargs = {"group_id": function.__name__, **tg_kwargs}
        self.partial_kwargs = dict(partial_kwargs or {})
        functools.update_wrapper(self, function)

    def override(self, **kwargs: Any) -> _TaskGroupFactory:
        return _TaskGroupFactory(self.function, {**self.tg_kwargs, **kwargs}, self.partial_kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._create(TaskGroup, args, kwargs)

    def _create(self, factory: Callable[..., TaskGroup], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        options = {"add_suffix_on_collision": True, **self.tg_kwargs}
        with factory(**options) as group:
            if self.function.__doc__ and not group.tooltip:
                group.tooltip = self.function.__doc__
            result = self.function(*args, **kwargs)
        return result if result is not None else group

    def _check_names(self, kind: str, kwargs: dict[str, Any]) -> None:
        signature = inspect.signature(self.function)
        if any(p.kind == inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values()):
            return
        unknown = sorted(set(kwargs) - set(signature.parameters))
        if unknown:
            raise TypeError(f"{self.function.__name__} got unexpected keyword arguments {', '.join(unknown)}")

    def partial(self, **kwargs: Any) -> _TaskGroupFactory:
        """Fixed arguments of a mapped task group, waiting for ``expand``/``expand_kwargs``."""
        self._check_names("partial", kwargs)
        clash = set(kwargs) & set(self.partial_kwargs)
        if clash:
            raise TypeError(f"duplicate partial argument(s): {', '.join(sorted(clash))}")
        return _TaskGroupFactory(self.function, self.tg_kwargs, {**self.partial_kwargs, **kwargs})

    def expand(self, **kwargs: Any) -> Any:
        """A mapped task group: the function is called once with a MappedArgument per expanded name."""
        from studio.sdk.mapped import MappedArgument, check_expand_arguments

        if not kwargs:
            raise TypeError("no arguments to expand against")
        self._check_names("expand", kwargs)
        clash = set(kwargs) & set(self.partial_kwargs)
        if clash:
            raise TypeError(f"mapping already partial argument(s): {', '.join(sorted(clash))}")
        check_expand_arguments(kwargs)
        factory = functools.partial(MappedTaskGroup, expand_input=dict(kwargs), expand_kind="dict_of_lists")
        stubs = {k: MappedArgument(dict(kwargs), "dict_of_lists", k) for k in kwargs}
        return self._create(factory, (), {**self.partial_kwargs, **stubs})

    def expand_kwargs(self, kwargs: Any) -> Any:
        """A mapped task group over a list of dicts (or an XComArg giving one)."""
        from studio.sdk.mapped import MappedArgument
        from studio.sdk.xcom_arg import XComArg

        if isinstance(kwargs, Sequence) and not isinstance(kwargs, str):
            for item in kwargs:
                if not isinstance(item, (XComArg, Mapping)):
                    raise TypeError(f"expected XComArg or list[dict], not {type(kwargs).__name__}")
        elif not isinstance(kwargs, XComArg):
            raise TypeError(f"expected XComArg or list[dict], not {type(kwargs).__name__}")
        parameters = inspect.signature(self.function).parameters
        if any(
            p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD) for p in parameters.values()
        ):
            raise TypeError("calling expand_kwargs() on task group function with * or ** is not supported")
        factory = functools.partial(MappedTaskGroup, expand_input=kwargs, expand_kind="list_of_dicts")
        names = [name for name in parameters if name not in self.partial_kwargs]
        stubs = {k: MappedArgument(kwargs, "list_of_dicts", k) for k in names}
        return self._create(factory, (), {**self.partial_kwargs, **stubs})
