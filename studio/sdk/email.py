"""Sending mail over SMTP the Airflow way: ``send_email(...)`` with the settings of an SMTP connection
(``smtp_default`` unless told otherwise) or, without one, Airflow's ``[smtp]`` configuration.

Where the settings come from (``smtp_settings(conn_id)``):
- **the connection** (``AIRFLOW_CONN_SMTP_DEFAULT`` or the store), read as the smtp provider's
  ``SmtpHook`` reads it: host, port, login, password; extras ``from_email``, ``timeout`` (30),
  ``retry_limit`` (5), ``disable_ssl`` (SSL is ON unless set), ``disable_tls`` (STARTTLS is on unless
  set), ``ssl_context`` (``default`` | ``none``), ``subject_template``/``html_content_template`` (paths).
  Like the hook, a flag is ``bool(value)``: in a URI, ``disable_ssl=false`` is a non-empty string, so it
  disables SSL too; JSON connections can give real booleans. Unlike the hook's synchronous client,
  STARTTLS is not attempted on an SSL connection (its async client's rule; the sync one would fail).
- **``[smtp]``** from ``AIRFLOW__SMTP__*`` environment variables when the connection does not exist
  or has no host (``airflow.utils.email.send_mime_email``): ``SMTP_HOST`` (localhost), ``SMTP_PORT``
  (25), ``SMTP_STARTTLS`` (True), ``SMTP_SSL`` (False), ``SMTP_TIMEOUT`` (30), ``SMTP_RETRY_LIMIT`` (5),
  ``SMTP_MAIL_FROM`` (airflow@example.com); login/password from the connection when it has them (as
  Airflow's), else Airflow 2's ``SMTP_USER``/``SMTP_PASSWORD``. ``[email] SSL_CONTEXT`` as Airflow's.
  Booleans are parsed as Airflow's ``conf.getboolean`` (t/true/1, f/false/0; anything else is an error).

The sender is ``from_email`` when given, else the connection's ``from_email``, else ``SMTP_MAIL_FROM``
(Airflow 2 let ``SMTP_MAIL_FROM`` override an explicit ``from_email``; here the explicit one wins).
Messages are built exactly as Airflow builds them (``MIMEMultipart(mime_subtype)``, one HTML part, files
as ``application/octet-stream`` attachments, Bcc only in the envelope). A server that cannot be reached
fails with an ``AirflowException`` naming the host, port and where they came from.
"""

from __future__ import annotations

import collections.abc
import os
import re
import smtplib
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate
from typing import Any

from studio.sdk.exceptions import AirflowException

DEFAULT_CONN_ID = "smtp_default"
SMTP_DEFAULTS = {
    "SMTP_HOST": "localhost", "SMTP_PORT": "25", "SMTP_STARTTLS": "True", "SMTP_SSL": "False",
    "SMTP_TIMEOUT": "30", "SMTP_RETRY_LIMIT": "5", "SMTP_MAIL_FROM": "airflow@example.com",
}  # fmt: skip
"""Airflow 3.3's defaults of the ``[smtp]`` section (airflow/config_templates/config.yml)."""


def conf_get(section: str, key: str, fallback: str | None = None) -> str | None:
    """An Airflow configuration value from ``AIRFLOW__<SECTION>__<KEY>`` (no airflow.cfg here)."""
    value = os.environ.get(f"AIRFLOW__{section.upper()}__{key.upper()}")
    if value is not None:
        return value
    if section.lower() == "smtp":
        return SMTP_DEFAULTS.get(key.upper(), fallback)
    return fallback


def conf_getboolean(section: str, key: str) -> bool:
    """Airflow's ``conf.getboolean``: t/true/1 and f/false/0 (any case); anything else is an error."""
    raw = (conf_get(section, key) or "").lower().strip()
    if raw in ("t", "true", "1"):
        return True
    if raw in ("f", "false", "0"):
        return False
    raise AirflowException(
        f'Failed to convert value to bool. Please check "{key}" key in "{section}" section. Current value: "{raw}".'
    )


def conf_getint(section: str, key: str) -> int:
    raw = conf_get(section, key) or ""
    try:
        return int(raw)
    except ValueError:
        raise AirflowException(
            f'Failed to convert value to int. Please check "{key}" key in "{section}" section. Current value: "{raw}".'
        ) from None


