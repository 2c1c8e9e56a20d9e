"""Airflow's ``BaseNotifier`` (``airflow.sdk``, ``airflow.sdk.bases.notifier``, Airflow 2's
``airflow.notifications.basenotifier``): an object given as ``on_*_callback`` that, when called with the
callback's context, adds its template fields to the context (Airflow's ``context_merge``), renders them
with the DAG's Jinja environment and calls ``notify(context)``. Kept apart from ``studio.sdk.smtp`` so
that ``airflow.sdk`` does not import smtplib."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar


def prepare_ti(context: dict[str, Any]) -> None:
    """Give the context's ``ti`` the attributes Airflow's templates read (``log_url``: none without a
    webserver, so ""; ``state``)."""
    ti = context.get("ti")
    if ti is not None and not hasattr(ti, "log_url"):
        ti.log_url = ""
    if ti is not None and not hasattr(ti, "state"):
        ti.state = "running"


class BaseNotifier:
    """Airflow's ``BaseNotifier``: ``notifier(context)`` renders ``template_fields`` then ``notify``."""

    template_fields: ClassVar[Sequence[str]] = ()
    template_ext: ClassVar[Sequence[str]] = ()

    def __init__(self, context: dict[str, Any] | None = None) -> None:
        self.context = context or {}

    def get_template_env(self, dag: Any = None) -> Any:
        from studio.sdk.templating import template_env

        return template_env(dag)

    def _render_fields(self, names: Iterable[str], context: dict[str, Any], env: Any) -> None:
        from studio.sdk.templating import render_value

        for name in names:
            value = getattr(self, name)
            if value:
                setattr(self, name, render_value(self, value, context, env))

    def render_template_fields(self, context: dict[str, Any], jinja_env: Any = None) -> None:
        env = jinja_env or self.get_template_env(context.get("dag"))
        self._render_fields(self.template_fields, context, env)

    def notify(self, context: dict[str, Any]) -> None:
        raise NotImplementedError

    def __call__(self, *args: Any) -> None:
        if len(args) == 1:
            context = args[0]
        else:
            context = dict(zip(("dag", "task_list", "blocking_task_list", "blocking_tis"), args))
        context.update((name, getattr(self, name)) for name in self.template_fields)  # Airflow's context_merge
        prepare_ti(context)
        self.render_template_fields(context)
        try:
            self.notify(context)
        except Exception as err:
            print(f"Failed to send notification (sync): {err}", flush=True)
            raise
