"""The engine's concurrency budget: ``parallelism`` and pools, shared by every DagRun machine of a process.

Airflow's scheduler (``SchedulerJobRunner._executable_task_instances_to_queued``) queues a scheduled TI
only if the engine has a free slot (``[core] parallelism``: queued + running TIs of the whole scheduler)
and its pool has ``pool_slots`` open slots (``Pool.slots_stats``: the pool's size minus the slots of its
queued and running TIs, across every run). A :class:`SlotBudget` holds those counts; the engine makes
one and hands it to each ``DagRunMachine`` it drives, so several runs in one process share it (the
scheduler runs several at once). Each machine ``acquire``s a slot when it queues a TI and ``release``s
it when the TI leaves queued/running.

What Airflow does with a TI that cannot get a slot, mirrored here (``acquire`` returns the reason):
- the pool does not exist → the TI stays ``scheduled`` ("Tasks using non-existent pool … will not be
  scheduled"), forever; so does a TI whose ``pool_slots`` exceed the pool's size. Both are
  :data:`NEVER` reasons: nothing can change them during a local run, which therefore ends (failed) when
  nothing else can run, instead of waiting forever as Airflow would;
- the pool is full (no open slot) → no other TI of that pool is queued now; a pool with some open slots
  but fewer than a TI's ``pool_slots`` → that TI waits, lower-priority TIs that fit still go;
- ``parallelism`` reached → nothing more is queued;
- per query only the first ``max_active_tasks`` candidates of a run (by priority) are examined, so a
  never-queueable TI at the head can hold back the others (``select_launches`` keeps this).

Slots taken by other processes (another ``dagstudio run`` on the same home) are the ``external`` part,
read through an optional loader (``refresh()``, ``store_loader``) when a run starts and, while only they
block a run, every second (``DagRunMachine.next_wakeup``). Best effort across processes: Airflow's row
locks are not reproduced.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import Any

from studio.core.diagnostics import StudioError, error

DEFAULT_POOL = "default_pool"
DEFAULT_PARALLELISM = 32  # Airflow's [core] parallelism
PARALLELISM_ENV = ("DAGSTUDIO_PARALLELISM", "AIRFLOW__CORE__PARALLELISM")
UNLIMITED = -1  # a pool's slots: -1 means no limit (Airflow)

# Why a TI cannot be queued now (``SlotBudget.acquire``).
NO_POOL = "no_pool"
TOO_MANY_SLOTS = "too_many_slots"
POOL_FULL = "pool_full"
NOT_ENOUGH_SLOTS = "not_enough_slots"
PARALLELISM = "parallelism"
NEVER = frozenset({NO_POOL, TOO_MANY_SLOTS})  # reasons that do not go away during a run

RunKey = tuple[str, str]  # (dag_id, run_id)
ExternalLoader = Callable[[set[RunKey]], "tuple[Mapping[str, int], Mapping[str, int], int]"]


def parallelism_from_env(environ: Mapping[str, str] | None = None) -> int:
    """``DAGSTUDIO_PARALLELISM``, else ``AIRFLOW__CORE__PARALLELISM``, else 32; must be an integer >= 1
    (Airflow: "The value must be larger or equal 1"), else a ``StudioError`` (exit 2)."""
    env = os.environ if environ is None else environ
    for name in PARALLELISM_ENV:
        text = env.get(name, "").strip()
        if not text:
            continue
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise StudioError(error(f"{name}={text!r}: parallelism must be an integer >= 1"))
        return value
    return DEFAULT_PARALLELISM


class SlotBudget:
    """Free slots of the engine (``parallelism``) and of each pool (``pools``: name → size, -1 unlimited).

    ``pools=None`` means pools are not checked at all and ``parallelism=None`` no engine limit: a
    ``DagRunMachine`` without a budget gets ``SlotBudget()`` (only ``max_active_tasks`` applies)."""

    def __init__(
        self,
        pools: Mapping[str, int] | None = None,
        parallelism: int | None = None,
        *,
        external: ExternalLoader | None = None,
    ) -> None:
        self.pools: dict[str, int] | None = None if pools is None else dict(pools)
        self.parallelism = parallelism
        self._held: dict[Hashable, tuple[str, int]] = {}
        self._used: dict[str, int] = {}
        self._loader = external
        self.own_runs: set[RunKey] = set()  # runs of this process (the loader leaves their TIs out)
        self.external_used: dict[str, int] = {}  # pool slots taken by other processes' runs
        self.external_running = 0  # their queued + running TIs (count against parallelism)
        if external is not None:
            self.refresh()

    # ------------------------------------------------------------------ queries
    @property
    def running(self) -> int:
        """Queued + running TIs holding a slot of this budget (all machines sharing it)."""
        return len(self._held)

    def used(self, pool: str) -> int:
        """Slots of ``pool`` taken (this process and others)."""
        return self._used.get(pool, 0) + self.external_used.get(pool, 0)

    def open_slots(self, pool: str) -> float:
        """Open slots of ``pool`` (Airflow's ``open``: size − queued − running; inf when unlimited)."""
        if self.pools is None:
            return float("inf")
        size = self.pools.get(pool)
        if size is None:
            return 0
        return float("inf") if size == UNLIMITED else size - self.used(pool)

    def free_parallelism(self) -> float:
        """Slots left under ``parallelism`` (inf without a limit)."""
        if self.parallelism is None:
            return float("inf")
        return self.parallelism - self.running - self.external_running

    def free_pool_slots(self) -> float:
        """Open slots of all pools together (Airflow's ``pool_slots_free``; inf if any is unlimited)."""
        if self.pools is None:
            return float("inf")
        return sum(max(0, self.open_slots(pool)) for pool in self.pools)

    def starved_pools(self) -> set[str]:
        """The pools without an open slot."""
        return {pool for pool in self.pools or {} if self.open_slots(pool) <= 0}

    def never_reason(self, pool: str, slots: int) -> str | None:
        """``NO_POOL`` / ``TOO_MANY_SLOTS`` if a TI of ``pool`` needing ``slots`` can never be queued."""
        if self.pools is None:
            return None
        size = self.pools.get(pool)
        if size is None:
            return NO_POOL
        if size != UNLIMITED and slots > size:
            return TOO_MANY_SLOTS
        return None

    def describe(self, reason: str, pool: str, slots: int) -> str:
        """A user-facing sentence for a reason of :meth:`acquire`."""
        size = (self.pools or {}).get(pool)
        return {
            NO_POOL: f"pool {pool!r} does not exist (create it with `dagstudio pools set {pool} SLOTS`)",
            TOO_MANY_SLOTS: f"it needs {slots} slots but pool {pool!r} has only {size}",
            POOL_FULL: f"pool {pool!r} has no open slot",
            NOT_ENOUGH_SLOTS: f"it needs {slots} slots, pool {pool!r} has {self.open_slots(pool)} open",
            PARALLELISM: f"parallelism {self.parallelism} reached",
        }[reason]

    # ------------------------------------------------------------------ changes
    def claim(self, dag_id: str, run_id: str) -> None:
        """A run this process drives: its TIs in the store are counted by ``acquire``, not as external."""
        self.own_runs.add((dag_id, run_id))

    def acquire(self, token: Hashable, pool: str, slots: int = 1) -> str | None:
        """Take a slot for ``token`` (a queued TI) if it fits; returns None, or why it does not."""
        if token in self._held:
            return None
        if self.parallelism is not None and self.running + self.external_running >= self.parallelism:
            return PARALLELISM
        never = self.never_reason(pool, slots)
        if never is not None:
            return never
        open_slots = self.open_slots(pool)
        if open_slots <= 0:
            return POOL_FULL
        if slots > open_slots:
            return NOT_ENOUGH_SLOTS
        self._held[token] = (pool, slots)
        self._used[pool] = self._used.get(pool, 0) + slots
        return None

    def release(self, token: Hashable) -> None:
        """The TI of ``token`` left queued/running: its slots are free again (no-op if it held none)."""
        held = self._held.pop(token, None)
        if held is not None:
            self._used[held[0]] -= held[1]

    def refresh(self) -> bool:
        """Re-read the pools and the slots other processes take (through ``external``); True if the
        budget changed."""
        if self._loader is None:
            return False
        pools, used, running = self._loader(self.own_runs)
        before = (self.pools, self.external_used, self.external_running)
        self.pools = dict(pools)
        self.external_used = {k: v for k, v in used.items() if v}
        self.external_running = running
        return before != (self.pools, self.external_used, self.external_running)

    def idle(self) -> bool:
        """No slot is held by anyone (this process or others): nothing will free one later."""
        return not self._held and not self.external_running and not self.external_used

    @property
    def has_external(self) -> bool:
        """Other processes hold slots (they may free them without telling this process)."""
        return bool(self.external_running)


def store_loader(store: Any) -> ExternalLoader:
    """An ``external`` loader reading ``store`` (``studio.store.Store``): the pools, and the slots held
    by queued/running TIs of runs in progress other than this process's own (``SlotBudget.claim``).
    A running TI counts only while its worker is alive on this host (a run left ``running`` by a
    crashed engine must not hold slots forever); a queued TI without a pid is not counted either."""
    import socket

    host = socket.gethostname()

    def load(own_runs: set[RunKey]) -> tuple[dict[str, int], dict[str, int], int]:
        pools = {p.pool: p.slots for p in store.pools()}
        used: dict[str, int] = {}
        running = 0
        for ti in store.active_task_instances():
            if (ti.dag_id, ti.run_id) in own_runs or not _alive(ti.pid, ti.hostname, host):
                continue
            used[ti.pool] = used.get(ti.pool, 0) + int(ti.pool_slots or 1)
            running += 1
        return pools, used, running

    return load


def _alive(pid: int | None, hostname: str | None, host: str) -> bool:
    if pid is None or hostname != host:
        return pid is not None  # another host's worker: trust the store
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


Entry = tuple[int, int, int, str]  # a ready-queue entry: (-priority_weight, DAG order, map index, key)
Demand = Callable[[str], "tuple[str, int, str] | None"]  # key → (pool, pool_slots, task_id), None if stale


def select_launches(
    budget: SlotBudget, ready: list[Entry], max_active: int, active: int, demand: Demand, owner: Hashable
) -> tuple[list[str], dict[str, str]]:
    """The keys of one run's ready TIs to queue now, taking their slots of ``budget`` (token
    ``(owner, key)``); ``ready`` is the run's heap, ``active`` its queued + running TIs. Returns them in
    queue order, and for the TIs found never queueable (:data:`NEVER`) a sentence saying why.

    This is Airflow's ``_executable_task_instances_to_queued`` for one run, called the way the scheduler
    loop calls it — again until it queues nothing more — so its quirks are kept: only the first
    ``max_active_tasks`` candidates (by priority) are examined per query, a query that queues something
    ends the call, and a candidate that cannot go (pool full, not enough open slots) is filtered out only
    for the next query of the same call. Checked against Airflow in tests/test_runtime_pools_airflow.py."""
    chosen: list[str] = []
    never: dict[str, str] = {}
    buffer: list[Entry] = []  # live entries popped from the heap, in order
    taken: set[str] = set()
    try:
        while True:
            got = _one_call(budget, ready, buffer, max_active, active + len(chosen), demand, (owner, taken), never)
            if not got:
                return chosen, never
            chosen += got
    finally:
        for entry in buffer:
            if entry[3] not in taken:
                heapq.heappush(ready, entry)


def _in_order(ready: list[Entry], buffer: list[Entry], demand: Demand) -> Iterator[Entry]:
    """The live entries in queue order: those already in ``buffer``, then more popped from ``ready``."""
    index = 0
    while True:
        if index < len(buffer):
            yield buffer[index]
            index += 1
            continue
        while ready:
            entry = heapq.heappop(ready)
            if demand(entry[3]) is not None:
                buffer.append(entry)
                break
        else:
            return


def _one_call(
    budget: SlotBudget,
    ready: list[Entry],
    buffer: list[Entry],
    max_active: int,
    active: int,
    demand: Demand,
    owned: tuple[Hashable, set[str]],
    never: dict[str, str],
) -> list[str]:
    """One call of Airflow's ``_executable_task_instances_to_queued`` restricted to one run (``owned``:
    the budget's owner and the keys queued by the earlier calls)."""
    owner, taken = owned
    if active >= max_active:  # the query's ``task_per_dr_count < max_active_tasks``
        return []
    max_tis = min(budget.free_parallelism(), budget.free_pool_slots())
    if max_tis <= 0:
        return []
    starved_pools = budget.starved_pools()
    starved_tasks: set[str] = set()
    got: list[str] = []
    while True:
        filters = len(starved_pools) + len(starved_tasks)
        examined = rank = 0
        run_starved = False
        for entry in _in_order(ready, buffer, demand):
            key = entry[3]
            want = demand(key)
            if want is None or key in taken:
                continue
            pool, slots, task_id = want
            if pool in starved_pools or task_id in starved_tasks:
                continue
            rank += 1
            if rank > max_active or examined >= max_tis:  # row_number <= max_active_tasks, LIMIT max_tis
                break
            examined += 1
            reason = budget.never_reason(pool, slots)
            open_slots = budget.open_slots(pool)
            if reason == NO_POOL or (reason is None and open_slots <= 0):
                starved_pools.add(pool)
            elif reason == TOO_MANY_SLOTS or slots > open_slots:
                starved_tasks.add(task_id)
            elif run_starved or active + len(got) >= max_active:
                run_starved = True
            elif budget.acquire((owner, key), pool, slots) is None:
                got.append(key)
                taken.add(key)
            if reason is not None:
                never[key] = budget.describe(reason, pool, slots)
        if got or examined < max_tis or run_starved or filters == len(starved_pools) + len(starved_tasks):
            return got
