"""Connections, Variables and ``BaseHook`` as Airflow 3.3's task SDK has them, read from the environment
first (``AIRFLOW_CONN_<ID>`` as a URI or JSON, ``AIRFLOW_VAR_<KEY>``), then from the home's encrypted store.

Parsing follows ``airflow.sdk.definitions.connection.Connection`` exactly: ``from_uri`` (extras in the
query, ``__extra__`` for a JSON extra, ``postgresql`` → ``postgres``, ``-`` → ``_`` in the type, a host
with its own protocol), ``from_json``, ``get_uri``, ``as_json``. Like Airflow's task runner, a connection
that is read registers its password and extra with the secrets masker, and a variable with a sensitive
key registers its value, so they show as ``***`` in the task's log.

The store is a *backend* the worker installs (:func:`use_store`, from ``studio/runtime/worker.py``):
anything with ``connection(conn_id) -> dict | None`` and ``variable(key) -> str | None``
(``studio.store.secrets.SecretsReader``); without one only the environment is read.
"""

from __future__ import annotations

import json
import os
from typing import Any, Protocol
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from studio.sdk.exceptions import AirflowException
from studio.sdk.masking import mask_secret
from studio.sdk.params import NOTSET

CONN_ENV_PREFIX = "AIRFLOW_CONN_"
VAR_ENV_PREFIX = "AIRFLOW_VAR_"


class AirflowNotFoundException(AirflowException, KeyError):
    """A connection (or other object) that does not exist; also a ``KeyError`` for older callers."""

    def __str__(self) -> str:
        return Exception.__str__(self)


class SecretsBackend(Protocol):
    def connection(self, conn_id: str) -> dict[str, Any] | None: ...
    def variable(self, key: str) -> str | None: ...


_BACKENDS: list[SecretsBackend] = []


def use_store(backend: SecretsBackend | None) -> SecretsBackend | None:
    """Read connections and variables missing from the environment from ``backend`` (None: env only);
    returns the backend used until now (to put back)."""
    previous = _BACKENDS[0] if _BACKENDS else None
    _BACKENDS.clear()
    if backend is not None:
        _BACKENDS.append(backend)
    return previous


def _hostname(parts: Any) -> str:
    """Airflow's ``_parse_netloc_to_hostname``: the host as written (case kept when it holds a path)."""
    hostname = unquote(parts.hostname or "")
    if "/" in hostname:
        hostname = parts.netloc
        if "@" in hostname:
            hostname = hostname.rsplit("@", 1)[1]
        if ":" in hostname:
            hostname = hostname.split(":", 1)[0]
        hostname = unquote(hostname)
    return hostname


