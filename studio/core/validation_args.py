"""Validation of arguments: DAG args, default_args, operators and their fields, mapped tasks, callables.

Severities follow Apache Airflow 3.3.2: an unknown DAG argument, an unknown operator argument, a missing
required argument, an unknown trigger rule, a wrong ``expand()`` keyword and (for the arguments Airflow
checks, and all others at run time) a wrong type make Airflow refuse the file or the task: errors. A
``default_args`` key that no task takes is silently ignored by Airflow: a warning. A callable that the
module code does not define, or one TaskFlow function with two different decorators, makes the export
impossible: errors.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterable
from typing import Any

from studio.core.catalog import BASE_FIELD_MAP, DAG_FIELD_MAP, SPECS, get_spec, task_field
from studio.core.model import Dag, Task, iter_leaves
from studio.core.specs import FieldSpec, OperatorSpec, check_type
from studio.core.trigger_rules import RENAMED, TRIGGER_RULES, is_trigger_rule
from studio.core.validation_context import ModuleInfo, Reporter, walk_values
from studio.core.values import CallableRef, CodeExpr, XComRef

# Arguments Airflow 3.3.2 accepts that have no field spec (they are kept and passed through unchecked).
AIRFLOW3_DAG_ARGS = frozenset(
    {
        "allowed_run_types",
        "auto_register",
        "deadline",
        "disable_bundle_versioning",
        "jinja_environment_kwargs",
        "rerun_with_latest_version",
        "sla_miss_callback",
        "template_undefined",
    }
)
AIRFLOW3_TASK_ARGS = frozenset(
    {
        "allow_nested_operators",
        "default_args",
        "doc_json",
        "doc_rst",
        "doc_yaml",
        "inlets",
        "logger_name",
        "outlets",
        "post_execute",
        "pre_execute",
        "render_template_as_native_obj",
        "resources",
        "retry_policy",
        "task_display_name",
        "wait_for_past_depends_before_skipping",
    }
)
# Airflow 2 arguments that Airflow 3 removed: name -> what to use instead (None: nothing).
AIRFLOW2_DAG_ARGS: dict[str, str | None] = {
    "schedule_interval": "schedule",
    "timetable": "schedule",
    "concurrency": "max_active_tasks",
    "default_view": None,
    "orientation": None,
    "full_filepath": None,
}
AIRFLOW2_TASK_ARGS: dict[str, str | None] = {"task_concurrency": "max_active_tis_per_dag"}
GROUP_ARGS = frozenset(
    {
        "prefix_group_id",
        "tooltip",
        "ui_color",
        "ui_fgcolor",
        "default_args",
        "add_suffix_on_collision",
        "group_display_name",
        "doc_md",
    }
)
_ANY_OPERATOR_FIELD: dict[str, FieldSpec] = {f.name: f for s in SPECS for f in s.fields}


def _did_you_mean(name: str, candidates: Iterable[str]) -> str:
    match = difflib.get_close_matches(name, list(candidates), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _removed(name: str, table: dict[str, str | None]) -> str:
    instead = table[name]
    return f"Airflow 3 removed the argument {name!r}" + (f"; use {instead!r}" if instead else "")


def trigger_rule_problem(value: Any) -> str | None:
    """Why ``value`` is not one of Airflow 3's trigger rules (with the Airflow 2 rename), or None."""
    if isinstance(value, CodeExpr):
        return None
    if not isinstance(value, str):
        return f"trigger_rule must be a string, got {type(value).__name__} {value!r}"[:200]
    if is_trigger_rule(value):
        return None
    if value in RENAMED:
        return f"{value!r} was renamed in Airflow 3: use {RENAMED[value]!r}"
    return f"{value!r} is not a trigger rule{_did_you_mean(value, TRIGGER_RULES)}; Airflow 3 knows: " + ", ".join(
        TRIGGER_RULES
    )


def _check_value(
    r: Reporter, key: str, name: str, spec: FieldSpec | None, value: Any, task_id: str | None, label: str = ""
) -> None:
    """Type (and trigger rule) check of one argument; ``label`` names it in the message (default: ``name``)."""
    problem = trigger_rule_problem(value) if name == "trigger_rule" else check_type(spec, value) if spec else None
    if problem:
        r.error(key, f"{label or name}: {problem}", task_id=task_id)
    elif spec is not None and spec.secret and _has_literal_text(value):
        r.warning(
            key,
            f"{label or name}: a secret written as a literal ends up in the generated code; use a template such as "
            "'{{ var.value.my_secret }}' or '{{ conn.my_conn.password }}' instead",
            task_id=task_id,
        )


def _has_literal_text(value: Any) -> bool:
    """True when a (nested) value holds plain text that is not a Jinja template."""
    return any(isinstance(v, str) and v and "{{" not in v for v in iter_leaves(value))


