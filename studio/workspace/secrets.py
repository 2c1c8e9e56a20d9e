"""Connections and Variables of a DAG Studio home (``dagstudio connections …`` / ``dagstudio variables …``).

Kept encrypted in the home's store (``studio.store.secrets``); tasks read them after the environment
(``AIRFLOW_CONN_<ID>``, ``AIRFLOW_VAR_<KEY>``), as Airflow reads its secrets backends before the metastore.
``connections add`` takes what ``airflow connections add`` takes — a URI, a JSON object, or the parts —
parsed by the SDK's ``Connection`` exactly as Airflow parses them. Listings never show a password (``***``)
nor an extra under a sensitive name. Refusals (a bad URI, an existing id, an unknown key) raise
``StudioError`` (exit 2) and write nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from studio.core.diagnostics import StudioError, error
from studio.sdk.connections import VAR_ENV_PREFIX, Connection
from studio.sdk.masking import redact

__all__ = ["add_connection", "delete_connection", "delete_variable", "get_variable", "list_connections",
           "list_variables", "set_variable"]  # fmt: skip

_PARTS = ("conn_type", "host", "login", "password", "schema", "port")


@contextmanager
def _secrets(home: Path, notice: Callable[[str], None] | None = None) -> Iterator[Any]:
    from studio.store import Store, StoreError
    from studio.store.secret_key import SecretKeyError
    from studio.store.secrets import SecretStore

    store = Store.open(home)
    try:
        yield SecretStore(store, home, notice)
    except (StoreError, SecretKeyError) as exc:
        raise StudioError(error(str(exc))) from None
    finally:
        store.close()


def _refuse(message: str) -> StudioError:
    return StudioError(error(message))


def connection_from_args(
    conn_id: str, *, uri: str | None = None, json_text: str | None = None, extra: str | None = None,
    description: str | None = None, **parts: Any,
) -> Connection:  # fmt: skip
    """The connection ``airflow connections add`` would create from these flags (its checks and messages)."""
    given = [f"conn_{name}" for name in _PARTS if parts.get(name) is not None]
    if not parts.get("conn_type") and not (json_text or uri):
        raise _refuse("Must supply either conn-uri or conn-json if not supplying conn-type")
    if json_text and uri:
        raise _refuse("Cannot supply both conn-uri and conn-json")
    if uri or json_text:
        if uri and not urlsplit(uri).scheme:
            raise _refuse(f"The URI provided to --conn-uri is invalid: {uri}")
        invalid = given + (["--conn-extra"] if json_text and extra else [])
        if invalid:
            raise _refuse(
                f"The following args are not compatible with the --conn-{'uri' if uri else 'json'} flag: {invalid!r}"
            )
    try:
        if uri:
            conn = Connection.from_uri(uri, conn_id=conn_id)
            conn.description = description
        elif json_text:
            conn = Connection.from_json(json_text, conn_id=conn_id)
            if not conn.conn_type:
                raise _refuse("conn-json is invalid; must supply conn-type")
        else:
            conn = Connection(conn_id, description=description, **{k: parts.get(k) for k in _PARTS})
    except StudioError:
        raise
    except Exception as exc:  # a URI/JSON Airflow would refuse too
        raise _refuse(f"connection {conn_id}: {exc}") from None
    if extra is not None and not json_text:
        try:
            json.loads(extra)
        except json.JSONDecodeError as exc:
            raise _refuse(f"connection {conn_id}: --conn-extra is not valid JSON: {exc}") from None
        conn.extra = extra
    return conn


def add_connection(
    *, home: Path, conn_id: str, notice: Callable[[str], None] | None = None, **flags: Any
) -> dict[str, Any]:
    """Add a connection to the home's store; returns what ``connections add`` prints (no password)."""
    conn = connection_from_args(conn_id, **flags)
    fields = {k: getattr(conn, k) for k in ("conn_id", "conn_type", "description", "host", "login", "password",
                                           "schema", "port", "extra")}  # fmt: skip
    with _secrets(home, notice) as secrets:
        secrets.add_connection(fields)
    return _shown(fields)


def _shown(fields: dict[str, Any]) -> dict[str, Any]:
    """A connection as listings show it: the password as ``***``, sensitive extras hidden."""
    extra = fields.get("extra")
    try:
        extra_value = json.loads(extra) if extra else None
    except json.JSONDecodeError:
        extra_value = "***"  # not JSON: cannot tell what is sensitive in it
    return {
        "conn_id": fields["conn_id"], "conn_type": fields.get("conn_type"), "description": fields.get("description"),
        "host": fields.get("host"), "schema": fields.get("schema"), "login": fields.get("login"),
        "password": "***" if fields.get("password") else None, "port": fields.get("port"),
        "extra": redact(extra_value) if isinstance(extra_value, (dict, list)) else extra_value,
    }  # fmt: skip


def list_connections(*, home: Path) -> list[dict[str, Any]]:
    """Every connection of the home's store (defaults included), passwords as ``***``."""
    with _secrets(home) as secrets:
        return [_shown(row) for row in secrets.connections()]


def delete_connection(*, home: Path, conn_id: str) -> None:
    with _secrets(home) as secrets:
        secrets.delete_connection(conn_id)


def set_variable(*, home: Path, key: str, value: str, description: str | None = None,
                 notice: Callable[[str], None] | None = None) -> None:  # fmt: skip
    with _secrets(home, notice) as secrets:
        secrets.set_variable(key, value, description)


def get_variable(*, home: Path, key: str, deserialize_json: bool = False, default: str | None = None) -> Any:
    """``AIRFLOW_VAR_<KEY>`` if set, else the store's value, else ``default``; a missing variable without a
    default is refused (``Variable <key> does not exist``)."""
    raw = os.environ.get(VAR_ENV_PREFIX + key.upper())
    if raw is None:
        with _secrets(home) as secrets:
            raw = secrets.variable(key)
    if raw is None:
        if default is None:
            raise _refuse(f"Variable {key} does not exist")
        raw = default
    if not deserialize_json:
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _refuse(f"Variable {key} is not valid JSON: {exc}") from None


def list_variables(*, home: Path) -> list[dict[str, Any]]:
    """Keys (and descriptions) of the home's variables; never their values."""
    with _secrets(home) as secrets:
        return secrets.variables()


def delete_variable(*, home: Path, key: str) -> None:
    with _secrets(home) as secrets:
        secrets.delete_variable(key)
