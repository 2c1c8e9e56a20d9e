"""``BaseOperator``: the real base class of every operator (users subclass it), with Airflow's
default_args merging (DAG < TaskGroup < task ``default_args`` < explicit keyword), group-prefixed ids,
XComArg-made dependencies and setup/teardown flags. ``AbstractOperator`` is shared with mapped operators."""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from studio.sdk.abstractoperator import (
    DEFAULT_POOL,
    WEIGHT_RULES,
    AbstractOperator,
    collect_callbacks,
    merged_defaults,
    validate_key,
)
from studio.sdk.node import DagContext, TaskGroupContext, as_list
from studio.sdk.params import ParamsDict
from studio.sdk.trigger_rule import TriggerRule

if TYPE_CHECKING:
    from studio.sdk.dag import DAG
    from studio.sdk.taskgroup import TaskGroup


class BaseOperatorMeta(type):
    """Wraps every ``__init__`` so unspecified keywords are filled from the merged default_args."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> type:
        init = namespace.get("__init__")
        if init is not None and not getattr(init, "_studio_applies_defaults", False):
            namespace["__init__"] = mcs._apply_defaults(init)
        return super().__new__(mcs, name, bases, namespace, **kwargs)

    @staticmethod
    def _apply_defaults(func: Callable[..., None]) -> Callable[..., None]:
        params = inspect.signature(func).parameters
        names = [
            p
            for p in params
            if p != "self" and params[p].kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        ]
        required = {p for p in names if params[p].default is inspect.Parameter.empty and p != "task_id"}

        @functools.wraps(func)
        def apply_defaults(self: BaseOperator, *args: Any, **kwargs: Any) -> None:
            if args:
                raise TypeError("Use keyword arguments when initializing operators")
            dag = kwargs.get("dag")
            if dag is None and not kwargs.get("_unmapped"):
                dag = DagContext.get_current()
                if dag is not None:
                    kwargs["dag"] = dag
            group = kwargs.get("task_group")
            if dag is not None and group is None and not kwargs.get("_unmapped"):
                group = TaskGroupContext.get_current(dag)
                if group is not None:
                    kwargs["task_group"] = group
            default_args, params = merged_defaults(
                dag, group, kwargs.pop("params", None), kwargs.pop("default_args", None)
            )
            for name in names:
                if name not in kwargs and name in default_args:
                    kwargs[name] = default_args[name]
            missing = sorted(required.difference(kwargs))
            if missing:
                shown = ", ".join(repr(m) for m in missing)
                raise TypeError(f"missing keyword argument{'s' if len(missing) > 1 else ''} {shown}")
            if params:
                kwargs["params"] = params
            depth = self.__dict__.get("_init_depth", 0)
            object.__setattr__(self, "_init_depth", depth + 1)
            try:
                func(self, **kwargs, default_args=default_args)
            finally:
                object.__setattr__(self, "_init_depth", depth)
            if depth == 0 and not getattr(self, "_unmapped", False):
                for arg in self.iter_xcom_dependencies():
                    self.set_upstream(arg.operator)
                object.__setattr__(self, "_instantiated", True)

        apply_defaults._studio_applies_defaults = True  # type: ignore[attr-defined]
        return apply_defaults


class BaseOperator(AbstractOperator, metaclass=BaseOperatorMeta):
    """Base class of all operators; subclasses implement ``execute(context)``."""

    template_fields: ClassVar[Any] = ()
    template_ext: ClassVar[Any] = ()
    template_fields_renderers: ClassVar[dict[str, str]] = {}
    ui_color: str = "#fff"
    ui_fgcolor: str = "#000"
    shallow_copy_attrs: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        task_id: str,
        owner: str = "airflow",
        email: Any = None,
        email_on_retry: bool = True,
        email_on_failure: bool = True,
        retries: int | None = 0,
        retry_delay: dt.timedelta | float = dt.timedelta(seconds=300),
        retry_exponential_backoff: bool | float = False,
        max_retry_delay: dt.timedelta | float | None = None,
        start_date: dt.datetime | None = None,
        end_date: dt.datetime | None = None,
        depends_on_past: bool = False,
        ignore_first_depends_on_past: bool = False,
        wait_for_past_depends_before_skipping: bool = False,
        wait_for_downstream: bool = False,
        dag: DAG | None = None,
        params: Any = None,
        default_args: dict[str, Any] | None = None,
        priority_weight: int = 1,
        weight_rule: str = "downstream",
        queue: str = "default",
        pool: str | None = None,
        pool_slots: int = 1,
        sla: Any = None,
        execution_timeout: dt.timedelta | None = None,
        on_execute_callback: Any = None,
        on_failure_callback: Any = None,
        on_success_callback: Any = None,
        on_retry_callback: Any = None,
        on_skipped_callback: Any = None,
        pre_execute: Callable[..., Any] | None = None,
        post_execute: Callable[..., Any] | None = None,
        trigger_rule: str = TriggerRule.ALL_SUCCESS,
        resources: Any = None,
        run_as_user: str | None = None,
        map_index_template: str | None = None,
        max_active_tis_per_dag: int | None = None,
        max_active_tis_per_dagrun: int | None = None,
        executor: str | None = None,
        executor_config: dict[str, Any] | None = None,
        do_xcom_push: bool = True,
        multiple_outputs: bool = False,
        inlets: Any = None,
        outlets: Any = None,
        task_group: TaskGroup | None = None,
        doc: str | None = None,
        doc_md: str | None = None,
        doc_json: str | None = None,
        doc_yaml: str | None = None,
        doc_rst: str | None = None,
        task_display_name: str | None = None,
        logger_name: str | None = None,
        allow_nested_operators: bool = True,
        render_template_as_native_obj: bool | None = None,
        retry_policy: Any = None,
        _unmapped: bool = False,
        **kwargs: Any,
    ) -> None:
        object.__setattr__(self, "_unmapped", _unmapped)
        self.upstream_task_ids: set[str] = set()
        self.downstream_task_ids: set[str] = set()
        self.dag = None
        if task_group is not None and not _unmapped:
            self.task_id = task_group.child_id(task_id)
            task_group.add(self)
        else:
            self.task_id = task_id
        self.task_group = task_group
        if kwargs:
            raise TypeError(
                f"Invalid arguments were passed to {type(self).__name__} (task_id: {task_id}). "
                f"Invalid arguments were:\n**kwargs: {kwargs}"
            )
        validate_key(self.task_id)
        if execution_timeout is not None and not isinstance(execution_timeout, dt.timedelta):
            raise ValueError(
                f"execution_timeout must be timedelta object but passed as type: {type(execution_timeout)}"
            )
        try:
            self.trigger_rule = TriggerRule(trigger_rule)
        except ValueError:
            raise ValueError(
                f"The trigger_rule must be one of {[r.value for r in TriggerRule]},"
                f"'{dag.dag_id if dag else ''}.{task_id}'; received '{trigger_rule}'."
            ) from None
        if pool_slots < 1:
            raise ValueError(f"pool slots for {self.task_id} cannot be less than 1")
        if str(getattr(weight_rule, "value", weight_rule)) not in WEIGHT_RULES:
            raise ValueError(f"weight_rule must be one of {WEIGHT_RULES}, got {weight_rule!r}")
        self.owner, self.email = owner, email
        self.email_on_retry, self.email_on_failure = email_on_retry, email_on_failure
        self.retries = 0 if retries is None else int(retries)
        self.retry_delay = retry_delay if isinstance(retry_delay, dt.timedelta) else dt.timedelta(seconds=retry_delay)
        self.retry_exponential_backoff = retry_exponential_backoff
        if max_retry_delay is not None and not isinstance(max_retry_delay, dt.timedelta):
            max_retry_delay = dt.timedelta(seconds=max_retry_delay)
        self.max_retry_delay = max_retry_delay
        self.start_date, self.end_date = start_date, end_date
        self.depends_on_past = depends_on_past or wait_for_downstream
        self.ignore_first_depends_on_past = ignore_first_depends_on_past
        self.wait_for_past_depends_before_skipping = wait_for_past_depends_before_skipping
        self.wait_for_downstream = wait_for_downstream
        self.params = ParamsDict(params)
        self.priority_weight, self.weight_rule = priority_weight, weight_rule
        self.queue = queue
        self.pool = DEFAULT_POOL if pool is None else pool
        self.pool_slots = pool_slots
        self.execution_timeout = execution_timeout
        self.on_execute_callback = collect_callbacks(on_execute_callback)
        self.on_failure_callback = collect_callbacks(on_failure_callback)
        self.on_success_callback = collect_callbacks(on_success_callback)
        self.on_retry_callback = collect_callbacks(on_retry_callback)
        self.on_skipped_callback = collect_callbacks(on_skipped_callback)
        self._pre_execute_hook, self._post_execute_hook = pre_execute, post_execute
        self.resources, self.run_as_user = resources, run_as_user
        self.map_index_template = map_index_template
        self.max_active_tis_per_dag = max_active_tis_per_dag
        self.max_active_tis_per_dagrun = max_active_tis_per_dagrun
        self.executor, self.executor_config = executor, executor_config or {}
        self.do_xcom_push, self.multiple_outputs = do_xcom_push, multiple_outputs
        self.inlets, self.outlets = collect_callbacks(inlets), collect_callbacks(outlets)
        self.doc, self.doc_md, self.doc_json, self.doc_yaml, self.doc_rst = doc, doc_md, doc_json, doc_yaml, doc_rst
        self.task_display_name = task_display_name or None
        self.logger_name = logger_name
        self.allow_nested_operators = allow_nested_operators
        self.render_template_as_native_obj = render_template_as_native_obj
        self.retry_policy = retry_policy
        self.is_setup = False
        self.is_teardown = False
        self.on_failure_fail_dagrun = False
        if isinstance(self.template_fields, str):
            self.template_fields = [self.template_fields]
        if dag is not None and not _unmapped:
            dag.add_task(self)
        elif dag is not None:
            self.dag = dag

    def __repr__(self) -> str:
        return f"<Task({self.task_type}): {self.task_id}>"

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if self.__dict__.get("_instantiated") and name in self.template_fields:
            from studio.sdk.xcom_arg import find_xcom_args

            for arg in find_xcom_args(value):
                self.set_upstream(arg.operator)

    def __deepcopy__(self, memo: dict[int, Any]) -> BaseOperator:
        import copy

        result = type(self).__new__(type(self))
        memo[id(self)] = result
        shallow = set(self.shallow_copy_attrs) | {"dag", "task_group", "python_callable", "_unmapped"}
        for key, value in self.__dict__.items():
            object.__setattr__(result, key, value if key in shallow else copy.deepcopy(value, memo))
        return result

    def execute(self, context: Any) -> Any:
        raise NotImplementedError()

    def pre_execute(self, context: Any) -> None:
        if self._pre_execute_hook is not None:
            self._pre_execute_hook(context)

    def post_execute(self, context: Any, result: Any = None) -> None:
        if self._post_execute_hook is not None:
            self._post_execute_hook(context, result)

    def on_kill(self) -> None:
        """Override to clean up when the task is killed."""

    def prepare_template(self) -> None:
        """Hook run after template files are read and before rendering."""

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        from studio.sdk.templating import render_template_fields

        render_template_fields(self, context, jinja_env)

    def render_template(
        self, content: Any, context: Any, jinja_env: Any = None, seen_oids: set[int] | None = None
    ) -> Any:
        from studio.sdk.templating import render_value

        return render_value(self, content, context, jinja_env, seen_oids)

    def get_template_env(self, dag: DAG | None = None) -> Any:
        from studio.sdk.templating import template_env

        return template_env(dag or self.dag, self.render_template_as_native_obj)

    def xcom_push(self, context: Any, key: str, value: Any) -> None:
        context["ti"].xcom_push(key=key, value=value)

    def xcom_pull(self, context: Any, task_ids: Any = None, key: str = "return_value", **kwargs: Any) -> Any:
        return context["ti"].xcom_pull(task_ids=task_ids, key=key, **kwargs)

    @classmethod
    def partial(cls, **kwargs: Any) -> Any:
        from studio.sdk.mapped import OperatorPartial

        return OperatorPartial(cls, kwargs)


def chain(*tasks: Any) -> None:
    """``a >> b >> c``, where a list next to a single node fans out/in and two lists pair up."""
    from studio.sdk.node import DependencyMixin

    for up, down in itertools.pairwise(tasks):
        if isinstance(up, DependencyMixin):
            up.set_downstream(down)
            continue
        if isinstance(down, DependencyMixin):
            down.set_upstream(up)
            continue
        if not isinstance(up, (list, tuple)) or not isinstance(down, (list, tuple)):
            raise TypeError(f"Chain not supported between instances of {type(up)} and {type(down)}")
        if len(up) != len(down):
            raise ValueError(f"Chain not supported for different length Iterable. Got {len(up)} and {len(down)}.")
        for a, b in zip(up, down):
            a.set_downstream(b)


def chain_linear(*elements: Any) -> None:
    """Every node of each element upstream of every node of the next."""
    if len(elements) < 2:
        raise ValueError("Minimum of two elements required for chain_linear")
    previous = None
    for element in elements:
        if previous is not None:
            for up in as_list(previous):
                up.set_downstream(element)
        previous = element


def cross_downstream(from_tasks: Any, to_tasks: Any) -> None:
    """Every task of ``from_tasks`` upstream of every task of ``to_tasks``."""
    for task in from_tasks:
        task.set_downstream(to_tasks)
