"""Running one task instance in a worker: ``run_task(...) -> result`` (docs/ENGINE.md's worker result).

Unmaps a mapped task, builds Airflow's context, renders template fields, runs the on_execute callback,
``pre_execute``/``execute``/``post_execute`` (with ``execution_timeout`` raised inside the task as
AirflowTaskTimeout where SIGALRM is available), pushes XCom like Airflow's task runner (return value,
multiple_outputs keys, the length for mapped downstream tasks), maps exceptions to states, and runs
on_success/on_failure/on_retry/on_skipped callbacks. Output goes to stdout, which the worker points at
the try's log file."""

from __future__ import annotations

import copy
import signal
import threading
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from studio.sdk.context import _CURRENT, DagRunInfo, RuntimeTaskInstance, build_context
from studio.sdk.dag import DAG
from studio.sdk.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowRescheduleException,
    AirflowSensorTimeout,
    AirflowSkipException,
    AirflowTaskTimeout,
)
from studio.sdk.mapped import MappedOperator, input_length
from studio.sdk.masking import redact
from studio.sdk.templating import json_safe, rendered_fields
from studio.sdk.xcom_arg import XCOM_RETURN_KEY, find_xcom_args, mapped_task_groups


def _has_mapped_dependants(dag: DAG, task_id: str) -> bool:
    """Whether a mapped task or mapped task group expands over ``task_id``'s XCom (once per DAG)."""
    cache = dag.__dict__.get("_studio_map_inputs")
    if cache is None:
        inputs = [t.expand_input for t in dag.tasks if isinstance(t, MappedOperator)]
        inputs += [g.expand_input for t in dag.tasks for g in mapped_task_groups(t)]
        cache = {arg.operator.task_id for value in inputs for arg in find_xcom_args(value)}
        dag.__dict__["_studio_map_inputs"] = cache
    return task_id in cache


class AirflowTaskTerminated(AirflowException):
    """The worker received SIGTERM (cancellation or the fork server's timeout)."""


