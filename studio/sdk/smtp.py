"""The smtp provider's classes and Airflow's email alerts, over ``studio.sdk.email``:

- ``SmtpNotifier`` (``airflow.providers.smtp.notifications.smtp``): templated to/subject/html_content...;
  a missing subject or body comes from the connection's ``subject_template``/``html_content_template``
  or the provider's default templates (copied below; they read ``ti.state`` and ``ti.log_url``).
- ``EmailOperator`` (``airflow.providers.smtp.operators.smtp`` and Airflow 2's ``airflow.operators.email``).
- ``SmtpHook`` for users' own code (``with SmtpHook() as hook: hook.send_email_smtp(...)``).
- ``send_task_alert``: what ``email`` + ``email_on_failure``/``email_on_retry`` send, as Airflow 3.3's
  task runner does (``_send_error_email_notification``): an SmtpNotifier to ``task.email`` with
  ``[email] subject_template``/``html_content_template`` (files) or the defaults — the subject names the
  DAG, task, run, try and state; the body the try, the exception (HTML-escaped) and the host.
  ``[email] from_email`` (else the connection's or ``[smtp]``'s sender, else airflow@airflow).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from studio.sdk.baseoperator import BaseOperator
from studio.sdk.email import DEFAULT_CONN_ID, SmtpSettings, conf_get, send_email, smtp_settings
from studio.sdk.exceptions import AirflowException
from studio.sdk.notifier import BaseNotifier

# The smtp provider's notifications/templates/email_subject.jinja2 and email.html (Apache License 2.0),
# as its ``_read_template`` leaves them: newlines removed, stripped.
DEFAULT_NOTIFIER_SUBJECT = (
    "{% if ti is defined %}DAG {{ ti.dag_id }} - Task {{ ti.task_id }} - Run ID {{ ti.run_id }} in State "
    "{{ ti.state }}{% elif slas is defined %}SLA Missed for DAG {{ dag.dag_id }} - Task {{ slas[0].task_id }}"
    "{% endif %}"
)
DEFAULT_NOTIFIER_HTML = (
    '<!DOCTYPE html><html>    <head>        <meta http-equiv="Content-Type" content="text/html; charset=utf-8" />'
    '        <meta name="viewport" content="width=device-width">    </head><body>    <table role="presentation">'
    "        {% if ti is defined %}        <tr>            <td>Run ID:</td>            <td>{{ ti.run_id }}</td>"
    "        </tr>        <tr>            <td>Try:</td>            <td>{{ ti.try_number }} of {{ ti.max_tries + 1 }}"
    "</td>        </tr>        <tr>            <td>Task State:</td>            <td>{{ ti.state }}</td>        </tr>"
    "        <tr>            <td>Host:</td>            <td>{{ ti.hostname }}</td>        </tr>        <tr>"
    '            <td>Log Link:</td>            <td><a href="{{ ti.log_url }}" style="text-decoration:underline;">'
    "{{ ti.log_url }}</a></td>        </tr>        {% if ti.mark_success_url is defined %}        <tr>"
    '            <td>Mark Success Link:</td>            <td><a href="{{ ti.mark_success_url }}" '
    'style="text-decoration:underline;">{{ ti.mark_success_url }}</a></td>        </tr>        {% endif %}'
    "        {% elif slas is defined %}        <tr>            <td>Dag:</td>            <td>{{ dag.dag_id }}</td>"
    "        </tr>        <tr>            <td>Task List:</td>            <td>{{ task_list }}</td>        </tr>"
    "        {% endif %}    </table></body></html>"
)
# Airflow 3.3's alert is "Airflow alert: {{ti}}" (the task instance's repr: ids, try and state). The
# same facts, spelled out, since the local ``ti`` has no such repr; the body is Airflow's minus the
# "Mark success" link and, without a URL, the log link (there is no webserver).
ALERT_SUBJECT = (
    "Airflow alert: <TaskInstance: {{ ti.dag_id }}.{{ ti.task_id }} {{ ti.run_id }}"
    "{% if ti.map_index >= 0 %} map_index={{ ti.map_index }}{% endif %} try_number={{ ti.try_number }}"
    " [{{ ti.state }}]>"
)
ALERT_HTML = (
    "Try {{try_number}} out of {{max_tries + 1}}<br>Exception:<br>{{exception_html}}<br>"
    '{% if ti.log_url %}Log: <a href="{{ti.log_url}}">Link</a><br>{% endif %}Host: {{ti.hostname}}<br>'
)


def _read_template(path: str) -> str:
    return Path(path).read_text().replace("\n", "").strip()


class SmtpNotifier(BaseNotifier):
    """Sends an email; every argument but ``auth_type`` is templated with the callback's context."""

    template_fields = (
        "from_email", "to", "subject", "html_content", "files", "cc", "bcc", "mime_subtype", "mime_charset",
        "custom_headers", "smtp_conn_id",
    )  # fmt: skip

    def __init__(
        self,
        to: str | Iterable[str],
        from_email: str | None = None,
        subject: str | None = None,
        html_content: str | None = None,
        files: list[str] | None = None,
        cc: str | Iterable[str] | None = None,
        bcc: str | Iterable[str] | None = None,
        mime_subtype: str = "mixed",
        mime_charset: str = "utf-8",
        custom_headers: dict[str, Any] | None = None,
        smtp_conn_id: str | None = None,
        auth_type: str = "basic",
        *,
        template: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.smtp_conn_id = smtp_conn_id or conf_get("email", "email_conn_id", DEFAULT_CONN_ID)
        self.from_email, self.to, self.files, self.cc, self.bcc = from_email, to, files, cc, bcc
        self.mime_subtype, self.mime_charset, self.custom_headers = mime_subtype, mime_charset, custom_headers
        self.subject, self.html_content, self.auth_type = subject, html_content, auth_type
        if self.html_content is None and template is not None:
            self.html_content = _read_template(template)

    def _build_email_content(self, settings: SmtpSettings, context: dict[str, Any]) -> None:
        again = []
        if self.from_email is None:
            if settings.from_email is None:
                raise ValueError("You should provide `from_email` or define it in the connection")
            self.from_email = settings.from_email
            again.append("from_email")
        if self.subject is None:
            path = settings.subject_template
            self.subject = _read_template(path) if path else DEFAULT_NOTIFIER_SUBJECT
            again.append("subject")
        if self.html_content is None:
            path = settings.html_content_template
            self.html_content = _read_template(path) if path else DEFAULT_NOTIFIER_HTML
            again.append("html_content")
        if again:
            self._render_fields(again, context, self.get_template_env(context.get("dag")))

    def notify(self, context: dict[str, Any]) -> None:
        settings = smtp_settings(self.smtp_conn_id)
        self._build_email_content(settings, context)
        send_email(
            to=self.to, subject=self.subject or "", html_content=self.html_content or "", files=self.files,
            cc=self.cc, bcc=self.bcc, mime_subtype=self.mime_subtype, mime_charset=self.mime_charset,
            conn_id=self.smtp_conn_id, from_email=self.from_email, custom_headers=self.custom_headers,
        )  # fmt: skip


send_smtp_notification = SmtpNotifier


class EmailOperator(BaseOperator):
    """Sends an email (to/cc/bcc, HTML body, attachments) through ``conn_id`` or ``[smtp]``."""

    template_fields = (
        "to", "subject", "html_content", "from_email", "files", "cc", "bcc", "mime_subtype", "mime_charset",
        "conn_id", "custom_headers",
    )  # fmt: skip
    template_fields_renderers: ClassVar[dict[str, str]] = {"html_content": "html"}
    template_ext = (".html",)
    ui_color = "#e6faf9"

    def __init__(
        self,
        *,
        to: list[str] | str,
        subject: str | None = None,
        html_content: str | None = None,
        from_email: str | None = None,
        files: list[str] | None = None,
        cc: list[str] | str | None = None,
        bcc: list[str] | str | None = None,
        mime_subtype: str = "mixed",
        mime_charset: str = "utf-8",
        conn_id: str | None = DEFAULT_CONN_ID,
        custom_headers: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.to, self.subject, self.html_content, self.from_email = to, subject, html_content, from_email
        self.files, self.cc, self.bcc = files or [], cc, bcc
        self.mime_subtype, self.mime_charset = mime_subtype, mime_charset
        self.conn_id, self.custom_headers = conn_id, custom_headers

    def execute(self, context: Any) -> None:
        settings = smtp_settings(self.conn_id or conf_get("email", "EMAIL_CONN_ID", DEFAULT_CONN_ID))
        again = []
        if self.from_email is None:
            if settings.from_email is None:
                raise AirflowException("You should provide `from_email` or define it in the connection.")
            self.from_email = settings.from_email
            again.append("from_email")
        for name, template in (
            ("subject", settings.subject_template),
            ("html_content", settings.html_content_template),
        ):
            if getattr(self, name) is None:
                if template is None:
                    raise AirflowException(
                        f"You should provide `{name}` or define `{name}_template` in the connection."
                    )
                setattr(self, name, _read_template(template))
                again.append(name)
        from studio.sdk.templating import render_value

        for name in again:
            setattr(self, name, render_value(self, getattr(self, name), context))
        send_email(
            to=self.to, subject=self.subject or "", html_content=self.html_content or "", files=self.files,
            cc=self.cc, bcc=self.bcc, mime_subtype=self.mime_subtype, mime_charset=self.mime_charset,
            conn_id=self.conn_id, from_email=self.from_email, custom_headers=self.custom_headers,
        )  # fmt: skip


class SmtpHook:
    """The smtp provider's hook for users' own code: ``with SmtpHook(smtp_conn_id) as hook:
    hook.send_email_smtp(to=..., subject=..., html_content=...)`` (the message is sent on the call)."""

    conn_name_attr = "smtp_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "smtp"
    hook_name = "SMTP"

    def __init__(self, smtp_conn_id: str = DEFAULT_CONN_ID, auth_type: str = "basic") -> None:
        self.smtp_conn_id, self.auth_type = smtp_conn_id, auth_type
        self.settings: SmtpSettings | None = None

    def get_conn(self) -> SmtpHook:
        self.settings = smtp_settings(self.smtp_conn_id)
        return self

    def __enter__(self) -> SmtpHook:
        return self.get_conn()

    def __exit__(self, *exc: object) -> None:
        self.settings = None

    @property
    def from_email(self) -> str | None:
        return (self.settings or smtp_settings(self.smtp_conn_id)).from_email

    def send_email_smtp(self, *, to: str | Iterable[str], subject: str | None = None, html_content: str | None = None,
                        **kwargs: Any) -> None:  # fmt: skip
        settings = self.settings or smtp_settings(self.smtp_conn_id)
        if not subject:
            if settings.subject_template is None:
                raise AirflowException("You should provide `subject` or define `subject_template` in the connection.")
            subject = _read_template(settings.subject_template)
        if not html_content:
            if settings.html_content_template is None:
                raise AirflowException(
                    "You should provide `html_content` or define `html_content_template` in the connection."
                )
            html_content = _read_template(settings.html_content_template)
        kwargs.pop("conn_id", None)
        kwargs.pop("smtp_conn_id", None)
        send_email(to=to, subject=subject, html_content=html_content, conn_id=self.smtp_conn_id, **kwargs)


def send_task_alert(task: Any, ti: Any, context: dict[str, Any], error: BaseException) -> list[str]:
    """Send the ``email_on_failure``/``email_on_retry`` alert of a failed try (the caller checks the flags
    and sets ``ti.state``); returns the errors (an alert that cannot be sent never changes the try's state)."""
    if not task.email:
        return []
    subject, body = ALERT_SUBJECT, ALERT_HTML
    subject_file, body_file = conf_get("email", "subject_template"), conf_get("email", "html_content_template")
    if subject_file and Path(subject_file).exists():
        subject = Path(subject_file).read_text()
    if body_file and Path(body_file).exists():
        body = Path(body_file).read_text()
    retries = int(getattr(task, "retries", 0) or 0)
    # Airflow's max_tries is the task's retries (raised when the TI is cleared); the local ti's
    # try_number - 1 + retries only equals it after a clear.
    max_tries = retries if ti.try_number <= retries + 1 else ti.max_tries
    email_context = {
        **context, "exception": error, "exception_html": html.escape(str(error)).replace("\n", "<br>"),
        "try_number": ti.try_number, "max_tries": max_tries,
    }  # fmt: skip
    try:
        conn_id = conf_get("email", "email_conn_id", DEFAULT_CONN_ID)
        sender = conf_get("email", "from_email") or smtp_settings(conn_id).from_email or "airflow@airflow"
        SmtpNotifier(to=task.email, subject=subject, html_content=body, from_email=sender)(email_context)
    except Exception as err:
        import traceback

        traceback.print_exc()
        return [f"email alert failed: {type(err).__name__}: {err}"]
    return []
