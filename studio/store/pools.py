"""Pools in the store: Airflow's ``slot_pool`` table (list / get / set / delete) and the slots in use.

A pool limits how many task instances run at once across every run of the home: a TI takes its task's
``pool_slots`` from its ``pool`` while it is queued or running (Airflow's ``Pool.slots_stats``; deferred
TIs do not exist here, so ``include_deferred`` is kept only for Airflow compatibility). ``slots`` -1
means unlimited. ``default_pool`` (128 slots) is created by revision 0002 and cannot be deleted, as in
Airflow (``Pool.delete_pool``).

Mixed into :class:`studio.store.store.Store` (``PoolStore``); each method is one transaction.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from studio.store.records import StoreError
from studio.store.schema import dag_run, slot_pool, task_instance

DEFAULT_POOL = "default_pool"
DEFAULT_POOL_SLOTS = 128  # Airflow's [core] default_pool_task_slot_count
MAX_NAME = 256  # slot_pool.pool is String(256), as in Airflow
UNLIMITED = -1

_SEL_POOLS = select(slot_pool.c.pool, slot_pool.c.slots, slot_pool.c.description, slot_pool.c.include_deferred)
_ACTIVE_COLUMNS = ("dag_id", "run_id", "task_id", "map_index", "pool", "pool_slots", "state", "pid", "hostname")
_SEL_ACTIVE = (
    select(*(task_instance.c[name] for name in _ACTIVE_COLUMNS))
    .join(dag_run, (dag_run.c.dag_id == task_instance.c.dag_id) & (dag_run.c.run_id == task_instance.c.run_id))
    .where(dag_run.c.state == "running", task_instance.c.state.in_(("queued", "running")))
)


class PoolNotFound(StoreError):
    """The pool named does not exist (Airflow's ``PoolNotFound``)."""


@dataclass(frozen=True, slots=True)
class PoolRecord:
    """One pool: ``slots`` -1 = unlimited."""

    pool: str
    slots: int
    description: str | None = None
    include_deferred: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The shape of ``dagstudio pools list --json`` (Airflow's pool fields)."""
        return {"pool": self.pool, "slots": self.slots, "description": self.description,
                "include_deferred": self.include_deferred}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ActiveTaskInstance:
    """A queued or running TI of a run in progress: what occupies pool slots."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    pool: str
    pool_slots: int
    state: str
    pid: int | None
    hostname: str | None


def check_pool(name: object, slots: object) -> tuple[str, int]:
    """``(name, slots)`` if they make a valid pool, else :class:`StoreError` saying why."""
    if not isinstance(name, str) or not name.strip():
        raise StoreError("pool name must not be empty")
    if len(name) > MAX_NAME:
        raise StoreError(f"pool name is longer than {MAX_NAME} characters")
    if isinstance(slots, bool) or not isinstance(slots, int) or slots < UNLIMITED:
        raise StoreError(f"pool slots must be an integer >= 0, or -1 for unlimited (got {slots!r})")
    return name, slots


class PoolStore:
    """The pool methods of the store (needs the store's ``_reading`` / ``_writing`` transactions)."""

    if TYPE_CHECKING:

        def _reading(self) -> AbstractContextManager[Connection]: ...
        def _writing(self, what: str = "") -> AbstractContextManager[Connection]: ...

    def pools(self) -> list[PoolRecord]:
        """Every pool, in the order they were created (``default_pool`` first)."""
        with self._reading() as conn:
            return [PoolRecord(*row) for row in conn.execute(_SEL_POOLS.order_by(slot_pool.c.id))]

    def pool(self, name: str) -> PoolRecord | None:
        with self._reading() as conn:
            row = conn.execute(_SEL_POOLS.where(slot_pool.c.pool == name)).first()
        return None if row is None else PoolRecord(*row)

    def set_pool(
        self, name: str, slots: int, description: str | None = None, include_deferred: bool = False
    ) -> PoolRecord:
        """Create the pool or update it (Airflow's ``Pool.create_or_update_pool``); an update without a
        ``description`` keeps the old one. Bad input raises :class:`StoreError`, nothing written."""
        name, slots = check_pool(name, slots)
        with self._writing(f"set pool {name!r}") as conn:
            old = conn.execute(_SEL_POOLS.where(slot_pool.c.pool == name)).first()
            if old is None:
                values = {"pool": name, "slots": slots, "description": description}
                conn.execute(slot_pool.insert(), {**values, "include_deferred": include_deferred})
            else:
                description = old.description if description is None else description
                conn.execute(
                    slot_pool.update().where(slot_pool.c.pool == name),
                    {"slots": slots, "description": description, "include_deferred": include_deferred},
                )
        return PoolRecord(name, slots, description, include_deferred)

    def delete_pool(self, name: str) -> PoolRecord:
        """Delete a pool (Airflow's ``Pool.delete_pool``): ``default_pool`` cannot be deleted; an unknown
        name raises :class:`PoolNotFound`."""
        if name == DEFAULT_POOL:
            raise StoreError(f"{DEFAULT_POOL} cannot be deleted")
        with self._writing(f"delete pool {name!r}") as conn:
            row = conn.execute(_SEL_POOLS.where(slot_pool.c.pool == name)).first()
            if row is None:
                raise PoolNotFound(f"Pool '{name}' doesn't exist")
            conn.execute(slot_pool.delete().where(slot_pool.c.pool == name))
        return PoolRecord(*row)

    def active_task_instances(self) -> list[ActiveTaskInstance]:
        """The queued and running TIs of every run in progress (state ``running``), with their pool,
        slots, pid and hostname: what occupies pool slots and ``parallelism`` in the whole home."""
        with self._reading() as conn:
            return [ActiveTaskInstance(*row) for row in conn.execute(_SEL_ACTIVE)]