@dataclass
class SmtpSettings:
    """Everything needed to talk to one SMTP server, and where it came from (for error messages)."""

    host: str
    port: int
    login: str | None
    password: str | None
    use_ssl: bool
    starttls: bool
    timeout: int
    retry_limit: int
    from_email: str | None
    ssl_context: str | None
    source: str
    subject_template: str | None = None
    html_content_template: str | None = None

    def ssl_context_object(self) -> ssl.SSLContext | None:
        if self.ssl_context in (None, "default"):
            return ssl.create_default_context()
        if self.ssl_context == "none":
            return None
        raise AirflowException(f"ssl_context must be 'default' or 'none', not {self.ssl_context!r} ({self.source})")


def _connection(conn_id: str | None) -> Any:
    """The connection ``conn_id``, or None when it is not defined."""
    if not conn_id:
        return None
    from studio.sdk.context import Connection

    try:
        return Connection.get(conn_id)
    except KeyError:
        return None


def smtp_settings(conn_id: str | None = DEFAULT_CONN_ID) -> SmtpSettings:
    """The SMTP settings for ``conn_id``: the connection when it exists with a host, else ``[smtp]``."""
    conn = _connection(conn_id)
    if conn is not None and conn.host:
        extra = conn.extra_dejson
        return SmtpSettings(
            host=conn.host, port=int(conn.port or 0), login=conn.login or None, password=conn.password or None,
            use_ssl=not bool(extra.get("disable_ssl", False)), starttls=not bool(extra.get("disable_tls", False)),
            timeout=int(extra.get("timeout", 30)), retry_limit=int(extra.get("retry_limit", 5)),
            from_email=extra.get("from_email") or os.environ.get("AIRFLOW__SMTP__SMTP_MAIL_FROM"),
            ssl_context=extra.get("ssl_context"), source=f"connection {conn_id!r}",
            subject_template=extra.get("subject_template"), html_content_template=extra.get("html_content_template"),
        )  # fmt: skip
    login = password = None
    if conn is not None and conn.login and conn.password:
        login, password = conn.login, conn.password
    else:
        login, password = conf_get("smtp", "SMTP_USER"), conf_get("smtp", "SMTP_PASSWORD")
    where = "[smtp] settings (AIRFLOW__SMTP__*)"
    if conn_id and conn is None:
        where += f"; connection {conn_id!r} is not defined"
    return SmtpSettings(
        host=conf_get("smtp", "SMTP_HOST") or "", port=conf_getint("smtp", "SMTP_PORT"), login=login,
        password=password, use_ssl=conf_getboolean("smtp", "SMTP_SSL"),
        starttls=conf_getboolean("smtp", "SMTP_STARTTLS"), timeout=conf_getint("smtp", "SMTP_TIMEOUT"),
        retry_limit=conf_getint("smtp", "SMTP_RETRY_LIMIT"), from_email=conf_get("smtp", "SMTP_MAIL_FROM"),
        ssl_context=conf_get("email", "SSL_CONTEXT", "default"), source=where,
    )  # fmt: skip


def get_email_address_list(addresses: str | Iterable[str]) -> list[str]:
    """Airflow's: a string is split on ``,`` and ``;``; an iterable must hold strings."""
    if isinstance(addresses, str):
        return re.split(r"\s*[,;]\s*", addresses)
    if isinstance(addresses, collections.abc.Iterable):
        items = list(addresses)
        if not all(isinstance(item, str) for item in items):
            raise TypeError("The items in your iterable must be strings.")
        return items
    raise TypeError(f"Unexpected argument type: Received '{type(addresses).__name__}'.")


