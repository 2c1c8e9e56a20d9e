"""``DAG`` and the ``@dag`` decorator: tasks in declaration order, the root TaskGroup, edge labels, params."""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import inspect
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from studio.sdk.exceptions import AirflowDagCycleException, DuplicateTaskIdFound
from studio.sdk.hook import AIRFLOW2_IMPORTS
from studio.sdk.node import DagContext
from studio.sdk.params import NOTSET, Param, ParamsDict

if TYPE_CHECKING:
    from studio.sdk.abstractoperator import AbstractOperator
    from studio.sdk.taskgroup import TaskGroup
    from studio.sdk.timetables import Timetable

_DAG_DEFAULTS: dict[str, Any] = {
    "description": None,
    "start_date": None,
    "end_date": None,
    "max_active_tasks": 16,
    "max_active_runs": 16,
    "max_consecutive_failed_dag_runs": 0,
    "dagrun_timeout": None,
    "catchup": False,
    "on_success_callback": None,
    "on_failure_callback": None,
    "doc_md": None,
    "template_searchpath": None,
    "template_undefined": None,
    "user_defined_macros": None,
    "user_defined_filters": None,
    "render_template_as_native_obj": False,
    "jinja_environment_kwargs": None,
    "tags": None,
    "owner_links": None,
    "access_control": None,
    "is_paused_upon_creation": None,
    "fail_fast": False,
    "dag_display_name": None,
    "sla_miss_callback": None,
    "deadline": None,
    "auto_register": True,
    "disable_bundle_versioning": False,
}


class DAG:
    """A workflow: tasks with dependencies, a schedule and run-level settings (Airflow's keyword names)."""

    def __init__(
        self,
        dag_id: str,
        *,
        schedule: Any = NOTSET,
        default_args: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        timetable: Any = None,
        **kwargs: Any,
    ) -> None:
        from studio.sdk.taskgroup import TaskGroup

        self.airflow2 = "schedule_interval" in kwargs  # an Airflow 2 spelling
        if "schedule_interval" in kwargs:
            interval = kwargs.pop("schedule_interval")
            if schedule is NOTSET:
                schedule = interval
        unknown = set(kwargs) - set(_DAG_DEFAULTS)
        if unknown:
            raise TypeError(f"DAG.__init__() got unexpected keyword argument(s) {', '.join(sorted(unknown))}")
        if not isinstance(dag_id, str) or not dag_id:
            raise TypeError(f"dag_id must be a non-empty string, got {dag_id!r}")
        self.dag_id = dag_id
        for name, default in _DAG_DEFAULTS.items():
            setattr(self, name, kwargs.get(name, default))
        if timetable is not None:
            schedule = timetable
        self.schedule = None if schedule is NOTSET else schedule
        self.default_args: dict[str, Any] = dict(default_args or {})
        if self.start_date is None and self.default_args.get("start_date") is not None:
            self.start_date = self.default_args["start_date"]
        if self.end_date is None and self.default_args.get("end_date") is not None:
            self.end_date = self.default_args["end_date"]
        self.params = ParamsDict(params or {})
        if self.default_args.get("params"):
            merged = ParamsDict(self.default_args["params"])
            merged.update(self.params)
            self.params = merged
        self.params._fill_missing_param_source("dag")
        if isinstance(self.dagrun_timeout, (int, float)):
            self.dagrun_timeout = dt.timedelta(seconds=self.dagrun_timeout)
        if isinstance(self.template_searchpath, str):
            self.template_searchpath = [self.template_searchpath]
        self.tags = list(self.tags or [])
        self.task_dict: dict[str, AbstractOperator] = {}
        self.edge_info: dict[str, dict[str, dict[str, Any]]] = {}
        back = sys._getframe(1)
        while back is not None and back.f_code.co_filename.startswith(_SDK_DIR):
            back = back.f_back
        self.fileloc: str = back.f_code.co_filename if back is not None else ""
        if back is not None and back.f_globals.get(AIRFLOW2_IMPORTS):
            self.airflow2 = True  # the file imported a module only Airflow 2 has (studio.sdk.hook)
        self.timetable  # noqa: B018 - an invalid schedule fails here, as in Airflow
        self.task_group: TaskGroup = TaskGroup.create_root(self)

    def __repr__(self) -> str:
        return f"<DAG: {self.dag_id}>"

    def __enter__(self) -> DAG:
        DagContext.push(self)
        return self

    def __exit__(self, *exc: object) -> None:
        DagContext.pop()

    @property
    def timezone(self) -> Any:
        tz = getattr(self.start_date, "tzinfo", None)
        return tz if tz is not None else dt.UTC

    @property
    def timetable(self) -> Timetable:
        """The effective timetable: the ``schedule`` mapped as Airflow 3 does, or Airflow 2 for Airflow 2 files."""
        from studio.sdk.timetables import create_timetable

        return create_timetable(self.schedule, self.timezone, airflow2=self.airflow2)

    @property
    def tasks(self) -> list[AbstractOperator]:
        return list(self.task_dict.values())

    @property
    def task_ids(self) -> list[str]:
        return list(self.task_dict)

    @property
    def roots(self) -> list[AbstractOperator]:
        return [t for t in self.tasks if not t.upstream_task_ids]

    @property
    def leaves(self) -> list[AbstractOperator]:
        return [t for t in self.tasks if not t.downstream_task_ids]

    @property
    def folder(self) -> str:
        import os

        return os.path.dirname(self.fileloc)

    @property
    def task_group_dict(self) -> dict[str, TaskGroup]:
        from studio.sdk.taskgroup import TaskGroup

        found: dict[str, TaskGroup] = {}
        todo = [self.task_group]
        while todo:
            group = todo.pop()
            if group.group_id:
                found[group.group_id] = group
            todo.extend(c for c in group.children.values() if isinstance(c, TaskGroup))
        return found

    def has_task(self, task_id: str) -> bool:
        return task_id in self.task_dict

    def get_task(self, task_id: str) -> AbstractOperator:
        if task_id in self.task_dict:
            return self.task_dict[task_id]
        raise KeyError(f"Task {task_id} not found")

    def add_task(self, task: AbstractOperator) -> None:
        """Register ``task`` (its id already prefixed by its group)."""
        from studio.sdk.node import TaskGroupContext

        if getattr(task, "task_group", None) is None:
            group = TaskGroupContext.get_current(self)
            if group is not None and not getattr(task, "_unmapped", False):
                task.task_id = group.child_id(task.task_id)
                group.add(task)
        task_id = task.task_id
        existing = self.task_dict.get(task_id)
        if existing is task:
            return
        if existing is not None:
            raise DuplicateTaskIdFound(f"Task id '{task_id}' has already been added to the DAG")
        self.task_dict[task_id] = task
        task.dag = self

    def add_tasks(self, tasks: Iterable[AbstractOperator]) -> None:
        for task in tasks:
            self.add_task(task)

    def set_edge_info(self, upstream_task_id: str, downstream_task_id: str, info: dict[str, Any]) -> None:
        self.edge_info.setdefault(upstream_task_id, {})[downstream_task_id] = info

    def get_edge_info(self, upstream_task_id: str, downstream_task_id: str) -> dict[str, Any]:
        return self.edge_info.get(upstream_task_id, {}).get(downstream_task_id, {})

    def param(self, name: str, default: Any = NOTSET) -> DagParam:
        return DagParam(self, name, default)

    def topological_sort(self) -> list[AbstractOperator]:
        """Tasks so that every task comes after its upstream tasks; ties in declaration order."""
        indegree = {tid: len(t.upstream_task_ids) for tid, t in self.task_dict.items()}
        position = {tid: i for i, tid in enumerate(self.task_dict)}
        ready = [position[tid] for tid in self.task_dict if indegree[tid] == 0]
        ids = list(self.task_dict)
        order: list[str] = []
        while ready:
            tid = ids[heapq.heappop(ready)]
            order.append(tid)
            for down in self.task_dict[tid].downstream_task_ids:
                indegree[down] -= 1
                if indegree[down] == 0:
                    heapq.heappush(ready, position[down])
        if len(order) != len(self.task_dict):
            stuck = sorted(tid for tid, n in indegree.items() if n > 0)
            raise AirflowDagCycleException(f"Cycle detected in DAG {self.dag_id}: {', '.join(stuck)}")
        return [self.task_dict[tid] for tid in order]

    def check_cycle(self) -> None:
        self.topological_sort()


