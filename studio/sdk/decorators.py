"""TaskFlow: ``@task`` and its flavours (``.branch``, ``.short_circuit``, ``.sensor``, ``.bash``),
``@setup``/``@teardown``, repeated-call ids ``f__1``, ``.override``, ``.partial().expand()``,
``.expand_kwargs()`` and ``multiple_outputs`` (inferred from a dict return annotation)."""

from __future__ import annotations

import functools
import inspect
import re
import typing
from collections.abc import Callable, Mapping
from typing import Any

from studio.sdk.baseoperator import BaseOperator
from studio.sdk.mapped import MappedOperator, OperatorPartial
from studio.sdk.node import DagContext, TaskGroupContext
from studio.sdk.operators import BashOperator, BranchMixIn, PythonOperator, ShortCircuitOperator, determine_kwargs
from studio.sdk.sensors import BaseSensorOperator, PokeReturnValue
from studio.sdk.xcom_arg import XComArg


def get_unique_task_id(task_id: str, dag: Any = None, task_group: Any = None) -> str:
    """``task_id``, or ``task_id__N`` when the DAG already has it (Airflow's rule)."""
    dag = dag or DagContext.get_current()
    if dag is None:
        return task_id
    group = task_group or TaskGroupContext.get_current(dag)
    full = group.child_id(task_id) if group is not None else task_id
    if full not in dag.task_ids:
        return task_id
    prefix = re.split(r"__\d+$", full)[0]
    suffixes = [int(m.group(1)) for t in dag.task_ids if (m := re.match(rf"^{re.escape(prefix)}__(\d+)$", t))]
    return f"{task_id}__{max(suffixes, default=0) + 1}"


class DecoratedOperator(BaseOperator):
    """Base of the operators ``@task`` creates: ``op_args``/``op_kwargs`` hold the call's arguments."""

    template_fields = ("templates_dict", "op_args", "op_kwargs")
    custom_operator_name = "@task"

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        task_id: str,
        op_args: Any = None,
        op_kwargs: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            python_callable=python_callable, task_id=task_id, op_args=op_args, op_kwargs=op_kwargs, **kwargs
        )


class _PythonDecoratedOperator(DecoratedOperator, PythonOperator):
    """``@task``: a PythonOperator whose arguments are the call's (XComArgs resolved when rendered)."""


class _BranchPythonDecoratedOperator(DecoratedOperator, PythonOperator, BranchMixIn):
    custom_operator_name = "@task.branch"

    def execute(self, context: Any) -> Any:
        return self.do_branch(context, PythonOperator.execute(self, context))


class _ShortCircuitDecoratedOperator(DecoratedOperator, ShortCircuitOperator):
    custom_operator_name = "@task.short_circuit"

    def execute(self, context: Any) -> Any:
        return ShortCircuitOperator.execute(self, context)


class DecoratedSensorOperator(BaseSensorOperator):
    """``@task.sensor``: the function is the poke; it returns a bool or a PokeReturnValue."""

    template_fields = ("op_args", "op_kwargs")
    custom_operator_name = "@task.sensor"

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        task_id: str,
        op_args: Any = None,
        op_kwargs: Any = None,
        multiple_outputs: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id=task_id, multiple_outputs=multiple_outputs, **kwargs)
        self.python_callable = python_callable
        self.op_args = op_args or ()
        self.op_kwargs = op_kwargs or {}

    def poke(self, context: Any) -> PokeReturnValue | bool:
        kwargs = determine_kwargs(self.python_callable, self.op_args, {**context, **self.op_kwargs})
        return self.python_callable(*self.op_args, **kwargs)


class _BashDecoratedOperator(DecoratedOperator, BashOperator):
    """``@task.bash``: the function returns the command, which is then rendered and run."""

    template_fields = (*DecoratedOperator.template_fields, *BashOperator.template_fields)
    custom_operator_name = "@task.bash"

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        task_id: str,
        op_args: Any = None,
        op_kwargs: Any = None,
        templates_dict: Any = None,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("multiple_outputs", None)
        BashOperator.__init__(self, task_id=task_id, bash_command="", **kwargs)
        self.python_callable = python_callable
        self.op_args = op_args or ()
        self.op_kwargs = op_kwargs or {}
        self.templates_dict = templates_dict
        self.multiple_outputs = False

    def execute(self, context: Any) -> Any:
        from studio.sdk.templating import render_value

        kwargs = determine_kwargs(self.python_callable, self.op_args, {**context, **self.op_kwargs})
        command = self.python_callable(*self.op_args, **kwargs)
        if not isinstance(command, str) or not command.strip():
            raise TypeError("The returned value from the TaskFlow callable must be a non-empty string.")
        self.bash_command = render_value(self, command, context)
        return BashOperator.execute(self, context)


