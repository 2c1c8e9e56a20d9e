"""Airflow's secrets masker: values registered with ``mask_secret`` become ``***`` in task logs and in the
rendered template fields a try reports.

Same rules as Airflow 3.3's ``airflow.sdk._shared.secrets_masker``: a name is *sensitive* when, lower-cased
with non-word runs turned into ``_``, it contains one of :data:`DEFAULT_SENSITIVE_FIELDS` (plus the names in
``AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES``; ``AIRFLOW__CORE__HIDE_SENSITIVE_VAR_CONN_FIELDS=False`` turns
name-based hiding off); ``mask_secret(value, name)`` registers ``value`` only when ``name`` is empty or
sensitive; dicts register their values under their own keys; values shorter than 5 characters
(``AIRFLOW__LOGGING__MIN_LENGTH_MASKED_SECRET``) and ``airflow`` are never masked. ``redact`` replaces the
registered values in strings and hides everything below a sensitive key.

A worker's stdout and stderr are :class:`MaskingStream` wrappers (``studio/runtime/procs.py``), so whatever a
task prints — ``print``, a traceback, a Bash command's output — is redacted line by line before it reaches
the log file. Everything here is per process: each worker starts from what its fork server registered.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable
from typing import Any

DEFAULT_SENSITIVE_FIELDS = frozenset({
    "access_key", "access_token", "api_key", "apikey", "auth_header", "authorization", "bearer",
    "connection_string", "dsn", "passphrase", "passwd", "password", "private_key", "proxy", "proxy_password",
    "proxies", "secret", "service_account", "service_key", "token", "keyfile_dict", "webhook_url",
})  # fmt: skip
"""Airflow's names of fields (connection extras, variable keys) whose values are sensitive."""

SECRETS_TO_SKIP_MASKING = frozenset({"airflow"})
MASK = "***"
MAX_DEPTH = 5


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "t", "yes", "y", "on")


class SecretsMasker:
    """The registered secrets of this process and the sensitive-name rules (read from the environment)."""

    def __init__(self) -> None:
        self.patterns: set[str] = set()
        self.replacer: re.Pattern[str] | None = None
        extra = os.environ.get("AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES", "")
        self.sensitive_fields = DEFAULT_SENSITIVE_FIELDS | {f.strip() for f in extra.split(",") if f.strip()}
        self.hide_sensitive = _env_flag("AIRFLOW__CORE__HIDE_SENSITIVE_VAR_CONN_FIELDS", True)
        try:
            self.min_length = int(os.environ.get("AIRFLOW__LOGGING__MIN_LENGTH_MASKED_SECRET", "5"))
        except ValueError:
            self.min_length = 5

    def should_hide_value_for_key(self, name: Any) -> bool:
        if isinstance(name, str) and self.hide_sensitive:
            normalized = re.sub(r"\W+", "_", name.strip().lower())
            return any(field in normalized for field in self.sensitive_fields)
        return False

    def add_mask(self, secret: Any, name: str | None = None) -> None:
        if isinstance(secret, dict):
            for key, value in secret.items():
                self.add_mask(value, key)
        elif isinstance(secret, str):
            if len(secret) < self.min_length or secret.lower() in SECRETS_TO_SKIP_MASKING:
                return
            if name and not self.should_hide_value_for_key(name):
                return
            pattern = re.escape(secret)
            if pattern not in self.patterns:
                self.patterns.add(pattern)
                # longest first, so a secret containing another one is replaced whole
                self.replacer = re.compile("|".join(sorted(self.patterns, key=len, reverse=True)))
        elif isinstance(secret, Iterable):
            for value in secret:
                self.add_mask(value, name)

    def _redact_all(self, item: Any, depth: int) -> Any:
        if depth > MAX_DEPTH or isinstance(item, str):
            return MASK
        if isinstance(item, dict):
            return {k: self._redact_all(v, depth + 1) for k, v in item.items()}
        if isinstance(item, (tuple, set, list)):
            items = [self._redact_all(v, depth + 1) for v in item]
            return items if isinstance(item, list) else tuple(items)
        return item

    def redact(self, item: Any, name: str | None = None, depth: int = 0) -> Any:
        """``item`` with registered secrets replaced by ``***``, and everything under a sensitive name hidden."""
        try:
            if name and self.should_hide_value_for_key(name):
                return self._redact_all(item, depth)
            if isinstance(item, dict):
                return {k: self.redact(v, k, depth + 1) for k, v in item.items()}
            if isinstance(item, (tuple, set, list)):
                items = [self.redact(v, None, depth + 1) for v in item]
                return items if isinstance(item, list) else tuple(items)
            if isinstance(item, str) and self.replacer is not None:
                return self.replacer.sub(MASK, item)
            return item
        except Exception:  # never let a secret through because redaction broke
            return "<redaction-failed>"

    def redact_text(self, text: str) -> str:
        return text if self.replacer is None else self.replacer.sub(MASK, text)


_MASKER: list[SecretsMasker] = []


def secrets_masker() -> SecretsMasker:
    """This process's masker (created on first use)."""
    if not _MASKER:
        _MASKER.append(SecretsMasker())
    return _MASKER[0]


def reset_secrets_masker() -> None:
    """Forget every registered secret and re-read the settings (tests; a fresh process)."""
    _MASKER.clear()


def mask_secret(secret: Any, name: str | None = None) -> None:
    """Airflow's ``mask_secret``: hide ``secret`` (a string, or the values of a dict / iterable) from logs."""
    if secret:
        secrets_masker().add_mask(secret, name)


def redact(value: Any, name: str | None = None) -> Any:
    """Airflow's ``redact``: ``value`` with secrets (and values under sensitive names) as ``***``."""
    return secrets_masker().redact(value, name)


def should_hide_value_for_key(name: Any) -> bool:
    """Whether ``name`` (a variable key, an extra's key) is sensitive."""
    return secrets_masker().should_hide_value_for_key(name)


class MaskingStream(io.TextIOBase):
    """A text stream that redacts registered secrets before writing to ``target``.

    Text is held until the end of its line (so a secret printed in pieces is still found) or a flush;
    ``fileno``/``buffer`` are the target's, for code that writes bytes directly (those bytes are not
    redacted: the Bash and Docker operators print their output through this stream instead)."""

    def __init__(self, target: io.TextIOBase) -> None:
        super().__init__()
        self.target = target
        self._pending = ""

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        data = self._pending + text
        cut = data.rfind("\n") + 1
        self._pending = data[cut:]
        if cut:
            self.target.write(secrets_masker().redact_text(data[:cut]))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, ""
            self.target.write(secrets_masker().redact_text(pending))
        self.target.flush()

    def close(self) -> None:
        if not self.closed:
            self.flush()
        super().close()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self.target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.target, "encoding", "utf-8")

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.target, "errors", None)

    @property
    def buffer(self) -> Any:
        return getattr(self.target, "buffer", None)

    @property
    def line_buffering(self) -> bool:
        return True
