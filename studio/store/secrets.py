"""Connections and Variables in the store (Airflow's ``connection`` / ``variable`` tables), encrypted.

Written values that are secret — a connection's ``password`` and ``extra``, every variable's ``val`` —
are Fernet tokens made with the home's key (``studio.store.secret_key``: OS keyring, else a 0600 key
file), with ``is_encrypted`` / ``is_extra_encrypted`` set, as Airflow stores them when a Fernet key is
configured; the store file never holds them in clear text. Reads decrypt with
``studio.store.secrets_reader`` (the same code workers use, without SQLAlchemy).

Each method is one transaction of the :class:`~studio.store.store.Store` it is given; bad input and
missing rows raise :class:`StoreError` with Airflow's messages, nothing written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from studio.store.records import StoreError
from studio.store.schema import connection, variable
from studio.store.secret_key import ensure_key, fernet
from studio.store.secrets_reader import _SEL_CONN, Decryptor, connection_row

KEY_REGEX = re.compile(r"^[\w.-]+$")  # Airflow's airflow.utils.helpers.KEY_REGEX


def validate_key(key: object, max_length: int = 250) -> str:
    """Airflow's ``validate_key``: alphanumerics, ``_``, ``.``, ``-``; no ``..``; at most ``max_length``."""
    if not isinstance(key, str) or not key:
        raise StoreError(f"The key has to be a non-empty string, got {key!r}")
    if len(key) > max_length:
        raise StoreError(f"The key: {key} has to be less than {max_length} characters")
    if not KEY_REGEX.match(key):
        raise StoreError(
            f"The key {key!r} has to be made of alphanumeric characters, dashes, dots and underscores exclusively"
        )
    if ".." in key:
        raise StoreError(f"The key {key!r} must not contain consecutive dots ('..') to prevent path traversal")
    return key


class SecretStore:
    """Connections and variables of one home's store."""

    def __init__(self, store: Any, home: Path, notice: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.home = Path(home)
        self.notice = notice
        self.decryptor = Decryptor(self.home)

    def _encrypt(self, value: str | None) -> tuple[str | None, bool]:
        if value is None or value == "":
            return value, False
        key = ensure_key(self.home, self.notice) if self.notice else ensure_key(self.home)
        return fernet(key).encrypt(value.encode()).decode(), True

    # --- connections --------------------------------------------------------------------------
    def add_connection(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Add a connection (``conn_id``, ``conn_type`` required); an existing ``conn_id`` is refused."""
        conn_id = validate_key(fields.get("conn_id"), max_length=200)
        if not fields.get("conn_type"):
            raise StoreError(f"connection {conn_id}: a conn_type is required")
        port = fields.get("port")
        if port is not None and (isinstance(port, bool) or not isinstance(port, int)):
            raise StoreError(f"connection {conn_id}: port must be an integer, got {port!r}")
        password, is_encrypted = self._encrypt(fields.get("password"))
        extra, is_extra_encrypted = self._encrypt(fields.get("extra"))
        row = {
            "conn_id": conn_id, "conn_type": fields["conn_type"], "description": fields.get("description"),
            "host": fields.get("host"), "schema": fields.get("schema"), "login": fields.get("login"),
            "password": password, "port": port, "extra": extra, "is_encrypted": is_encrypted,
            "is_extra_encrypted": is_extra_encrypted,
        }  # fmt: skip
        with self.store._writing(f"add connection {conn_id!r}") as conn:
            if conn.execute(select(connection.c.id).where(connection.c.conn_id == conn_id)).first() is not None:
                raise StoreError(f"A connection with `conn_id`={conn_id} already exists.")
            conn.execute(connection.insert(), row)
        return {k: fields.get(k) for k in ("conn_id", "conn_type", "host", "login", "port")}

    def delete_connection(self, conn_id: str) -> None:
        with self.store._writing(f"delete connection {conn_id!r}") as conn:
            deleted = conn.execute(connection.delete().where(connection.c.conn_id == conn_id)).rowcount
        if not deleted:
            raise StoreError(f"Did not find a connection with `conn_id`={conn_id}")

    def connections(self, decrypt_passwords: bool = False) -> list[dict[str, Any]]:
        """Every connection, ordered by ``conn_id``; extras decrypted, passwords only if asked for (else
        ``password`` is ``True``/``None``: whether there is one)."""
        with self.store._reading() as conn:
            rows = conn.exec_driver_sql(f"{_SEL_CONN} ORDER BY conn_id").fetchall()
        found = []
        for row in rows:
            if not decrypt_passwords:
                has_password = row[6] not in (None, "")
                row = (*row[:6], None, *row[7:9], False, row[10])
            values = connection_row(tuple(row), self.decryptor)
            if not decrypt_passwords:
                values["password"] = True if has_password else None
            found.append(values)
        return found

    # --- variables ----------------------------------------------------------------------------
    def set_variable(self, key: str, value: str, description: str | None = None) -> None:
        """Create or replace a variable (its value encrypted); an update without description keeps it."""
        validate_key(key)
        if not isinstance(value, str):
            raise StoreError(f"variable {key}: the value must be text")
        token, encrypted = self._encrypt(value)
        with self.store._writing(f"set variable {key!r}") as conn:
            old = conn.execute(select(variable.c.description).where(variable.c.key == key)).first()
            if old is None:
                values = {"key": key, "val": token, "description": description, "is_encrypted": encrypted}
                conn.execute(variable.insert(), values)
            else:
                description = old.description if description is None else description
                conn.execute(
                    variable.update().where(variable.c.key == key),
                    {"val": token, "description": description, "is_encrypted": encrypted},
                )

    def variable(self, key: str) -> str | None:
        with self.store._reading() as conn:
            row = conn.execute(select(variable.c.val, variable.c.is_encrypted).where(variable.c.key == key)).first()
        if row is None:
            return None
        return self.decryptor.decrypt(row.val, f"variable {key!r}") if row.is_encrypted else row.val

    def variables(self) -> list[dict[str, Any]]:
        """Every variable's ``key`` and ``description`` (not the value), ordered by key."""
        with self.store._reading() as conn:
            rows = conn.execute(select(variable.c.key, variable.c.description).order_by(variable.c.key)).fetchall()
        return [{"key": r.key, "description": r.description} for r in rows]

    def delete_variable(self, key: str) -> None:
        with self.store._writing(f"delete variable {key!r}") as conn:
            deleted = conn.execute(variable.delete().where(variable.c.key == key)).rowcount
        if not deleted:
            raise StoreError(f"Variable {key} does not exist")