class DagParam:
    """A ``@dag`` function argument: stands for ``params[name]`` of the run, resolved when rendered."""

    def __init__(self, current_dag: DAG, name: str, default: Any = NOTSET) -> None:
        if default is not NOTSET:
            current_dag.params[name] = default if isinstance(default, Param) else Param(default)
        self._name = name
        self._default = default

    def iter_references(self) -> Iterable[tuple[Any, str]]:
        return ()

    def resolve(self, context: dict[str, Any]) -> Any:
        params = context.get("params") or {}
        if self._name in params:
            return params[self._name]
        if self._default is not NOTSET:
            return self._default
        raise KeyError(f"Dag param {self._name!r} not found")


def dag(dag_id: str | Callable[..., Any] = "", **dag_kwargs: Any) -> Any:
    """``@dag`` / ``@dag(...)``: calling the decorated function builds the DAG and returns it."""

    def wrapper(func: Callable[..., Any]) -> Callable[..., DAG]:
        signature = inspect.signature(func)

        @functools.wraps(func)
        def factory(*args: Any, **kwargs: Any) -> DAG:
            bound = signature.bind_partial(*args, **kwargs)
            bound.apply_defaults()
            with DAG(dag_id or func.__name__, **dag_kwargs) as new_dag:
                if func.__doc__ and not new_dag.doc_md:
                    new_dag.doc_md = func.__doc__
                back = sys._getframe(1)
                new_dag.fileloc = back.f_code.co_filename if back is not None else new_dag.fileloc
                call_kwargs = {name: new_dag.param(name, value) for name, value in bound.arguments.items()}
                func(**call_kwargs)
            return new_dag

        return factory

    if callable(dag_id):
        func, dag_id = dag_id, ""
        return wrapper(func)
    return wrapper


_SDK_DIR = __file__.rsplit("/", 1)[0].rsplit("\\", 1)[0]
