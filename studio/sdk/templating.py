"""Jinja rendering of operators' ``template_fields`` with Airflow's rules: a sandboxed environment with
StrictUndefined, the DAG folder plus ``template_searchpath`` as loader path, ``template_ext`` strings read
as template files, nested objects with their own ``template_fields``, XComArgs resolved, user macros and
filters, and ``render_template_as_native_obj``."""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any

import jinja2
import jinja2.ext  # imported here (in the fork server), not on a worker's first render
import jinja2.nativetypes
import jinja2.sandbox


class SandboxedEnvironment(jinja2.sandbox.SandboxedEnvironment):
    """Airflow's sandbox: single-underscore attributes are allowed, dunder ones are not."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if attr.startswith("__"):
            return False
        return not jinja2.sandbox.is_internal_attribute(obj, attr)


class NativeEnvironment(SandboxedEnvironment, jinja2.nativetypes.NativeEnvironment):
    """Sandboxed environment whose templates render to Python objects."""

    code_generator_class = jinja2.nativetypes.NativeCodeGenerator
    concat = staticmethod(jinja2.nativetypes.native_concat)  # type: ignore[assignment]
    template_class = jinja2.nativetypes.NativeTemplate


def _ds(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d")


FILTERS = {
    "ds": _ds,
    "ds_nodash": lambda v: v.strftime("%Y%m%d"),
    "ts": lambda v: v.isoformat(),
    "ts_nodash": lambda v: v.strftime("%Y%m%dT%H%M%S"),
    "ts_nodash_with_tz": lambda v: v.isoformat().replace("-", "").replace(":", ""),
}


def search_path(dag: Any) -> list[str]:
    paths = [os.path.dirname(dag.fileloc)] if getattr(dag, "fileloc", "") else []
    return paths + [str(p) for p in (getattr(dag, "template_searchpath", None) or [])]


def template_env(dag: Any, native: bool | None = None) -> jinja2.Environment:
    """The Jinja environment of ``dag`` (native when the task or else the DAG asks for native objects)."""
    if native is None:
        native = bool(getattr(dag, "render_template_as_native_obj", False))
    options: dict[str, Any] = {
        "loader": jinja2.FileSystemLoader(search_path(dag)) if dag is not None else None,
        "undefined": getattr(dag, "template_undefined", None) or jinja2.StrictUndefined,
        "extensions": ["jinja2.ext.do"],
        "cache_size": 0,
    }
    options.update(getattr(dag, "jinja_environment_kwargs", None) or {})
    env: jinja2.Environment = (NativeEnvironment if native else SandboxedEnvironment)(**options)
    env.filters.update(FILTERS)
    if dag is not None:
        env.globals.update(getattr(dag, "user_defined_macros", None) or {})
        env.filters.update(getattr(dag, "user_defined_filters", None) or {})
    return env


def operator_env(op: Any) -> jinja2.Environment:
    """The operator's environment, built once per DAG and mode (template caching is off, so sharing is safe)."""
    native = getattr(op, "render_template_as_native_obj", None)
    if native is None:
        native = bool(getattr(op.dag, "render_template_as_native_obj", False))
    if op.dag is None:
        return template_env(None, native)
    cache = op.dag.__dict__.setdefault("_studio_jinja_envs", {})
    if native not in cache:
        cache[native] = template_env(op.dag, native)
    return cache[native]


def render_value(
    op: Any, content: Any, context: Any, env: jinja2.Environment | None = None, seen: set[int] | None = None
) -> Any:
    """``content`` rendered: strings as templates (file names with a ``template_ext`` ending are read
    through the loader), containers item by item, XComArgs resolved, nested templated objects in place."""
    env = env if env is not None else operator_env(op)
    seen = seen if seen is not None else set()
    if isinstance(content, str):
        exts = getattr(op, "template_ext", ()) or ()
        if exts and any(content.endswith(ext) for ext in exts):
            template = env.get_template(content)
        else:
            template = env.from_string(content)
        return template.render(**context)
    if hasattr(content, "resolve") and hasattr(content, "iter_references"):
        return content.resolve(context)
    if isinstance(content, tuple):
        items = [render_value(op, v, context, env, seen) for v in content]
        return type(content)(*items) if type(content) is not tuple else tuple(items)
    if isinstance(content, list):
        return [render_value(op, v, context, env, seen) for v in content]
    if isinstance(content, dict):
        return {k: render_value(op, v, context, env, seen) for k, v in content.items()}
    if isinstance(content, set):
        return {render_value(op, v, context, env, seen) for v in content}
    if id(content) not in seen and getattr(content, "template_fields", None) and not isinstance(content, type):
        seen.add(id(content))
        _render_fields(op, content, content.template_fields, context, env, seen)
    return content


def _render_fields(op: Any, parent: Any, fields: Any, context: Any, env: jinja2.Environment, seen: set[int]) -> None:
    for name in fields:
        try:
            value = getattr(parent, name)
        except AttributeError:
            raise AttributeError(
                f"{name!r} is configured as a template field but {type(parent).__name__} does not have this attribute."
            ) from None
        if not value and not hasattr(value, "resolve"):
            continue
        if callable(value) and not hasattr(value, "resolve"):
            rendered = value(context=context, jinja_env=env)
        else:
            rendered = render_value(op, value, context, env, seen)
        object.__setattr__(parent, name, rendered)


def render_template_fields(op: Any, context: Any, env: jinja2.Environment | None = None) -> None:
    """Render every template field of ``op`` in place."""
    env = env if env is not None else operator_env(op)
    _render_fields(op, op, op.template_fields, context, env, set())


def json_safe(value: Any) -> Any:
    """``value`` if JSON can hold it, else its ``str`` (dict keys as strings; containers item by item)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


def rendered_fields(op: Any) -> dict[str, Any]:
    """The operator's template fields after rendering, JSON-safe (what Airflow shows as Rendered), with
    registered secrets and values under sensitive names as ``***`` (Airflow's ``redact(value, field)``)."""
    from studio.sdk.masking import redact

    return {name: redact(json_safe(getattr(op, name, None)), name) for name in op.template_fields}
