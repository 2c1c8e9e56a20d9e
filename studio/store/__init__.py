"""The run history: SQLite (WAL) through SQLAlchemy 2 Core, schema versioned with Alembic.

Public API: :class:`Store` (``Store.open(home)``), :func:`resolve_home`, :func:`log_path`, the records
and errors, and the stdlib-only :class:`XComReader` for workers. The SQLAlchemy parts are imported
lazily (on first use of ``Store`` and friends) so that ``studio.store.xcom_reader`` and
``studio.store.paths`` can be imported by worker processes without loading SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from studio.store.paths import db_path, log_path, resolve_home
from studio.store.xcom_reader import (
    MISSING,
    UnserializableXCom,
    XComNotSerializableError,
    XComReader,
    XComRow,
    decode_value,
    encode_value,
    jsonable,
)

if TYPE_CHECKING:
    from studio.store.migrate import StoreVersionError
    from studio.store.records import (
        DagRunExistsError,
        DagRunRecord,
        PreviousRun,
        StoreError,
        TaskInstanceRecord,
        TIKey,
        TryRecord,
    )
    from studio.store.store import Store

_LAZY = {
    "Store": "studio.store.store",
    "StoreVersionError": "studio.store.migrate",
    "DagRunExistsError": "studio.store.records",
    "DagRunRecord": "studio.store.records",
    "PreviousRun": "studio.store.records",
    "StoreError": "studio.store.records",
    "TaskInstanceRecord": "studio.store.records",
    "TIKey": "studio.store.records",
    "TryRecord": "studio.store.records",
}

__all__ = [
    "MISSING", "DagRunExistsError", "DagRunRecord", "PreviousRun", "Store", "StoreError", "StoreVersionError",
    "TIKey", "TaskInstanceRecord", "TryRecord", "UnserializableXCom", "XComNotSerializableError", "XComReader",
    "XComRow", "db_path", "decode_value", "encode_value", "jsonable", "log_path", "resolve_home",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'studio.store' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