@contextmanager
def _terminate_on_sigterm(task: Any) -> Iterator[None]:
    """While the task runs, SIGTERM calls ``task.on_kill()`` and fails the try (callbacks still run)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum: int, frame: Any) -> None:
        # Ignore further SIGTERMs while on_kill cleans up (the fork server signals the group and the worker;
        # with SIG_DFL the second one killed the worker in the middle of on_kill). SIGKILL follows the grace.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        task.on_kill()
        raise AirflowTaskTerminated("Task received SIGTERM signal")

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _timeout(seconds: float | None) -> Iterator[None]:
    """Raise AirflowTaskTimeout in this thread after ``seconds`` (SIGALRM; a no-op where unavailable)."""
    usable = seconds is not None and seconds > 0 and hasattr(signal, "setitimer")
    usable = usable and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise AirflowTaskTimeout(f"Timeout, PID: {__import__('os').getpid()}")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))  # type: ignore[arg-type]
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _run_callbacks(callbacks: Any, context: Mapping[str, Any], kind: str) -> list[str]:
    errors = []
    for callback in callbacks or []:
        try:
            callback(context)
        except Exception as err:
            traceback.print_exc()
            errors.append(f"{kind} callback failed: {type(err).__name__}: {err}")
    return errors


def prepare_task(
    dag: DAG, task_id: str, map_index: int, try_number: int, run_info: dict[str, Any], xcom_reader: Any
) -> tuple[Any, RuntimeTaskInstance, dict[str, Any]]:
    """The operator to run (a copy, unmapped for ``map_index``), its ``ti`` and its context."""
    dag_run = DagRunInfo(dag.dag_id, run_info)
    task = dag.get_task(task_id)
    ti = RuntimeTaskInstance(task, dag_run, map_index, try_number, xcom_reader, run_info)
    if isinstance(task, MappedOperator):
        if map_index < 0:
            raise AirflowException(f"{task_id} is a mapped task: it runs with a map index >= 0")
        task = task.unmap(build_context(task, ti, dag_run), map_index)
    else:
        task = copy.copy(task)
    object.__setattr__(task, "_instantiated", False)  # no more dependency bookkeeping while it runs
    ti.task = task
    return task, ti, build_context(task, ti, dag_run)


def map_length(dag: DAG, task_id: str, run_info: dict[str, Any], xcom_reader: Any) -> int:
    """How many task instances the mapped task (or task in a mapped task group) ``task_id`` expands to."""
    task = dag.get_task(task_id)
    groups = mapped_task_groups(task)
    if not isinstance(task, MappedOperator) and not groups:
        raise ValueError(f"{task_id} is not a mapped task")
    dag_run = DagRunInfo(dag.dag_id, run_info)
    ti = RuntimeTaskInstance(task, dag_run, -1, 1, xcom_reader, run_info)
    context = build_context(task, ti, dag_run)
    length = task.map_length(context) if isinstance(task, MappedOperator) else 1
    for group in groups:
        length *= input_length(group.expand_kind, group.expand_input, context)
    return length


def _result(state: str, **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = {
        "state": state, "fail_fast": False, "error": None, "xcom": [], "rendered_fields": {},
        "follow_branches": None, "skip_downstream": None, "reschedule_at": None, "map_length": None,
    }  # fmt: skip
    result.update(extra)
    return result


def _push_return_value(dag: DAG, task: Any, ti: RuntimeTaskInstance, value: Any) -> int | None:
    """Airflow's ``_push_xcom_if_needed``; returns the length mapped downstream tasks expand to."""
    value = value if task.do_xcom_push else None
    has_mapped_dependant = map_index_unset(ti) and _has_mapped_dependants(dag, task.task_id)
    if value is None:
        if has_mapped_dependant:
            raise AirflowException(f"{task.task_id} must push an XCom (a list or dict) for the mapped tasks downstream")
        return None
    length = None
    if has_mapped_dependant:
        if not isinstance(value, (list, dict)):
            raise AirflowException(
                f"unmappable return type {type(value).__qualname__!r}: mapped tasks need a list or a dict"
            )
        length = len(value)
    if task.multiple_outputs:
        if not isinstance(value, Mapping):
            raise TypeError(f"Returned output was type {type(value)} expected dictionary for multiple_outputs")
        for key in value:
            if not isinstance(key, str):
                raise TypeError(
                    f"Returned dictionary keys must be strings when using multiple_outputs, found {key} ({type(key)}) instead"
                )
        for key, item in value.items():
            ti.xcom_push(key, item)
    ti.xcom_push(XCOM_RETURN_KEY, value)
    return length


def map_index_unset(ti: RuntimeTaskInstance) -> bool:
    return ti.map_index < 0


def run_task(
    dag: DAG, task_id: str, map_index: int, try_number: int, run_info: dict[str, Any], xcom_reader: Any
) -> dict[str, Any]:
    """Run one try of a task instance in this process and return the worker result (never raises)."""
    task: Any = None
    ti: RuntimeTaskInstance | None = None
    context: dict[str, Any] = {}
    try:
        task, ti, context = prepare_task(dag, task_id, map_index, try_number, run_info, xcom_reader)
        task.render_template_fields(context)
        ti.rendered_fields = rendered_fields(task)
    except Exception as err:
        traceback.print_exc()
        return _finish_failure(task, ti, context, err)
    _CURRENT.append(context)
    ti.state = "running"
    try:
        print(f"Running {ti!r} (try {try_number})", flush=True)
        errors = _run_callbacks(task.on_execute_callback, context, "on_execute")
        timeout = task.execution_timeout.total_seconds() if task.execution_timeout else None
        with _terminate_on_sigterm(task), _timeout(timeout):
            try:
                task.pre_execute(context)
                value = task.execute(context)
                task.post_execute(context, value)
            except AirflowTaskTimeout:  # as Airflow's task runner: the operator cleans up (a container, a
                task.on_kill()  # subprocess) before the try fails
                raise
        length = _push_return_value(dag, task, ti, value)
    except AirflowSkipException as err:
        print(f"Skipping: {err}", flush=True)
        ti.state = "skipped"
        errors = _run_callbacks(task.on_skipped_callback, context, "on_skipped")
        return _finish(task, ti, "skipped", error=str(err) or None, callback_errors=errors)
    except AirflowRescheduleException as err:
        when = err.reschedule_date
        print(f"Rescheduling the sensor at {when}", flush=True)
        return _finish(task, ti, "up_for_reschedule", reschedule_at=when.isoformat())
    except BaseException as err:
        traceback.print_exc()
        return _finish_failure(task, ti, context, err)
    finally:
        _CURRENT.remove(context)
    ti.state = "success"
    errors += _run_callbacks(task.on_success_callback, context, "on_success")
    print(f"Marking task as SUCCESS. dag_id={dag.dag_id}, task_id={task.task_id}, map_index={map_index}", flush=True)
    return _finish(task, ti, "success", map_length=length, callback_errors=errors)


