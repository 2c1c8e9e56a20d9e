"""The standard operators: PythonOperator, BranchPythonOperator, ShortCircuitOperator, BashOperator,
EmptyOperator, BaseBranchOperator, and SkipMixin (how branching and short-circuit report what to skip)."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, ClassVar

from studio.sdk.baseoperator import BaseOperator
from studio.sdk.exceptions import AirflowException, AirflowSkipException

XCOM_SKIPMIXIN_KEY = "skipmixin_key"


class SkipMixin:
    """Records on the running task instance which downstream tasks to follow or skip."""

    def skip(self, ti: Any, tasks: Iterable[Any]) -> None:
        ids = [t.task_id for t in tasks]
        if ids:
            ti.xcom_push(key=XCOM_SKIPMIXIN_KEY, value={"skipped": ids})
            ti.skip_downstream = sorted(set(ti.skip_downstream or []) | set(ids))

    def skip_all_except(self, ti: Any, branch_task_ids: str | Iterable[str] | None) -> None:
        if isinstance(branch_task_ids, str):
            chosen = {branch_task_ids}
        elif branch_task_ids is None:
            chosen = set()
        elif isinstance(branch_task_ids, Iterable):
            chosen = set(branch_task_ids)
            bad = {(b, type(b).__name__) for b in chosen if not isinstance(b, str)}
            if bad:
                raise AirflowException(
                    "Unable to branch to the specified tasks. The branching function returned invalid "
                    f"'branch_task_ids': {bad}. Please check that your function returns an Iterable of valid "
                    "task IDs that exist in your DAG."
                )
        else:
            raise AirflowException(
                "'branch_task_ids' must be either None, a task ID, or an Iterable of IDs, "
                f"but got {type(branch_task_ids).__name__!r}."
            )
        task = ti.task
        dag = task.dag
        invalid = chosen - set(dag.task_ids)
        if invalid:
            raise AirflowException(
                f"'branch_task_ids' must contain only valid task_ids. Invalid tasks found: {invalid}."
            )
        downstream = [dag.get_task(t) for t in sorted(task.downstream_task_ids)]
        for branch in list(chosen):
            chosen.update(dag.get_task(branch).get_flat_relative_ids(upstream=False))
        follow = [t.task_id for t in downstream if t.task_id in chosen]
        if downstream:
            ti.xcom_push(key=XCOM_SKIPMIXIN_KEY, value={"followed": follow})
        ti.follow_branches = follow


class BranchMixIn(SkipMixin):
    """Turns a branch choice (task ids or group ids) into ``follow_branches``."""

    def do_branch(self, context: Mapping[str, Any], branches: str | Iterable[str] | None) -> Any:
        ti = context["ti"]
        if branches is None:
            self.skip_all_except(ti, None)
        else:
            self.skip_all_except(ti, list(self._expand_task_group_roots(ti, branches)))
        return branches

    @staticmethod
    def _expand_task_group_roots(ti: Any, branches: str | Iterable[str]) -> Iterable[str]:
        groups = ti.task.dag.task_group_dict
        for branch in [branches] if isinstance(branches, str) or not isinstance(branches, Iterable) else branches:
            if branch in groups:
                yield from (root.task_id for root in groups[branch].roots)
            else:
                yield branch


def determine_kwargs(func: Callable[..., Any], args: Collection[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments ``func`` receives from the context: all of it with ``**kwargs``, else by name."""
    signature = inspect.signature(func)
    params = signature.parameters
    has_var_kw = any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params.values())
    for name in list(params)[: len(args)]:
        if name in kwargs:
            raise ValueError(f"The key {name!r} in args is a part of kwargs and therefore reserved.")
    if has_var_kw:
        return dict(kwargs)
    skipped = set(list(params)[: len(args)])
    return {k: v for k, v in kwargs.items() if k in params and k not in skipped}


