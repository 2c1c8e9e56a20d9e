"""Other processes read the store (plain sqlite3 and XComReader) while a run writes it: consistent
snapshots and no "database is locked"; two writer processes share it; workers never import SQLAlchemy."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap
from pathlib import Path

from studio.store import Store, TIKey

REPO = Path(__file__).resolve().parents[1]
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
TASKS = 120

READER = textwrap.dedent(
    """
    import json, sqlite3, sys
    from studio.store.xcom_reader import MISSING, XComReader

    db, tasks = sys.argv[1], int(sys.argv[2])
    reader = XComReader(db)
    raw = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None, timeout=30)
    seen = set()
    reads = 0
    print("ready", flush=True)
    while True:
        raw.execute("BEGIN")
        done = {t for (t,) in raw.execute(
            "SELECT task_id FROM task_instance WHERE run_id = 'r' AND state = 'success'")}
        pushed = {t for (t,) in raw.execute("SELECT task_id FROM xcom WHERE run_id = 'r'")}
        raw.execute("COMMIT")
        # State and XCom are written in one transaction: a snapshot never shows one without the other.
        assert done == pushed, (sorted(done ^ pushed), reads)
        for task_id in done:
            assert reader.get("d", "r", task_id) == {"n": int(task_id[1:])}
        assert reader.get("d", "r", "no_such_task") is MISSING
        reads += 1
        if len(done) >= tasks // 2 and "half" not in seen:
            seen.add("half")
            print("half", flush=True)
        seen.add(len(done))
        if len(done) == tasks:
            break
    print(json.dumps({"reads": reads, "counts": len(seen)}), flush=True)
    """
)


def _python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_workers_import_the_reader_without_sqlalchemy() -> None:
    code = ("import sys, studio.store, studio.store.xcom_reader, studio.store.paths; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'alembic')))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_readers_in_other_processes_while_a_run_writes(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        store.create_dag_run("d", "r", logical_date=None, task_instances=[{"task_id": f"t{i}"} for i in range(TASKS)])
        readers = [_python(READER, str(store.db_path), str(TASKS)) for _ in range(2)]
        try:
            for reader in readers:
                assert reader.stdout.readline().strip() == "ready", reader.stderr.read()
            for i in range(TASKS):
                key = TIKey("d", "r", f"t{i}")
                store.queue_try(key, 1, T0)
                store.start_try(key, 1, start_date=T0, pid=i)
                store.finish_try(key, 1, state="success", end_date=T0, xcom={"return_value": {"n": i}})
                if i == TASKS // 2 - 1:
                    # Hold the run until every reader has seen it half done: they read mid-run.
                    for reader in readers:
                        assert reader.stdout.readline().strip() == "half", reader.stderr.read()
            results = []
            for reader in readers:
                out, err = reader.communicate(timeout=120)
                assert reader.returncode == 0, err
                assert "locked" not in err
                results.append(json.loads(out.strip().splitlines()[-1]))
        finally:
            for reader in readers:
                if reader.poll() is None:
                    reader.kill()
                    reader.wait()
    for result in results:
        assert result["reads"] >= 2 and result["counts"] >= 2


WRITER = textwrap.dedent(
    """
    import datetime as dt, sys
    from pathlib import Path
    from studio.store import Store, TIKey

    home, name, runs = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    with Store.open(home) as store:
        print("ready", flush=True)
        sys.stdin.readline()
        for n in range(runs):
            run_id = f"{name}_{n}"
            store.create_dag_run(name, run_id, logical_date=None, task_instances=[{"task_id": "a"}])
            key = TIKey(name, run_id, "a")
            store.start_try(key, 1, start_date=t0)
            store.finish_try(key, 1, state="success", end_date=t0, xcom={"return_value": n})
            store.set_dag_run_state(name, run_id, "success")
    print("done", flush=True)
    """
)


def test_two_writer_processes_share_the_store(tmp_path: Path) -> None:
    Store.open(tmp_path).close()
    procs = [_python(WRITER, str(tmp_path), name, "60") for name in ("one", "two")]
    try:
        for proc in procs:
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        for proc in procs:  # both start writing at once
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0 and out.strip().endswith("done"), err
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    with Store.open(tmp_path) as store:
        runs = store.runs()
    assert len(runs) == 120 and all(r["state"] == "success" for r in runs)
    assert {r["dag_id"] for r in runs} == {"one", "two"}