def _infer_multiple_outputs(func: Callable[..., Any]) -> bool:
    try:
        hint = typing.get_type_hints(func).get("return")
    except Exception:
        return False
    origin = typing.get_origin(hint) or hint
    return isinstance(origin, type) and issubclass(origin, Mapping)


KNOWN_CONTEXT_KEYS = frozenset({
    "conn", "dag", "dag_run", "data_interval_end", "data_interval_start", "ds", "ds_nodash", "expanded_ti_count",
    "exception", "inlets", "inlet_events", "logical_date", "macros", "map_index_template", "outlets",
    "outlet_events", "params", "prev_data_interval_start_success", "prev_data_interval_end_success",
    "prev_start_date_success", "prev_end_date_success", "reason", "run_id", "start_date", "task",
    "task_instance", "task_instance_key_str", "task_reschedule_count", "templates_dict", "test_mode", "ti",
    "triggering_asset_events", "ts", "ts_nodash", "ts_nodash_with_tz", "var",
})  # fmt: skip


def check_call(
    function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], partial: bool = False
) -> None:
    """Airflow's parse-time check of a TaskFlow call: context parameters get a None default (and so do
    the positional parameters after the first default, which must still be given); the call must bind."""
    signature = inspect.signature(function)
    faulty = [
        p.name
        for p in signature.parameters.values()
        if p.name in KNOWN_CONTEXT_KEYS and p.default not in (None, p.empty)
    ]
    if faulty:
        raise ValueError(f"Context key parameter {faulty[0]} can't have a default other than None")
    params = [p.replace(default=None) if p.name in KNOWN_CONTEXT_KEYS else p for p in signature.parameters.values()]
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    injected: set[str] = set()
    seen_default = False
    for i, param in enumerate(params):
        if param.kind not in positional:
            continue
        if param.default is not param.empty:
            seen_default = True
        elif seen_default:
            params[i] = param.replace(default=None)
            if param.name not in KNOWN_CONTEXT_KEYS:
                injected.add(param.name)
    try:
        signature = signature.replace(parameters=params)
    except ValueError as err:
        raise ValueError(
            f"The function signature broke while assigning defaults to context key parameters of "
            f"{function.__name__}(): {err}"
        ) from err
    (signature.bind_partial if partial else signature.bind)(*args, **kwargs)
    if injected and not partial:
        names = [p.name for p in params if p.kind in positional]
        missing = injected - set(names[: len(args)]) - set(kwargs)
        if missing:
            raise TypeError(f"missing required argument(s): {', '.join(sorted(missing))}")