def build_mime_message(
    mail_from: str | None,
    to: str | Iterable[str],
    subject: str,
    html_content: str,
    files: list[str] | None = None,
    cc: str | Iterable[str] | None = None,
    bcc: str | Iterable[str] | None = None,
    mime_subtype: str = "mixed",
    mime_charset: str = "utf-8",
    custom_headers: dict[str, Any] | None = None,
) -> tuple[MIMEMultipart, list[str]]:
    """The message and every recipient (To + Cc + Bcc), as the smtp provider's hook builds them."""
    recipients = get_email_address_list(to)
    msg = MIMEMultipart(mime_subtype)
    msg["Subject"] = subject
    if mail_from:
        msg["From"] = mail_from
    msg["To"] = ", ".join(recipients)
    if cc:
        cc_list = get_email_address_list(cc)
        msg["CC"] = ", ".join(cc_list)
        recipients += cc_list
    if bcc:
        recipients += get_email_address_list(bcc)  # never in a header
    msg["Date"] = formatdate(localtime=True)
    msg.attach(MIMEText(html_content, "html", mime_charset))
    for name in files or []:
        basename = os.path.basename(name)
        with open(name, "rb") as handle:
            part = MIMEApplication(handle.read(), Name=basename)
        part.add_header("Content-Disposition", "attachment", filename=basename)
        part["Content-ID"] = f"<{basename}>"
        msg.attach(part)
    for key, value in (custom_headers or {}).items():
        msg[key] = value
    return msg, recipients


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    """A logged-in client, retrying a dropped connection ``retry_limit`` times like Airflow."""
    for attempt in range(settings.retry_limit + 1):
        try:
            if settings.use_ssl:
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    host=settings.host, port=settings.port, timeout=settings.timeout,
                    context=settings.ssl_context_object(),
                )  # fmt: skip
            else:
                client = smtplib.SMTP(host=settings.host, port=settings.port, timeout=settings.timeout)
        except smtplib.SMTPServerDisconnected:
            if attempt == settings.retry_limit:
                raise
            continue
        if settings.starttls and not settings.use_ssl:
            client.starttls(context=settings.ssl_context_object())
            client.ehlo()
        if settings.login and settings.password:
            client.login(settings.login, settings.password)
        return client
    raise AirflowException("Unable to connect to smtp server")  # pragma: no cover - the loop returns or raises


def send_mime(settings: SmtpSettings, mail_from: str, recipients: list[str], msg: MIMEMultipart) -> None:
    """Deliver ``msg``; any failure to reach or talk to the server is an AirflowException saying where."""
    where = f"{settings.host}:{settings.port or (465 if settings.use_ssl else 25)}"
    mode = "SSL" if settings.use_ssl else "STARTTLS" if settings.starttls else "plain SMTP"
    try:
        client = _connect(settings)
        try:
            client.sendmail(mail_from, recipients, msg.as_string())
        finally:
            try:
                client.quit()
            except smtplib.SMTPException:
                client.close()
    except (OSError, smtplib.SMTPException) as err:
        raise AirflowException(
            f"Cannot send email through the SMTP server {where} ({mode}, from the {settings.source}): "
            f"{type(err).__name__}: {err}"
        ) from err
    print(f"Sent an email to {recipients} through {where}", flush=True)


def send_email(
    to: str | Iterable[str],
    subject: str,
    html_content: str,
    files: list[str] | None = None,
    dryrun: bool = False,
    cc: str | Iterable[str] | None = None,
    bcc: str | Iterable[str] | None = None,
    mime_subtype: str = "mixed",
    mime_charset: str = "utf-8",
    conn_id: str | None = None,
    custom_headers: dict[str, Any] | None = None,
    from_email: str | None = None,
    **kwargs: Any,
) -> None:
    """Airflow's ``send_email`` (``airflow.utils.email``): build the message and send it with
    ``smtp_settings(conn_id or [email] EMAIL_CONN_ID)``; ``dryrun`` builds it only."""
    settings = smtp_settings(conn_id or conf_get("email", "EMAIL_CONN_ID", DEFAULT_CONN_ID))
    mail_from = from_email or settings.from_email
    if not mail_from:
        raise AirflowException(
            f"You should provide `from_email` or define it in the {settings.source} "
            "(extra from_email, or AIRFLOW__SMTP__SMTP_MAIL_FROM)."
        )
    msg, recipients = build_mime_message(
        mail_from, to, subject, html_content, files, cc, bcc, mime_subtype, mime_charset, custom_headers
    )
    if not dryrun:
        send_mime(settings, mail_from, recipients, msg)