# --- DAG arguments and default_args ----------------------------------------------------------------
def check_dag_args(r: Reporter, target: str) -> None:
    for name, value in r.dag.args.items():
        key = f"dag.args.{name}"
        if name in DAG_FIELD_MAP:
            if name not in ("schedule", "default_args"):
                _check_value(r, key, name, DAG_FIELD_MAP[name], value, None)
        elif name in AIRFLOW3_DAG_ARGS:
            continue
        elif name in AIRFLOW2_DAG_ARGS:
            if target != "airflow2":
                r.error(key, _removed(name, AIRFLOW2_DAG_ARGS) + " (the export target is Airflow 3)")
        else:
            candidates = [*DAG_FIELD_MAP, *AIRFLOW3_DAG_ARGS]
            r.error(
                key,
                f"unknown DAG argument {name!r}{_did_you_mean(name, candidates)}: "
                "Airflow raises TypeError: DAG.__init__() got an unexpected keyword argument",
            )
    default_args = r.dag.args.get("default_args")
    if default_args is not None:
        check_default_args(r, "dag.args.default_args", default_args)
    for group in r.dag.groups:
        for name, value in group.args.items():
            key = f"group:{group.group_id}.args.{name}"
            if name not in GROUP_ARGS:
                r.error(key, f"unknown TaskGroup argument {name!r}{_did_you_mean(name, GROUP_ARGS)}")
            elif name == "default_args":
                check_default_args(r, key, value)
            elif name in ("prefix_group_id", "add_suffix_on_collision") and not isinstance(value, (bool, CodeExpr)):
                r.error(key, f"{name} must be true or false, got {value!r}"[:200])


def check_default_args(r: Reporter, key: str, default_args: Any) -> None:
    if isinstance(default_args, CodeExpr):
        return
    if not isinstance(default_args, dict):
        r.error(key, f"default_args must be a dict, got {type(default_args).__name__}")
        return
    has_custom = any(t.operator == "custom" for t in r.dag.tasks)
    for name, value in default_args.items():
        spec = BASE_FIELD_MAP.get(name)  # operator fields may differ in type between operators: not checked
        if spec is not None or name == "trigger_rule":
            _check_value(r, key, name, spec, value, None, label=f"default_args[{name!r}]")
        elif name in _ANY_OPERATOR_FIELD or name in AIRFLOW3_TASK_ARGS or has_custom:
            continue
        else:
            r.warning(
                key,
                f"default_args key {name!r} is not an argument of any task"
                f"{_did_you_mean(name, [*BASE_FIELD_MAP, *_ANY_OPERATOR_FIELD])}: Airflow ignores it",
            )


# --- tasks ----------------------------------------------------------------------------------------
def _defaults_for(dag: Dag, task: Task) -> set[str]:
    """Names set in default_args that reach ``task`` (the DAG's and its groups')."""
    names: set[str] = set()
    sources = [dag.args.get("default_args")] + [g.args.get("default_args") for g in _safe_chain(dag, task.group_id)]
    for source in sources:
        if isinstance(source, dict):
            names.update(source)
    return names


def _safe_chain(dag: Dag, group_id: str | None) -> list[Any]:
    chain, seen = [], set()
    while group_id is not None and group_id not in seen:
        seen.add(group_id)
        group = dag.group(group_id)
        if group is None:
            break
        chain.append(group)
        group_id = group.parent_id
    return chain


def check_tasks(r: Reporter, module: ModuleInfo, target: str) -> None:
    dag = r.dag
    for task in dag.tasks:
        spec = get_spec(task.operator)
        key = f"task:{task.task_id}"
        if spec is None:
            known = [s.id for s in SPECS]
            r.error(
                key,
                f"unknown operator {task.operator!r}{_did_you_mean(task.operator, known)}; use one of the "
                "catalog's operators or 'custom' with a class import path",
                leaf="operator",
                task_id=task.task_id,
            )
            continue
        if spec.kind == "custom":
            _check_custom(r, task)
        else:
            _check_task_args(r, task, spec, target)
            _check_required(r, task, spec)
        _check_expand(r, task, spec, module)


def _check_custom(r: Reporter, task: Task) -> None:
    key = f"task:{task.task_id}"
    path = task.class_path
    if not path:
        r.error(
            key,
            "a custom operator needs its class import path ('class', e.g. 'pkg.module.MyOperator')",
            leaf="class",
            task_id=task.task_id,
        )
    elif not all(part.isidentifier() for part in path.split(".")):
        r.error(
            key,
            f"invalid class import path {path!r} (expected 'package.module.ClassName')",
            leaf="class",
            task_id=task.task_id,
        )
    if "trigger_rule" in task.args:
        _check_value(r, f"{key}.args.trigger_rule", "trigger_rule", None, task.args["trigger_rule"], task.task_id)


