"""Pools of a DAG Studio home (``dagstudio pools list|set|delete``): Airflow's pools, kept in the store.

A pool caps how many task instances run at once across every run of the home: each TI takes its task's
``pool_slots`` from its ``pool`` (default ``default_pool``, 128 slots) while queued or running. These
functions open the store, do one thing, and turn the store's refusals into a ``StudioError`` (exit 2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from studio.core.diagnostics import StudioError, error

__all__ = ["delete_pool", "list_pools", "set_pool"]

_T = TypeVar("_T")


@contextmanager
def _store(home: Path) -> Iterator[Any]:
    from studio.store import Store

    store = Store.open(home)
    try:
        yield store
    finally:
        store.close()


def _refusal(do: Callable[[Any], _T], home: Path) -> _T:
    from studio.store import StoreError

    with _store(home) as store:
        try:
            return do(store)
        except StoreError as exc:
            raise StudioError(error(str(exc))) from None


def list_pools(*, home: Path) -> list[dict[str, Any]]:
    """Every pool as ``{"pool", "slots", "description", "include_deferred"}`` (``slots`` -1: unlimited)."""
    return [p.as_dict() for p in _refusal(lambda s: s.pools(), home)]


def set_pool(*, home: Path, name: str, slots: int, description: str | None = None) -> dict[str, Any]:
    """Create or update a pool (like ``airflow pools set``); an update without a description keeps it."""
    return _refusal(lambda s: s.set_pool(name, slots, description), home).as_dict()


def delete_pool(*, home: Path, name: str) -> dict[str, Any]:
    """Delete a pool; ``default_pool`` cannot be deleted and an unknown pool is an error (as in Airflow)."""
    return _refusal(lambda s: s.delete_pool(name), home).as_dict()