class PythonOperator(BaseOperator):
    """Calls ``python_callable(*op_args, **op_kwargs)``, plus the context arguments it asks for."""

    template_fields = ("templates_dict", "op_args", "op_kwargs")
    template_fields_renderers: ClassVar[dict[str, str]] = {"templates_dict": "json", "op_args": "py", "op_kwargs": "py"}
    ui_color = "#ffefeb"
    shallow_copy_attrs = ("python_callable", "op_kwargs")

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Collection[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        templates_dict: dict[str, Any] | None = None,
        templates_exts: list[str] | None = None,
        show_return_value_in_logs: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not callable(python_callable):
            raise AirflowException("`python_callable` param must be callable")
        self.python_callable = python_callable
        self.op_args = op_args or ()
        self.op_kwargs = op_kwargs or {}
        self.templates_dict = templates_dict
        if templates_exts:
            self.template_ext = templates_exts
        self.show_return_value_in_logs = show_return_value_in_logs

    def execute(self, context: Any) -> Any:
        merged = dict(context)
        merged.update(self.op_kwargs)
        merged["templates_dict"] = self.templates_dict
        self.op_kwargs = self.determine_kwargs(merged)
        value = self.execute_callable()
        if self.show_return_value_in_logs:
            print(f"Done. Returned value was: {value}", flush=True)
        return value

    def determine_kwargs(self, context: Mapping[str, Any]) -> Mapping[str, Any]:
        return determine_kwargs(self.python_callable, self.op_args, context)

    def execute_callable(self) -> Any:
        return self.python_callable(*self.op_args, **self.op_kwargs)


class BranchPythonOperator(PythonOperator, BranchMixIn):
    """Runs the callable; the task ids it returns are followed, other direct downstream tasks skipped."""

    def execute(self, context: Any) -> Any:
        return self.do_branch(context, super().execute(context))


class ShortCircuitOperator(PythonOperator, SkipMixin):
    """A falsy result skips the downstream tasks (all of them with ``ignore_downstream_trigger_rules``)."""

    def __init__(self, *, ignore_downstream_trigger_rules: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ignore_downstream_trigger_rules = ignore_downstream_trigger_rules

    def execute(self, context: Any) -> Any:
        condition = super().execute(context)
        if condition or not self.downstream_task_ids:
            return condition
        dag = self.dag
        assert dag is not None
        if self.ignore_downstream_trigger_rules:
            ids = self.get_flat_relative_ids(upstream=False)
        else:
            ids = set(self.downstream_task_ids)
        self.skip(context["ti"], [dag.get_task(t) for t in sorted(ids) if not dag.get_task(t).is_teardown])
        return condition


class BaseBranchOperator(BaseOperator, BranchMixIn):
    """Subclass and implement ``choose_branch(context)``."""

    def choose_branch(self, context: Any) -> str | Iterable[str] | None:
        raise NotImplementedError

    def execute(self, context: Any) -> Any:
        return self.do_branch(context, self.choose_branch(context))


class EmptyOperator(BaseOperator):
    """Does nothing (Airflow does not even start a worker for it; here it succeeds at once)."""

    ui_color = "#e8f7e4"

    def execute(self, context: Any) -> None:
        pass


def context_env(context: Mapping[str, Any]) -> dict[str, str]:
    """Airflow's ``AIRFLOW_CTX_*`` variables for the running task."""
    ti, dag_run = context.get("ti"), context.get("dag_run")
    pairs = {
        "AIRFLOW_CTX_DAG_ID": getattr(context.get("dag"), "dag_id", None),
        "AIRFLOW_CTX_TASK_ID": getattr(ti, "task_id", None),
        "AIRFLOW_CTX_LOGICAL_DATE": context.get("ts"),
        "AIRFLOW_CTX_TRY_NUMBER": getattr(ti, "try_number", None),
        "AIRFLOW_CTX_DAG_RUN_ID": getattr(dag_run, "run_id", None),
        "AIRFLOW_CTX_DAG_OWNER": getattr(context.get("task"), "owner", None),
    }
    return {k: str(v) for k, v in pairs.items() if v is not None}


class BashOperator(BaseOperator):
    """Runs ``bash -c bash_command``; exit 0 succeeds (last stdout line → XCom), ``skip_on_exit_code``
    (default 99) skips, anything else fails."""

    template_fields = ("bash_command", "env", "cwd")
    template_fields_renderers: ClassVar[dict[str, str]] = {"bash_command": "bash", "env": "json"}
    template_ext = (".sh", ".bash")
    ui_color = "#f0ede4"

    def __init__(
        self,
        *,
        bash_command: str,
        env: dict[str, str] | None = None,
        append_env: bool = False,
        output_encoding: str = "utf-8",
        skip_on_exit_code: int | Collection[int] | None = 99,
        cwd: str | None = None,
        output_processor: Callable[[str], Any] = lambda result: result,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bash_command = bash_command
        self.env, self.append_env = env, append_env
        self.output_encoding = output_encoding
        if skip_on_exit_code is None:
            self.skip_on_exit_code: Collection[int] = ()
        elif isinstance(skip_on_exit_code, int):
            self.skip_on_exit_code = (skip_on_exit_code,)
        else:
            self.skip_on_exit_code = tuple(skip_on_exit_code)
        self.cwd = cwd
        self.output_processor = output_processor
        self._process: subprocess.Popen[bytes] | None = None

    def get_env(self, context: Mapping[str, Any]) -> dict[str, str]:
        env = self.env
        if env is None:
            env = dict(os.environ)
        elif self.append_env:
            env = {**os.environ, **env}
        return {**env, **context_env(context)}

    def execute(self, context: Any) -> Any:
        if self.cwd is not None:
            if not os.path.exists(self.cwd):
                raise AirflowException(f"Can not find the cwd: {self.cwd}")
            if not os.path.isdir(self.cwd):
                raise AirflowException(f"The cwd {self.cwd} must be a directory")
        env = self.get_env(context)
        with tempfile.TemporaryDirectory(prefix="airflowtmp") as tmp:
            code, last_line = self._run(["bash", "-c", self.bash_command], env, self.cwd or tmp)
        if code in self.skip_on_exit_code:
            raise AirflowSkipException(f"Bash command returned exit code {code}. Skipping.")
        if code != 0:
            raise AirflowException(f"Bash command failed. The command returned a non-zero exit code {code}.")
        return self.output_processor(last_line)

    def _run(self, command: list[str], env: dict[str, str], cwd: str) -> tuple[int, str]:
        sys.stdout.flush()
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        line = ""
        assert self._process.stdout is not None
        for raw in iter(self._process.stdout.readline, b""):
            line = raw.decode(self.output_encoding, errors="backslashreplace").rstrip()
            print(line, flush=True)
        return self._process.wait(), line

    def on_kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
