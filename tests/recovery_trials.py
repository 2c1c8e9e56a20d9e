"""Kill trials (no tests here; used by tests/test_runtime_recovery.py and bench/kill_trials.py).

One trial: start ``dagstudio scheduler`` on a DAG of sleeping tasks whose catchup creates three runs at
once, SIGKILL it while tries are running (the store is polled read-only), check that no task process
survives, take the committed state, restart the scheduler, let the runs end and check the result against
what Airflow does with a try whose process is gone: the try counts as a failed try, retried while
``try_number <= retries``, else the TI fails (the expectations are computed here from the DAG's retries
and the committed state, not from the engine).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[1]
RETRIES = {"a": 2, "b": 0, "c": 1, "make": 1, "use": 1}
ENDED = "SELECT count(*) FROM dag_run WHERE state IN ('success', 'failed')"
LOGICAL_DATES = [f"2024-01-0{d}T00:00:00.000000+00:00" for d in (1, 2, 3)]

KILL_DAG = """\
import datetime as dt
import time

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, task

UTC = dt.timezone.utc


def nap():
    time.sleep({nap})


with DAG("kill", schedule="@daily", start_date=dt.datetime(2024, 1, 1, tzinfo=UTC),
         end_date=dt.datetime(2024, 1, 3, tzinfo=UTC), catchup=True, max_active_runs=3):
    a = PythonOperator(task_id="a", python_callable=nap, retries=2, retry_delay=dt.timedelta(0))
    b = PythonOperator(task_id="b", python_callable=nap, retries=0)
    c = PythonOperator(task_id="c", python_callable=nap, retries=1, retry_delay=dt.timedelta(0))
    a >> [b, c]

    @task(retries=1, retry_delay=dt.timedelta(0))
    def make():
        time.sleep({nap})
        return [1, 2]

    @task(retries=1, retry_delay=dt.timedelta(0))
    def use(x):
        time.sleep({nap})

    use.expand(x=make())