class Connection:
    """A connection to an external system (Airflow's ``Connection``)."""

    EXTRA_KEY = "__extra__"

    def __init__(
        self,
        conn_id: str | None = None,
        conn_type: str | None = None,
        description: str | None = None,
        host: str | None = None,
        login: str | None = None,
        password: str | None = None,
        schema: str | None = None,
        port: int | None = None,
        extra: str | dict[str, Any] | None = None,
        uri: str | None = None,
    ) -> None:
        if uri is not None:
            if conn_type or host or login or password or schema or port or extra:
                raise AirflowException(
                    "You must create an object using the URI or individual values (conn_type, host, login, "
                    "password, schema, port or extra). You can't mix these two ways to create this object."
                )
            parsed = self.from_uri(uri, conn_id=conn_id or "")
            conn_type, host, login, password = parsed.conn_type, parsed.host, parsed.login, parsed.password
            schema, port, extra = parsed.schema, parsed.port, parsed.extra
        self.conn_id, self.conn_type, self.description, self.host = conn_id, conn_type, description, host
        self.login, self.password, self.schema, self.port = login, password, schema, port
        self.extra = extra if isinstance(extra, str) or extra is None else json.dumps(extra)

    def __repr__(self) -> str:
        return f"Connection(conn_id={self.conn_id!r}, conn_type={self.conn_type!r}, host={self.host!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Connection) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    @staticmethod
    def _normalize_conn_type(conn_type: str) -> str:
        if conn_type == "postgresql":
            return "postgres"
        return conn_type.replace("-", "_")

    @classmethod
    def from_uri(cls, uri: str, conn_id: str) -> Connection:
        """Airflow's URI form: ``type://login:password@host:port/schema?extra=…`` (all parts quoted)."""
        schemes = uri.count("://")
        if schemes > 2:
            raise AirflowException(f"Invalid connection string: {uri}.")
        with_protocol = schemes == 2
        conn_type = urlsplit(uri).scheme
        rest = uri.replace(f"{conn_type}://", "" if with_protocol else "//")
        if with_protocol and ("@" in rest.split("://", 1)[0] or ":" in rest.split("://", 1)[0]):
            raise AirflowException(f"Invalid connection string: {uri}.")
        parts = urlsplit(rest)
        host: str | None = _hostname(parts)
        if host and with_protocol:
            host = f"{parts.scheme}://{host}"
        quoted_schema = parts.path[1:]
        extra = None
        if parts.query:
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            extra = query[cls.EXTRA_KEY] if cls.EXTRA_KEY in query else json.dumps(query)
        return cls(
            conn_id, cls._normalize_conn_type(conn_type), host=host,
            schema=unquote(quoted_schema) if quoted_schema else quoted_schema,
            login=unquote(parts.username) if parts.username else parts.username,
            password=unquote(parts.password) if parts.password else parts.password,
            port=parts.port, extra=extra,
        )  # fmt: skip

    @classmethod
    def from_json(cls, value: str, conn_id: str | None = None) -> Connection:
        """Airflow's JSON form: ``{"conn_type": …, "host": …, "port": …, "extra": {…}}``."""
        kwargs = json.loads(value)
        if not isinstance(kwargs, dict):
            raise ValueError(f"connection {conn_id}: JSON must be an object")
        extra = kwargs.pop("extra", None)
        if extra:
            kwargs["extra"] = extra if isinstance(extra, str) else json.dumps(extra)
        conn_type = kwargs.pop("conn_type", None)
        if conn_type:
            kwargs["conn_type"] = cls._normalize_conn_type(conn_type)
        port = kwargs.pop("port", None)
        if port:
            try:
                kwargs["port"] = int(port)
            except ValueError:
                raise ValueError(f"Expected integer value for `port`, but got {port!r} instead.") from None
        kwargs.pop("conn_id", None)
        return cls(conn_id=conn_id, **kwargs)

    @property
    def extra_dejson(self) -> dict[str, Any]:
        """The extra as a dict (empty when missing or not JSON); its sensitive values get masked."""
        if not self.extra:
            return {}
        try:
            extra = json.loads(self.extra)
        except json.JSONDecodeError:
            return {}
        mask_secret(extra)
        return extra if isinstance(extra, dict) else {}

    def get_extra_dejson(self) -> dict[str, Any]:
        return self.extra_dejson

    def get_uri(self) -> str:
        """The URI form (``from_uri`` of it gives this connection back)."""
        uri = f"{self.conn_type.lower().replace('_', '-')}://" if self.conn_type else "//"
        host, protocol = self.host, None
        if self.host and "://" in self.host:
            protocol, rest = self.host.split("://", 1)
            host, protocol = (self.host, None) if protocol == self.conn_type else (rest, protocol)
        if protocol:
            uri += f"{protocol}://"
        auth = quote(self.login, safe="") if self.login is not None else ""
        if self.password is not None:
            auth += ":" + quote(self.password, safe="")
        if auth:
            uri += auth + "@"
        block = quote(host, safe="") if host else ""
        if self.port:
            block += f"@:{self.port}" if not block and not auth else f":{self.port}"
        if self.schema:
            block += f"/{quote(self.schema, safe='')}"
        uri += block
        if self.extra:
            extra = self.extra_dejson
            try:
                query: str | None = urlencode(extra)
            except TypeError:
                query = None
            sep = "?" if self.schema else "/?"
            if query and extra == dict(parse_qsl(query, keep_blank_values=True)):
                uri += sep + query
            else:
                uri += sep + urlencode({self.EXTRA_KEY: self.extra})
        return uri

    def to_dict(self, *, prune_empty: bool = False) -> dict[str, Any]:
        conn: dict[str, Any] = {
            "conn_id": self.conn_id, "conn_type": self.conn_type, "description": self.description,
            "host": self.host, "login": self.login, "password": self.password, "schema": self.schema,
            "port": self.port,
        }  # fmt: skip
        if prune_empty:
            conn = {k: v for k, v in conn.items() if v is not None}
        if (extra := self.extra_dejson) or not prune_empty:
            conn["extra"] = extra
        return conn

    def as_json(self) -> str:
        """The JSON form without ``conn_id`` (``from_json`` of it gives this connection back)."""
        data = self.to_dict(prune_empty=True)
        data.pop("conn_id", None)
        return json.dumps(data)

    def get_password(self) -> str | None:
        return self.password

    def get_extra(self) -> str | None:
        return self.extra

    @classmethod
    def get(cls, conn_id: str) -> Connection:
        """The connection ``conn_id`` from ``AIRFLOW_CONN_<ID>``, else the store; its secrets get masked."""
        conn = _lookup(conn_id)
        if conn.password:
            mask_secret(conn.password)
        if conn.extra:
            mask_secret(conn.extra)
        return conn

    get_connection_from_secrets = get