def _check_task_args(r: Reporter, task: Task, spec: OperatorSpec, target: str) -> None:
    for name, value in task.args.items():
        key = f"task:{task.task_id}.args.{name}"
        field = task_field(spec, name)
        if field is not None or name == "trigger_rule":
            _check_value(r, key, name, field, value, task.task_id)
        elif name in AIRFLOW3_TASK_ARGS:
            continue
        elif name in AIRFLOW2_TASK_ARGS:
            if target != "airflow2":
                r.error(
                    key, _removed(name, AIRFLOW2_TASK_ARGS) + " (the export target is Airflow 3)", task_id=task.task_id
                )
        else:
            candidates = [*spec.field_map, *BASE_FIELD_MAP]
            r.error(
                key,
                f"unknown argument {name!r} for {spec.id}{_did_you_mean(name, candidates)}: Airflow "
                f"raises 'Invalid arguments were passed to {spec.id.lstrip('@')}'",
                task_id=task.task_id,
            )


def _check_required(r: Reporter, task: Task, spec: OperatorSpec) -> None:
    if task.expand_kwargs is not None:
        return  # any argument may come from the mapped dicts
    given = set(task.args) | set(task.expand or {}) | _defaults_for(r.dag, task)
    missing = [f.name for f in spec.required_fields if f.name not in given]
    if missing:
        names = ", ".join(missing)
        r.error(
            f"task:{task.task_id}",
            f"{spec.id} task {task.task_id!r} needs {names} "
            f"(missing required argument{'s' if len(missing) > 1 else ''})",
            leaf="args",
            task_id=task.task_id,
        )


def _function_params(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str] | None:
    """Keyword-passable parameter names of a function, or None when it takes ``**kwargs``."""
    if node.args.kwarg is not None:
        return None
    a = node.args
    return {p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs)}


def _mappable(value: Any) -> bool:
    return isinstance(value, (list, tuple, dict, XComRef, CodeExpr))


def _check_expand(r: Reporter, task: Task, spec: OperatorSpec, module: ModuleInfo) -> None:
    key = f"task:{task.task_id}.expand"
    if task.expand_kwargs is not None and not isinstance(task.expand_kwargs, (list, tuple, XComRef, CodeExpr)):
        r.error(
            key,
            f"expand_kwargs() needs a list of dicts or an XCom reference, got {type(task.expand_kwargs).__name__}",
            task_id=task.task_id,
        )
    if not task.expand:
        return
    params: set[str] | None = None
    if spec.kind == "taskflow":
        ref = task.args.get("python_callable")
        node = module.functions.get(ref.name) if isinstance(ref, CallableRef) else None
        params = _function_params(node) if node is not None else None
    for name, value in task.expand.items():
        if spec.kind == "taskflow":
            unknown = params is not None and name not in params
        else:
            unknown = spec.kind != "custom" and task_field(spec, name) is None and name not in AIRFLOW3_TASK_ARGS
        if unknown:
            what = "its function's parameters" if spec.kind == "taskflow" else "the operator's arguments"
            r.error(
                key,
                f"{spec.id}.expand() got an unexpected keyword argument {name!r} (expand keys must be {what})",
                task_id=task.task_id,
            )
        elif not _mappable(value):
            r.error(
                key,
                f"expand({name}=...) needs a list, a dict or an XCom reference, got {type(value).__name__} {value!r}"[
                    :200
                ],
                task_id=task.task_id,
            )
        if spec.kind != "taskflow" and name in task.args:
            r.error(key, f"{name!r} is both a partial() and an expand() argument", task_id=task.task_id)


# --- module code, callables, TaskFlow -------------------------------------------------------------
def check_module_code(r: Reporter, module: ModuleInfo, values: list[tuple[str, str | None, Any]]) -> None:
    source = r.dag.source
    module_file = (source.module_file or source.file) if source else None
    if module.syntax_error is not None:
        exc = module.syntax_error
        r.error(
            "dag",
            f"syntax error in the module code of DAG {r.dag.dag_id!r}: {exc.msg}",
            file=module_file,
            line=exc.lineno,
        )
        return  # its names are unknown: do not report every callable as missing
    for key, task_id, value in values:
        for item in walk_values(value):
            if isinstance(item, CallableRef) and not module.defines(item.name):
                where = f" ({module_file})" if module_file and module_file != r.file else ""
                r.error(key, f"function {item.name!r} is not defined in the DAG's module code{where}", task_id=task_id)
    decorators: dict[str, list[Task]] = {}
    for task in r.dag.tasks:
        spec = get_spec(task.operator)
        ref = task.args.get("python_callable")
        if spec is not None and spec.kind == "taskflow" and isinstance(ref, CallableRef):
            decorators.setdefault(ref.name, []).append(task)
    for name, tasks in decorators.items():
        first = tasks[0]
        for task in tasks[1:]:
            if task.operator != first.operator:
                r.error(
                    f"task:{task.task_id}",
                    f"TaskFlow tasks {first.task_id!r} ({first.operator}) and "
                    f"{task.task_id!r} ({task.operator}) share function {name!r} with different decorators; "
                    "a function has one decorator: give each its own function",
                    leaf="operator",
                    task_id=task.task_id,
                )
