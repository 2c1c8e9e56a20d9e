"""Benchmark: store cost of a 200-task chain — 3 durable commits per task (not a test; prints numbers).

Per task the engine writes ``queue_try`` (TI queued + try row), ``start_try`` (TI running, try row, XCom
cleared) and ``finish_try`` (TI success, try row, one XCom value, rendered fields): three transactions,
each durable (WAL, ``synchronous=FULL``) before it returns. Measured side by side in one run, best of N:

* ``Store``            the real store (SQLAlchemy Core, one connection, statements built once)
* ``sqlite3 floor``    the same three transactions as hand-written SQL on a bare ``sqlite3`` connection
                       with the same pragmas: the cost of the commits themselves (fsync)
* ``Store, no fsync``  the store with ``synchronous=OFF``: what SQLAlchemy and our code cost on top
* ``Store, 2 commits`` ``start_try(queued_dttm=...)`` instead of ``queue_try`` + ``start_try``

Usage: ``python bench/store_commits.py [--tasks N] [--repeat N] [--dir DIR]`` (DIR: where the SQLite
files go; default a temporary directory — put it on the disk the users' home will be on).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from studio.store import Store, TIKey  # noqa: E402

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def run_store(home: Path, tasks: int, fsync: bool = True, commits: int = 3) -> float:
    """Seconds spent in the store for one chain run (the run and its TIs created up front)."""
    store = Store.open(home)
    if not fsync:
        store._conn.connection.dbapi_connection.execute("PRAGMA synchronous = OFF")  # type: ignore[union-attr]
    run_id = f"manual__{time.time_ns()}"
    ids = [f"task_{i:03d}" for i in range(tasks)]
    store.create_dag_run(
        "chain", run_id, logical_date=None, state="running", task_instances=[{"task_id": t} for t in ids]
    )
    start = time.perf_counter()
    for i, task_id in enumerate(ids):
        key = TIKey("chain", run_id, task_id)
        now = T0 + dt.timedelta(seconds=i)
        if commits == 3:
            store.queue_try(key, 1, now)
            store.start_try(key, 1, start_date=now, pid=1000 + i, hostname="bench")
        else:  # "queued" folded into the start of the try
            store.start_try(key, 1, start_date=now, pid=1000 + i, hostname="bench", queued_dttm=now)
        store.finish_try(key, 1, state="success", end_date=now, exit_code=0, xcom={"return_value": i},
                         rendered_fields={"op_args": [i]})  # fmt: skip
    elapsed = time.perf_counter() - start
    store.set_dag_run_state("chain", run_id, "success", end_date=T0)
    store.close()
    return elapsed


def run_floor(home: Path, tasks: int) -> float:
    """The same three transactions per task as plain SQL on the store's file (same pragmas)."""
    Store.open(home).close()  # schema
    conn = sqlite3.connect(home / "dagstudio.db", isolation_level=None)
    for pragma in ("journal_mode = WAL", "synchronous = FULL", "foreign_keys = ON", "busy_timeout = 30000"):
        conn.execute(f"PRAGMA {pragma}")
    run_id = f"floor__{time.time_ns()}"
    ts = T0.isoformat(timespec="microseconds")
    conn.execute("INSERT OR IGNORE INTO dag (dag_id) VALUES ('chain')")
    conn.execute("INSERT INTO dag_run (dag_id, run_id, run_after, run_type, state) VALUES ('chain', ?, ?, 'manual', "
                 "'running')", (run_id, ts))  # fmt: skip
    ids = [f"task_{i:03d}" for i in range(tasks)]
    conn.executemany("INSERT INTO task_instance (dag_id, run_id, task_id) VALUES ('chain', ?, ?)",
                     [(run_id, t) for t in ids])  # fmt: skip
    key = "dag_id = 'chain' AND run_id = ? AND task_id = ? AND map_index = -1"
    start = time.perf_counter()
    for i, task_id in enumerate(ids):
        k = (run_id, task_id)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            f"UPDATE task_instance SET state = 'queued', try_number = 1, queued_dttm = ? WHERE {key}", (ts, *k)
        )
        conn.execute("INSERT INTO task_try (dag_id, run_id, task_id, map_index, try_number, state, queued_dttm) "
                     "VALUES ('chain', ?, ?, -1, 1, 'queued', ?)", (*k, ts))  # fmt: skip
        conn.execute("COMMIT")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(f"UPDATE task_instance SET state = 'running', start_date = ?, pid = ? WHERE {key}", (ts, i, *k))
        conn.execute(f"UPDATE task_try SET state = 'running', start_date = ?, pid = ? WHERE {key} AND try_number = 1",
                     (ts, i, *k))  # fmt: skip
        conn.execute(f"DELETE FROM xcom WHERE {key}", k)
        conn.execute("COMMIT")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(f"UPDATE task_instance SET state = 'success', end_date = ? WHERE {key}", (ts, *k))
        conn.execute(f"UPDATE task_try SET state = 'success', end_date = ? WHERE {key} AND try_number = 1", (ts, *k))
        conn.execute("INSERT INTO xcom (dag_id, run_id, task_id, map_index, key, value, timestamp) "
                     "VALUES ('chain', ?, ?, -1, 'return_value', ?, ?)", (*k, str(i), ts))  # fmt: skip
        conn.execute("INSERT INTO rendered_task_instance_fields VALUES ('chain', ?, ?, -1, 1, ?)", (*k, f"[{i}]"))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def best(label: str, fn: Callable[[Path, int], float], base: Path, tasks: int, repeat: int) -> float:
    times = []
    for n in range(repeat):
        home = base / f"{label.replace(' ', '_').replace(',', '')}_{n}"
        times.append(fn(home, tasks))
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        base = Path(tmp)
        store = best("store", run_store, base, args.tasks, args.repeat)
        floor = best("floor", run_floor, base, args.tasks, args.repeat)
        nosync = best("store nosync", lambda h, t: run_store(h, t, fsync=False), base, args.tasks, args.repeat)
        two = best("store two", lambda h, t: run_store(h, t, commits=2), base, args.tasks, args.repeat)
    per = 1000.0 / args.tasks
    print(
        f"{args.tasks} tasks x 3 durable commits, best of {args.repeat} (files under {args.dir or tempfile.gettempdir()})"
    )
    print(f"  Store            {store * per:6.3f} ms/task  ({store * 1000:7.1f} ms total)")
    print(f"  sqlite3 floor    {floor * per:6.3f} ms/task  ({floor * 1000:7.1f} ms total)")
    print(f"  Store, no fsync  {nosync * per:6.3f} ms/task  (SQLAlchemy + our code, commits not synced)")
    print(f"  Store, 2 commits {two * per:6.3f} ms/task  (queue_try folded into start_try)")
    print(f"  ratio Store / sqlite3 floor: {store / floor:.2f}x; overhead {(store - floor) * per:.3f} ms/task")


if __name__ == "__main__":
    main()
