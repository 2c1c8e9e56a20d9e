"""Read-only access to the store's ``connection`` and ``variable`` tables for worker processes (stdlib
``sqlite3``, no SQLAlchemy), decrypting Fernet-encrypted values with the home's key.

A worker installs one as the SDK's store backend (``studio.sdk.connections.use_store``); it opens the
store file lazily, only when a connection or variable is not in the environment, and asks for the key
(keyring or key file, ``studio.store.secret_key``) only when a value it reads is encrypted.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from studio.store.secret_key import SecretKeyError, fernet, load_key

CONNECTION_FIELDS = ("conn_id", "conn_type", "description", "host", "schema", "login", "password", "port", "extra")
_SEL_CONN = (
    "SELECT conn_id, conn_type, description, host, schema, login, password, port, extra, is_encrypted, "
    "is_extra_encrypted FROM connection"
)


class Decryptor:
    """Decrypts values of one home, loading its key on first need."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self._fernet: Any = None

    def decrypt(self, token: str | None, what: str) -> str | None:
        if token is None:
            return None
        if self._fernet is None:
            key = load_key(self.home)
            if not key:
                raise SecretKeyError(
                    f"{what} is encrypted but the key of {self.home} is missing (neither in the OS keyring nor in "
                    f"{self.home / 'fernet.key'}): the value cannot be read"
                )
            self._fernet = fernet(key)
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecretKeyError(f"{what} cannot be decrypted with the key of {self.home} (wrong key?)") from None


def connection_row(row: tuple[Any, ...], decryptor: Decryptor) -> dict[str, Any]:
    """A ``_SEL_CONN`` row as a dict of :data:`CONNECTION_FIELDS`, decrypted."""
    values = dict(zip(CONNECTION_FIELDS, row[:9], strict=True))
    what = f"connection {values['conn_id']!r}"
    if row[9]:
        values["password"] = decryptor.decrypt(values["password"], f"the password of {what}")
    if row[10]:
        values["extra"] = decryptor.decrypt(values["extra"], f"the extra of {what}")
    return values


class SecretsReader:
    """Connections and variables of a store file; one lazily opened read-only connection per process."""

    def __init__(self, db_path: str | os.PathLike[str], home: Path | None = None, timeout: float = 30.0) -> None:
        self.db_path = Path(db_path)
        self.decryptor = Decryptor(home if home is not None else self.db_path.parent)
        self.timeout = timeout
        self._conn: sqlite3.Connection | None = None
        self._pid = 0

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        if self._conn is None or self._pid != os.getpid():
            if not self.db_path.exists():
                return []
            uri = f"{self.db_path.resolve().as_uri()}?mode=ro"
            self._conn = sqlite3.connect(uri, uri=True, timeout=self.timeout, isolation_level=None)
            self._conn.execute("PRAGMA query_only = ON")
            self._pid = os.getpid()
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):  # a store older than revision 0004 (never migrated by this version)
                return []
            raise

    def connection(self, conn_id: str) -> dict[str, Any] | None:
        """The connection's fields (password and extra decrypted), or None when it is not in the store."""
        rows = self._query(f"{_SEL_CONN} WHERE conn_id = ?", (conn_id,))
        return connection_row(rows[0], self.decryptor) if rows else None

    def variable(self, key: str) -> str | None:
        """The variable's value (decrypted), or None when it is not in the store."""
        rows = self._query("SELECT val, is_encrypted FROM variable WHERE key = ?", (key,))
        if not rows:
            return None
        value, encrypted = rows[0]
        return self.decryptor.decrypt(value, f"variable {key!r}") if encrypted else value

    def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None