def deserialize_connection(conn_id: str, value: str) -> Connection:
    """An ``AIRFLOW_CONN_*`` value: JSON when it starts with ``{``, else a URI (as Airflow)."""
    value = value.strip()
    if value.startswith("{"):
        return Connection.from_json(value, conn_id=conn_id)
    return Connection.from_uri(value, conn_id=conn_id)


def _lookup(conn_id: str) -> Connection:
    raw = os.environ.get(CONN_ENV_PREFIX + conn_id.upper())
    if raw is not None:
        return deserialize_connection(conn_id, raw)
    for backend in _BACKENDS:
        row = backend.connection(conn_id)
        if row is not None:
            fields = {
                k: row.get(k)
                for k in ("conn_type", "description", "host", "login", "password", "schema", "port", "extra")
            }
            return Connection(conn_id, **fields)
    if not _BACKENDS and conn_id == "fs_default":  # no store (a task run outside a home): its seeded default
        return Connection(conn_id, "fs", extra='{"path": "/"}')
    raise AirflowNotFoundException(f"The conn_id `{conn_id}` isn't defined")


class Variable:
    """``Variable.get``: ``AIRFLOW_VAR_<KEY>`` first, then the store; sensitive keys get their value masked."""

    @staticmethod
    def get(key: str, default: Any = NOTSET, deserialize_json: bool = False, default_var: Any = NOTSET) -> Any:
        default = default_var if default is NOTSET else default
        raw = os.environ.get(VAR_ENV_PREFIX + key.upper())
        if raw is None:
            for backend in _BACKENDS:
                raw = backend.variable(key)
                if raw is not None:
                    break
        if raw is None:
            if default is NOTSET:
                raise KeyError(f"Variable {key} does not exist")
            mask_secret(default, key)  # as Airflow: a sensitive key's default is hidden too
            return default
        mask_secret(raw, key)
        if not deserialize_json:
            return raw
        value = json.loads(raw)
        if isinstance(value, dict):
            mask_secret(value)  # by the dict's own keys, as Airflow
        else:
            mask_secret(value, key)
        return value

    @staticmethod
    def set(key: str, value: Any, description: str | None = None, serialize_json: bool = False) -> None:
        raise AirflowException(
            f"Variable.set({key!r}) is not available inside a local task: set it with "
            "`dagstudio variables set KEY VALUE` (or an AIRFLOW_VAR_ environment variable)"
        )


class BaseHook:
    """Airflow's ``BaseHook``: ``get_connection`` (the same lookup as ``Connection.get``), ``get_hook``."""

    conn_name_attr: str = ""
    default_conn_name: str = "default_conn_id"
    conn_type: str = ""
    hook_name: str = ""

    def __init__(self, logger_name: str | None = None, **kwargs: Any) -> None:
        self._log_config_logger_name = logger_name

    @classmethod
    def get_connection(cls, conn_id: str) -> Connection:
        return Connection.get(conn_id)

    def get_conn(self) -> Any:
        raise NotImplementedError()

    @property
    def log(self) -> Any:
        import logging

        return logging.getLogger(f"{type(self).__module__}.{type(self).__name__}")