def _finish(task: Any, ti: RuntimeTaskInstance | None, state: str, **extra: Any) -> dict[str, Any]:
    result = _result(state, **extra)
    result["error"] = redact(result["error"])  # an exception's message may quote a secret
    if ti is not None:
        result["xcom"] = [{"key": k, "value": v} for k, v in ti.pushed.items()]
        result["follow_branches"] = ti.follow_branches
        result["skip_downstream"] = ti.skip_downstream
        result["rendered_fields"] = getattr(ti, "rendered_fields", {})
    return json_safe(result)


def _finish_failure(
    task: Any, ti: RuntimeTaskInstance | None, context: dict[str, Any], err: BaseException
) -> dict[str, Any]:
    fail_fast = isinstance(err, (AirflowFailException, AirflowSensorTimeout))
    retries = int(getattr(task, "retries", 0) or 0)
    will_retry = not fail_fast and ti is not None and retries > 0 and ti.try_number <= retries
    errors: list[str] = []
    if task is not None and context:
        context = {**context, "exception": err}
        kind = "on_retry" if will_retry else "on_failure"
        if ti is not None:
            ti.state = "up_for_retry" if will_retry else "failed"
        errors = _run_callbacks(getattr(task, f"{kind}_callback", None), context, kind)
        errors += _email_alert(task, ti, context, err, will_retry)
    state_text = "UP_FOR_RETRY" if will_retry else "FAILED"
    print(f"Marking task as {state_text}. task_id={getattr(task, 'task_id', '?')}", flush=True)
    return _finish(
        task, ti, "failed", fail_fast=fail_fast, error=f"{type(err).__name__}: {err}", callback_errors=errors
    )


def _email_alert(task: Any, ti: Any, context: dict[str, Any], err: BaseException, will_retry: bool) -> list[str]:
    """Airflow's ``email`` + ``email_on_retry``/``email_on_failure`` alert, after the callbacks (studio/sdk/smtp.py)."""
    if ti is None or not getattr(task, "email", None):
        return []
    if not getattr(task, "email_on_retry" if will_retry else "email_on_failure", False):
        return []
    from studio.sdk.smtp import send_task_alert

    return send_task_alert(task, ti, context, err)


def run_dag_callback(dag: DAG, kind: str, run_info: dict[str, Any], reason: str = "") -> list[str]:
    """Run the DAG's ``on_success_callback`` or ``on_failure_callback`` (``kind`` = success|failure)."""
    callbacks = getattr(dag, f"on_{kind}_callback", None)
    if callbacks is None:
        return []
    dag_run = DagRunInfo(dag.dag_id, run_info)
    context: dict[str, Any] = {"dag": dag, "dag_run": dag_run, "run_id": dag_run.run_id, "reason": reason}
    context["params"] = dag.params.validate() if dag.params else {}
    if dag_run.logical_date is not None:
        context.update(logical_date=dag_run.logical_date, ds=dag_run.logical_date.strftime("%Y-%m-%d"))
    return _run_callbacks(callbacks if isinstance(callbacks, list) else [callbacks], context, f"dag on_{kind}")
