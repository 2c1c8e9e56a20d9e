"""XCom values as JSON, and a read-only XCom reader for worker processes (stdlib ``sqlite3`` only).

Workers pull the XCom of earlier tasks straight from the store's SQLite file; they never write it and
must not import SQLAlchemy (``import studio.store.xcom_reader`` does not import it either: the package
``__init__`` loads its SQLAlchemy parts lazily).

Values are stored as JSON text, as Airflow 3 serializes XCom (tuples come back as lists). A value
JSON cannot represent is stored as a tagged object ``{"__dagstudio_unserializable__": {"type", "repr",
"error"}}`` so the run goes on and the UI can show what was pushed; pulling it raises
:class:`XComNotSerializableError`, naming the task, the key and the type, instead of handing the
downstream task something that is not the value.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

UNSERIALIZABLE_TAG = "__dagstudio_unserializable__"
_REPR_LIMIT = 2000


class _Missing:
    """The type of :data:`MISSING`: no XCom under that key (distinct from a pushed ``None``)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class XComNotSerializableError(TypeError):
    """A pulled XCom was pushed as a value JSON cannot represent (only its repr was stored)."""


@dataclass(frozen=True)
class UnserializableXCom:
    """What the store kept of a value JSON could not represent: its type, repr and the JSON error."""

    type: str
    repr: str
    error: str

    def explain(self, where: str = "") -> str:
        place = f"{where} " if where else ""
        return (
            f"XCom {place}was pushed as a {self.type}, which is not JSON-serializable ({self.error}); "
            f"only its repr was stored: {self.repr}. Push JSON values (dict, list, str, int, float, "
            "bool, None) instead."
        )


class XComRow(NamedTuple):
    """One pulled XCom value of :meth:`XComReader.get_many`."""

    task_id: str
    map_index: int
    value: Any


def encode_value(value: Any) -> str:
    """The JSON text stored for ``value``; a value JSON cannot represent becomes the tagged repr."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:  # lone surrogates: SQLite text must be UTF-8, so escape them
                text = json.dumps(value, separators=(",", ":"))
        return text
    except (TypeError, ValueError, RecursionError) as exc:
        kind = type(value)
        text = repr(value)
        if len(text) > _REPR_LIMIT:
            text = text[:_REPR_LIMIT] + "..."
        tag = {"type": f"{kind.__module__}.{kind.__qualname__}", "repr": text, "error": str(exc)}
        return json.dumps({UNSERIALIZABLE_TAG: tag}, ensure_ascii=False, separators=(",", ":"))


def jsonable(value: Any) -> Any:
    """``value`` itself if JSON can carry it, else its tagged repr (a JSON object): what a worker sends
    to the engine, which stores it with :func:`encode_value` (the tag survives as it is)."""
    text = encode_value(value)
    return json.loads(text) if UNSERIALIZABLE_TAG in text and unserializable(text) else value


def unserializable(text: str) -> UnserializableXCom | None:
    """The tagged repr stored in ``text``, or None when ``text`` holds a real JSON value."""
    if UNSERIALIZABLE_TAG not in text:
        return None
    value = json.loads(text)
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get(UNSERIALIZABLE_TAG), dict):
        tag = value[UNSERIALIZABLE_TAG]
        return UnserializableXCom(str(tag.get("type")), str(tag.get("repr")), str(tag.get("error")))
    return None


def decode_value(text: str, where: str = "") -> Any:
    """The value stored as ``text``; raises :class:`XComNotSerializableError` for a tagged repr."""
    tagged = unserializable(text)
    if tagged is not None:
        raise XComNotSerializableError(tagged.explain(where))
    return json.loads(text)


class XComReader:
    """Read-only access to the ``xcom`` table of a store file; one lazily opened connection per process."""

    def __init__(self, db_path: str | os.PathLike[str], timeout: float = 30.0) -> None:
        self.db_path = Path(db_path)
        self.timeout = timeout
        self._conn: sqlite3.Connection | None = None
        self._pid = 0

    def _connection(self) -> sqlite3.Connection:
        # A connection opened before a fork must not be used by the child: open a fresh one there.
        if self._conn is None or self._pid != os.getpid():
            if not self.db_path.exists():
                raise FileNotFoundError(f"no DAG Studio store at {self.db_path}")
            uri = f"{self.db_path.resolve().as_uri()}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, timeout=self.timeout, isolation_level=None)
            conn.execute("PRAGMA query_only = ON")
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def get(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1, key: str = "return_value") -> Any:
        """The value pushed under ``key`` by one task instance, or :data:`MISSING`."""
        row = (
            self._connection()
            .execute(
                "SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = ? AND map_index = ? AND key = ?",
                (dag_id, run_id, task_id, map_index, key),
            )
            .fetchone()
        )
        if row is None:
            return MISSING
        return decode_value(row[0], _where(task_id, map_index, key, run_id))

    def get_many(
        self,
        dag_id: str,
        run_id: str,
        task_ids: Sequence[str],
        key: str = "return_value",
        map_indexes: int | Iterable[int] | None = None,
    ) -> list[XComRow]:
        """Values pushed under ``key`` by ``task_ids`` (all map indexes when ``map_indexes`` is None),
        ordered as ``task_ids`` are, then by map_index. Task instances without the key are left out."""
        if isinstance(task_ids, str):
            task_ids = [task_ids]
        order = {task_id: position for position, task_id in enumerate(dict.fromkeys(task_ids))}
        if not order:
            return []
        sql = (
            "SELECT task_id, map_index, value FROM xcom WHERE dag_id = ? AND run_id = ? AND key = ? "
            f"AND task_id IN ({', '.join('?' * len(order))})"
        )
        params: list[Any] = [dag_id, run_id, key, *order]
        if map_indexes is not None:
            wanted = [map_indexes] if isinstance(map_indexes, int) else list(map_indexes)
            if not wanted:
                return []
            sql += f" AND map_index IN ({', '.join('?' * len(wanted))})"
            params.extend(wanted)
        rows = self._connection().execute(sql, params).fetchall()
        rows.sort(key=lambda row: (order[row[0]], row[1]))
        return [XComRow(t, i, decode_value(v, _where(t, i, key, run_id))) for t, i, v in rows]

    def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None

    def __enter__(self) -> XComReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _where(task_id: str, map_index: int, key: str, run_id: str) -> str:
    index = f"[{map_index}]" if map_index >= 0 else ""
    return f"{key!r} of task {task_id}{index} (run {run_id})"