"""


@dataclass
class TrialResult:
    """What one trial saw; ``problems`` is empty when everything ended as expected."""

    killed_tries: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    recovery_log: list[str] = field(default_factory=list)


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")


def _start(path: Path, home: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "studio", "scheduler", str(path), "--home", str(home)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(), start_new_session=True,
    )  # fmt: skip


def _read(home: Path, sql: str) -> list[tuple[Any, ...]]:
    """A read-only query (never takes a write lock; retried while the file is being created)."""
    db = home / "dagstudio.db"
    for _ in range(200):
        try:
            with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
                return conn.execute(sql).fetchall()
        except sqlite3.OperationalError:
            time.sleep(0.02)
    raise AssertionError(f"cannot read {db}")


def _wait(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _live(procs: list[psutil.Process]) -> list[psutil.Process]:
    """The processes still running (a zombie nobody reaped yet counts as gone)."""
    out = []
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                out.append(proc)
    return out


def _group_alive(pgid: int) -> bool:
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error, ProcessLookupError, PermissionError):
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                return True
    return False


def _tis(home: Path) -> dict[tuple[str, str], tuple[str | None, int]]:
    rows = _read(home, "SELECT run_id, task_id, map_index, state, try_number FROM task_instance")
    return {(r, t if m < 0 else f"{t}[{m}]"): (s, n) for r, t, m, s, n in rows}


def _stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM, timeout: float = 60) -> str:
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, sig)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
    return out or ""


def kill_trial(folder: Path, seed: int, nap: float = 0.3, grace: float = 10.0) -> TrialResult:
    """Run one trial in ``folder`` (a fresh directory); see the module doc."""
    started = time.monotonic()
    rng = random.Random(seed)
    result = TrialResult()
    problems = result.problems
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kill_dag.py"
    path.write_text(KILL_DAG.format(nap=nap), encoding="utf-8")
    home = folder / "home"
    proc = _start(path, home)
    try:
        _wait(lambda: (home / "dagstudio.db").exists(), 60, "the store")
        running = "SELECT count(*) FROM task_instance WHERE state = 'running'"
        _wait(lambda: _read(home, running)[0][0] > 0, 60, "a running try")
        time.sleep(rng.uniform(0.0, nap))  # somewhere in the middle of the runs, while a try runs
        _wait(lambda: _read(home, running)[0][0] > 0 or _read(home, ENDED)[0][0] == 3, 60, "a running try")
        family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    sched_pid = proc.pid
    # No task process survives: the fork server ends on EOF of its control socket and stops its workers;
    # the workers die with the fork server (PR_SET_PDEATHSIG).
    deadline = time.monotonic() + grace
    while _live(family[1:]) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = _live(family[1:])
    if left:
        problems.append(f"processes of the killed scheduler still alive after {grace} s: {[p.pid for p in left]}")
    committed = _tis(home)
    rows = _read(home, "SELECT run_id, task_id, map_index, try_number, pid FROM task_try WHERE state = 'running'")
    for run_id, task_id, map_index, try_number, pid in rows:
        label = task_id if map_index < 0 else f"{task_id}[{map_index}]"
        result.killed_tries.append(f"{run_id}/{label}#{try_number}")
        if pid and _group_alive(pid):
            problems.append(f"the process group of {label} try {try_number} (pid {pid}) survived")
    runs_before = _read(home, "SELECT run_id, logical_date, state FROM dag_run ORDER BY logical_date")
    # Restart and let every run end.
    proc = _start(path, home)
    try:
        # the restarted scheduler has recovered (marked the dead job) — also when every run had ended already
        _wait(lambda: len(_read(home, "SELECT id FROM job")) >= 2, 120, "the restarted scheduler's job")
        _wait(lambda: _read(home, "SELECT count(*) FROM job WHERE state = 'failed'")[0][0] >= 1, 120, "recovery")
        _wait(lambda: _read(home, ENDED)[0][0] == len(LOGICAL_DATES), 120, "every run to end")
    finally:
        out = _stop(proc)
    result.recovery_log = [line for line in out.splitlines() if "recovery" in line]
    _check(home, committed, runs_before, sched_pid, problems)
    result.seconds = time.monotonic() - started
    return result


def _check(
    home: Path,
    committed: dict[tuple[str, str], tuple[str | None, int]],
    runs_before: list[tuple[Any, ...]],
    sched_pid: int,
    problems: list[str],
) -> None:
    runs = _read(home, "SELECT run_id, logical_date, state FROM dag_run ORDER BY logical_date")
    if [r[1] for r in runs] != LOGICAL_DATES or [r[0] for r in runs] != [r[0] for r in runs_before]:
        problems.append(f"runs: {runs} (before the kill: {runs_before})")
    final = _tis(home)
    tries = {}
    for run_id, task_id, map_index, number, state, error in _read(
        home, "SELECT run_id, task_id, map_index, try_number, state, error FROM task_try"
    ):
        tries[(run_id, task_id if map_index < 0 else f"{task_id}[{map_index}]", number)] = (state, error)
    failed_runs = set()
    for (run_id, label), (state, number) in final.items():
        task_id = label.split("[")[0]
        before = committed.get((run_id, label))
        if before is not None and before[0] in ("queued", "running"):
            killed = before[1]
            row = tries.get((run_id, label, killed))
            if row is None or row[0] != "failed" or f"engine pid {sched_pid} died" not in (row[1] or ""):
                problems.append(f"{run_id}/{label}: the killed try {killed} is recorded as {row}")
            want = ("success", killed + 1) if killed <= RETRIES[task_id] else ("failed", killed)
        elif before is not None and before[0] in ("success", "failed", "skipped", "upstream_failed"):
            want = before
        else:
            want = ("success", 1)
        if (state, number) != want:
            problems.append(f"{run_id}/{label}: {state} try {number}, Airflow would give {want[0]} try {want[1]}")
        if state != "success":
            failed_runs.add(run_id)
        last = tries.get((run_id, label, number))
        if state == "success" and (last is None or last != ("success", None)):
            problems.append(f"{run_id}/{label}: its successful try {number} is recorded as {last}")
        for n in range(1, number):  # every earlier try was a killed one (the tasks never fail by themselves)
            row = tries.get((run_id, label, n))
            if row is None or row[0] != "failed":
                problems.append(f"{run_id}/{label}: try {n} of {number} is {row}")
    for run_id, _, state in runs:
        want_state = "failed" if run_id in failed_runs else "success"
        if state != want_state:
            problems.append(f"run {run_id}: {state}, expected {want_state}")
    if _read(home, "PRAGMA integrity_check") != [("ok",)]:
        problems.append("PRAGMA integrity_check failed")
    jobs = _read(home, "SELECT pid, state FROM job ORDER BY id")
    if [state for _, state in jobs] != ["failed", "success"] or jobs[0][0] != sched_pid:
        problems.append(f"jobs: {jobs}")
    for (pid,) in _read(home, "SELECT pid FROM task_try WHERE pid IS NOT NULL"):
        if _group_alive(pid):
            problems.append(f"a process of try pid {pid} is still alive after the runs ended")
