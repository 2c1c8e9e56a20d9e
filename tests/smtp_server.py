"""A real SMTP server for the email tests: aiosmtpd on a free local port, in a thread of the test process.

``SmtpServer()`` (a context manager) starts it and stops it; ``messages`` are the received mails as
``Received(mail_from, rcpt_tos, message)`` where ``message`` is the parsed ``email.message.Message``;
``wait_for(count, timeout)`` waits (on a condition, no polling) until that many arrived. A server
that cannot start skips its test with the reason printed, or fails it under
``DAGSTUDIO_REQUIRE_SERVICES=1`` (set by ``.ci/run``). ``port`` and
``conn_json()`` (an ``AIRFLOW_CONN_*`` value for a plain-text server) tell clients where it is.
The worker processes that send the mails are other processes, so everything goes over real sockets.
"""

from __future__ import annotations

import datetime as dt
import email
import email.message
import email.policy
import json
import os
import socket
import ssl
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage
    encrypted: bool = False  # the session ran over TLS (SMTPS or after STARTTLS)

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def html(self) -> str:
        """The text of the first text/html part."""
        for part in self.message.walk():
            if part.get_content_type() == "text/html":
                return part.get_content()
        raise AssertionError("no text/html part")

    def attachments(self) -> dict[str, bytes]:
        return {
            part.get_filename(): part.get_payload(decode=True)
            for part in self.message.walk()
            if part.get_content_disposition() == "attachment"
        }


def cannot_start(message: str) -> NoReturn:
    """Skip (printing why) — or fail when CI requires the services (``DAGSTUDIO_REQUIRE_SERVICES=1``)."""
    print(message, file=sys.stderr)
    if os.environ.get("DAGSTUDIO_REQUIRE_SERVICES") == "1":
        pytest.fail(message + " (DAGSTUDIO_REQUIRE_SERVICES=1: the SMTP tests must run)", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.server.arrived:
            encrypted = bool(session.ssl) or server.transport.get_extra_info("ssl_object") is not None
            received = Received(envelope.mail_from, list(envelope.rcpt_tos), message, encrypted)
            self.server.messages.append(received)
            self.server.arrived.notify_all()
        return "250 Message accepted for delivery"


def self_signed_context(folder: Path) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1 (made with cryptography)."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError as err:  # pragma: no cover - cryptography is a dependency (the secrets store)
        cannot_start(f"the TLS test server cannot start: cryptography is not installed ({err})")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1)).sign(key, hashes.SHA256())
    )  # fmt: skip
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


class SmtpServer:
    """aiosmtpd's ``Controller`` on 127.0.0.1 at a free port; with ``auth`` = (login, password), AUTH is
    required (and allowed without TLS, as a test server may); ``tls`` = "ssl" (SMTPS: TLS from the first
    byte) or "starttls" (plain, offering STARTTLS) with a self-signed certificate written to ``folder``."""

    def __init__(self, auth: tuple[str, str] | None = None, tls: str | None = None, folder: Path | None = None) -> None:
        self.auth = auth
        self.tls, self.folder = tls, folder
        self.messages: list[Received] = []
        self.arrived = threading.Condition()
        self.logins: list[str] = []
        self.port = 0
        self._controller: Any = None

    def __enter__(self) -> SmtpServer:
        try:
            from aiosmtpd.controller import Controller
        except ImportError as err:  # pragma: no cover - aiosmtpd is a dev dependency
            cannot_start(f"the SMTP test server cannot start: aiosmtpd is not installed ({err})")
        options: dict[str, Any] = {}
        if self.auth is not None:
            options.update(auth_required=True, auth_require_tls=False, authenticator=self._authenticate)
        if self.tls is not None:
            context = self_signed_context(self.folder or Path(tempfile.mkdtemp(prefix="smtp-tls-")))
            options["ssl_context" if self.tls == "ssl" else "tls_context"] = context
        self.port = free_port()
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **options)
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult

        login = auth_data.login.decode() if isinstance(auth_data.login, bytes) else auth_data.login
        password = auth_data.password.decode() if isinstance(auth_data.password, bytes) else auth_data.password
        ok = (login, password) == self.auth
        if ok:
            self.logins.append(login)
        return AuthResult(success=ok)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.messages) >= count, timeout)
            return list(self.messages)

    def conn_json(self, **extra: Any) -> str:
        """An ``AIRFLOW_CONN_SMTP_DEFAULT`` value: this server, no SSL, no STARTTLS (+ ``extra``)."""
        extra = {"disable_ssl": True, "disable_tls": True, **extra}
        conn: dict[str, Any] = {"conn_type": "smtp", "host": "127.0.0.1", "port": self.port, "extra": extra}
        if self.auth:
            conn.update(login=self.auth[0], password=self.auth[1])
        return json.dumps(conn)