class _TaskDecorator:
    """What ``@task`` returns: calling it adds an operator and returns its XComArg."""

    def __init__(
        self,
        function: Callable[..., Any],
        operator_class: type[BaseOperator],
        kwargs: dict[str, Any],
        is_setup: bool = False,
        is_teardown: bool = False,
        on_failure_fail_dagrun: bool = False,
        partial_kwargs: dict[str, Any] | None = None,
    ):
        self.function = function
        self.operator_class = operator_class
        self.kwargs = dict(kwargs)
        self.is_setup, self.is_teardown = is_setup, is_teardown
        self.on_failure_fail_dagrun = on_failure_fail_dagrun
        self.partial_kwargs = dict(partial_kwargs or {})
        functools.update_wrapper(self, function)

    def _evolve(self, **changes: Any) -> _TaskDecorator:
        state = {
            "function": self.function, "operator_class": self.operator_class, "kwargs": self.kwargs,
            "is_setup": self.is_setup, "is_teardown": self.is_teardown,
            "on_failure_fail_dagrun": self.on_failure_fail_dagrun, "partial_kwargs": self.partial_kwargs,
        }  # fmt: skip
        state.update(changes)
        return _TaskDecorator(**state)

    @property
    def task_id(self) -> str:
        return self.kwargs.get("task_id") or self.function.__name__

    def _operator_kwargs(self) -> dict[str, Any]:
        kwargs = dict(self.kwargs)
        if kwargs.get("multiple_outputs") is None:
            kwargs["multiple_outputs"] = _infer_multiple_outputs(self.function)
        dag = kwargs.get("dag") or DagContext.get_current()
        kwargs["task_id"] = get_unique_task_id(self.task_id, dag, kwargs.get("task_group"))
        return kwargs

    def _mark(self, op: Any) -> None:
        if self.is_setup:
            op.is_setup = True
        if self.is_teardown:
            op.is_teardown = True
            op.trigger_rule = "all_done_setup_success"
            op.on_failure_fail_dagrun = self.on_failure_fail_dagrun

    def __call__(self, *args: Any, **kwargs: Any) -> XComArg:
        check_call(self.function, args, {**self.partial_kwargs, **kwargs})
        op = self.operator_class(
            python_callable=self.function,
            op_args=args,
            op_kwargs={**self.partial_kwargs, **kwargs},
            **self._operator_kwargs(),
        )
        self._mark(op)
        if self.is_teardown:
            from studio.sdk.trigger_rule import TriggerRule

            op.trigger_rule = TriggerRule.ALL_DONE_SETUP_SUCCESS
        return XComArg(op)

    def override(self, **kwargs: Any) -> _TaskDecorator:
        return self._evolve(kwargs={**self.kwargs, **kwargs})

    def partial(self, **kwargs: Any) -> _TaskDecorator:
        clash = set(kwargs) & set(self.partial_kwargs)
        if clash:
            raise TypeError(f"duplicate partial argument(s): {', '.join(sorted(clash))}")
        return self._evolve(partial_kwargs={**self.partial_kwargs, **kwargs})

    def _partial(self, mapped_names: list[str]) -> OperatorPartial:
        check_call(self.function, (), {**self.partial_kwargs, **dict.fromkeys(mapped_names)}, partial=True)
        kwargs = self._operator_kwargs()
        kwargs.update(python_callable=self.function, op_args=(), op_kwargs=dict(self.partial_kwargs))
        return OperatorPartial(self.operator_class, kwargs, mapped_into="op_kwargs")

    def expand(self, **mapped_kwargs: Any) -> XComArg:
        op = self._partial(list(mapped_kwargs)).expand(**mapped_kwargs)
        self._mark(op)
        return XComArg(op)

    def expand_kwargs(self, kwargs: Any) -> XComArg:
        op = self._partial([]).expand_kwargs(kwargs)
        self._mark(op)
        return XComArg(op)


def _decorator(operator_class: type[BaseOperator], **defaults: Any) -> Callable[..., Any]:
    def make(python_callable: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
        options = {**defaults, **kwargs}
        if python_callable is not None:
            return _TaskDecorator(python_callable, operator_class, options)
        return lambda func: _TaskDecorator(func, operator_class, options)

    return make


class _TaskNamespace:
    """``task`` itself: ``@task``, ``@task(...)`` and ``@task.<flavour>``."""

    python = staticmethod(_decorator(_PythonDecoratedOperator))
    branch = staticmethod(_decorator(_BranchPythonDecoratedOperator))
    short_circuit = staticmethod(_decorator(_ShortCircuitDecoratedOperator))
    sensor = staticmethod(_decorator(DecoratedSensorOperator))
    bash = staticmethod(_decorator(_BashDecoratedOperator))

    def __call__(self, python_callable: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
        return self.python(python_callable, **kwargs)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"@task.{name} is not supported by DAG Studio's local engine (supported: python, branch, short_circuit, sensor, bash)"
        )


task = _TaskNamespace()


def setup(func: Any) -> Any:
    """``@setup``: the task is a setup task."""
    deco = func if isinstance(func, _TaskDecorator) else task(func)
    return deco._evolve(is_setup=True)


def teardown(func: Any = None, *, on_failure_fail_dagrun: bool = False) -> Any:
    """``@teardown``: the task is a teardown task (trigger rule all_done_setup_success)."""

    def wrap(f: Any) -> Any:
        deco = f if isinstance(f, _TaskDecorator) else task(f)
        return deco._evolve(is_teardown=True, on_failure_fail_dagrun=on_failure_fail_dagrun)

    return wrap(func) if func is not None else wrap


__all__ = ["DecoratedOperator", "MappedOperator", "get_unique_task_id", "setup", "task", "teardown"]
