"""Crash recovery (``studio.runtime.recovery``, ``LocalRun.resume``) with real processes and a real store:
kill trials of the headless scheduler (tests/recovery_trials.py), a killed ``dagstudio run`` whose run a
recovery continues, dead and live jobs, and leftover process groups (with pid reuse).

Expected outcomes are Airflow's rule for a try whose process is gone (the try counts as failed, retried
while ``try_number <= retries``), computed from the DAG's retries, not read from the engine.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from studio.runtime import recovery
from studio.runtime.engine import LocalRun
from studio.store import Store, TIKey
from tests.recovery_trials import REPO, kill_trial

TRIALS = 20
HOST = socket.gethostname()
UTC = dt.UTC

SLEEPER = """\
import datetime as dt
import time

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

with DAG("sleeper", schedule=None, start_date=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)):
    first = PythonOperator(task_id="first", python_callable=lambda: None)
    slow = PythonOperator(task_id="slow", python_callable=lambda: time.sleep({sleep}), retries={retries},
                          retry_delay=dt.timedelta(0))
    after = PythonOperator(task_id="after", python_callable=lambda: None)
    first >> slow >> after
"""


def _dead_pid() -> int:
    """The pid of a process that has ended (and was reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _wait(condition, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


# -- kill trials ---------------------------------------------------------------------------------------------
def test_sigkill_of_the_scheduler_mid_run_then_restart_completes_every_run_as_airflow_would(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda seed: kill_trial(tmp_path / f"trial{seed}", seed), range(TRIALS)))
    problems = {seed: r.problems for seed, r in enumerate(results) if r.problems}
    assert problems == {}
    # the scheduler is killed right after a poll saw a running try; a try may end in between (1 in 100 in the bench)
    assert sum(bool(r.killed_tries) for r in results) >= TRIALS - 3
    # every trial that killed a try had it resumed (a trial whose runs had all ended had nothing to resume)
    assert all(any("resumed" in line for line in r.recovery_log) for r in results if r.killed_tries)


# -- a killed `dagstudio run` --------------------------------------------------------------------------------
@pytest.mark.parametrize(("retries", "final"), [(1, "success"), (0, "failed")])
def test_a_killed_dagstudio_run_is_continued_by_recovery(tmp_path: Path, retries: int, final: str) -> None:
    path = tmp_path / "sleeper.py"
    path.write_text(SLEEPER.format(sleep=30 if retries == 0 else "0.2 if time.time() > float(open(__file__ + '.t').read()) else 30",
                                   retries=retries), encoding="utf-8")  # fmt: skip
    Path(f"{path}.t").write_text(str(time.time() + 3600), encoding="utf-8")  # the first try sleeps 30 s
    home = tmp_path / "home"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "studio", "run", str(path), "--home", str(home)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        with Store.open(home) as store:
            _wait(lambda: any(r.state == "running" for r in _tis(store)), what="the slow try to run")
            (job,) = store.running_jobs()
            assert (job.job_type, job.pid) == ("run", proc.pid)  # a `dagstudio run` records itself as a job
            (run,) = store.active_runs("sleeper")
            assert run.creating_job_id == job.id
            worker = next(r for r in _tis(store) if r.task_id == "slow").pid
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    _wait(lambda: not recovery.process_alive(worker), 15, "the orphaned worker to end (its fork server saw EOF)")
    Path(f"{path}.t").write_text("0", encoding="utf-8")  # the next try is quick
    with LocalRun(path, home) as local:
        local.job_id = local.store.start_job("scheduler", HOST, os.getpid())
        resumed = recovery.recover([local], local.store, own_job=local.job_id)
        assert [r.run_id for r in resumed] == [run.run_id]
        while not resumed[0].done:
            local.step()
        store = local.store
        assert store.dag_run("sleeper", run.run_id).state == final
        assert store.dag_run("sleeper", run.run_id).creating_job_id == local.job_id  # adopted
        tries = store.tries(TIKey("sleeper", run.run_id, "slow"))
        assert (
            tries[0].state == "failed"
            and tries[0].error == f"the process running it is gone (engine pid {proc.pid} died)"
        )
        assert tries[0].end_date is not None
        states = {r.task_id: (r.state, r.try_number) for r in _tis(store)}
        if retries:
            assert [t.state for t in tries] == ["failed", "success"]
            assert states == {"first": ("success", 1), "slow": ("success", 2), "after": ("success", 1)}
        else:
            assert [t.state for t in tries] == ["failed"]
            assert states == {"first": ("success", 1), "slow": ("failed", 1), "after": ("upstream_failed", 0)}
        assert [(j.pid, j.state) for j in store.running_jobs()] == [(os.getpid(), "running")]  # the dead one failed


def _tis(store: Store) -> list:
    runs = store.dag_runs("sleeper")
    return store.task_instances("sleeper", runs[0].run_id) if runs else []


# -- which runs are orphaned ---------------------------------------------------------------------------------
def _run(store: Store, run_id: str, day: int, job_id: int | None, state: str = "running") -> None:
    store.create_dag_run("d", run_id, logical_date=dt.datetime(2024, 1, day, tzinfo=UTC), state=state,
                         start_date=dt.datetime(2024, 1, day, tzinfo=UTC), creating_job_id=job_id,
                         task_instances=[{"task_id": "t", "state": "running", "try_number": 1}])  # fmt: skip


def test_orphaned_runs_are_those_of_dead_jobs_here_and_silent_jobs_elsewhere(tmp_path: Path) -> None:
    now = dt.datetime.now(UTC)
    clock = [now - dt.timedelta(days=365)]
    with Store.open(tmp_path / "home", clock=lambda: clock[0]) as store:
        reused = store.start_job("run", HOST, os.getpid())  # recorded a year before this process existed
        clock[0] = now
        dead_pid = _dead_pid()
        dead = store.start_job("scheduler", HOST, dead_pid)
        alive = store.start_job("run", HOST, os.getpid())
        me = store.start_job("scheduler", HOST, os.getpid())
        remote_silent = store.start_job("scheduler", "elsewhere", 1)
        remote_beating = store.start_job("scheduler", "elsewhere", 1)
        for day, (run_id, job) in enumerate([("of_dead", dead), ("of_alive", alive), ("of_reused", reused),
                                             ("of_remote_silent", remote_silent), ("of_remote_beating", remote_beating),
                                             ("legacy_recent", None)], start=1):  # fmt: skip
            _run(store, run_id, day, job)
        _run(store, "of_dead_but_ended", 9, dead, state="success")
        clock[0] = now + dt.timedelta(seconds=3 * recovery.HEARTBEAT + 1)
        store.heartbeat(remote_beating)
        found = recovery.orphaned_runs(store, HOST, now=clock[0], own_job=me)
        assert {o.record.run_id: o.dead_pid for o in found} == {
            "of_dead": dead_pid, "of_reused": os.getpid(), "of_remote_silent": 1,
        }  # fmt: skip
        assert {j.id for j in store.running_jobs()} == {alive, me, remote_beating}
        assert "engine pid 1 died" in next(o for o in found if o.record.run_id == "of_remote_silent").reason
        again = recovery.orphaned_runs(store, HOST, now=clock[0], own_job=me)  # not resumed: still orphaned
        assert sorted(o.record.run_id for o in again) == sorted(o.record.run_id for o in found)


def test_a_legacy_run_without_a_creating_job_is_orphaned_only_when_stale(tmp_path: Path) -> None:
    with Store.open(tmp_path / "home") as store:
        _run(store, "legacy", 1, None)
        now = dt.datetime.now(UTC)
        assert recovery.orphaned_runs(store, HOST, now=now) == []  # just written
        (orphan,) = recovery.orphaned_runs(store, HOST, now=now + recovery.LEGACY_STALE + dt.timedelta(seconds=1))
        assert (
            orphan.record.run_id == "legacy" and orphan.reason == "the process running it is gone (engine process died)"
        )


# -- leftover processes --------------------------------------------------------------------------------------
GROUP = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"


def test_kill_leftovers_kills_the_whole_group_of_a_try_but_never_a_reused_pid(tmp_path: Path) -> None:
    leader = subprocess.Popen([sys.executable, "-c", GROUP], start_new_session=True)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        _wait(lambda: len(psutil.Process(leader.pid).children()) == 1, what="the task's child")
        child = psutil.Process(leader.pid).children()[0]
        started = dt.datetime.now(UTC) + dt.timedelta(seconds=2)
        with Store.open(tmp_path / "home") as store:
            job = store.start_job("scheduler", HOST, _dead_pid())
            for run_id, day, pid, start in (("r1", 1, leader.pid, started),
                                            ("r2", 2, other.pid, started - dt.timedelta(hours=1))):  # fmt: skip
                _run(store, run_id, day, job)
                store.start_try(TIKey("d", run_id, "t"), 1, start_date=start, pid=pid, hostname=HOST)
            runs = recovery.orphaned_runs(store, HOST)
            killed = recovery.kill_leftovers(store, runs, HOST)
        assert sorted(killed) == sorted([leader.pid, child.pid])
        leader.wait(10)  # reaped already by kill_leftovers' wait (psutil), so no status to read here
        _wait(lambda: not recovery.process_alive(child.pid), 10, "the task's child to end")
        assert other.poll() is None  # its pid was recorded for a try that started before it existed: reused
    finally:
        for proc in (leader, other):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def test_process_alive_tells_dead_reused_and_live_pids_apart() -> None:
    now = dt.datetime.now(UTC)
    assert recovery.process_alive(os.getpid(), now)
    assert not recovery.process_alive(os.getpid(), now - dt.timedelta(days=365))  # created after that: reused
    assert not recovery.process_alive(_dead_pid())
    assert not recovery.process_alive(None)


ORPHANING = (
    "import subprocess, sys; print(subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],"
    " stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).pid)"
)


def test_kill_leftovers_kills_what_a_dead_worker_left_in_its_group(tmp_path: Path) -> None:
    """The worker is gone (its fork server killed with the engine) but a process it started lives on."""
    started = dt.datetime.now(UTC)
    worker = subprocess.run([sys.executable, "-c", ORPHANING], capture_output=True, text=True, start_new_session=True,
                            check=True)  # fmt: skip
    child = psutil.Process(int(worker.stdout))
    try:
        pgid = os.getpgid(child.pid)  # the dead worker's pid: it led the group (start_new_session)
        assert not recovery.process_alive(pgid)
        with Store.open(tmp_path / "home") as store:
            job = store.start_job("scheduler", HOST, _dead_pid())
            _run(store, "r", 1, job)
            store.start_try(TIKey("d", "r", "t"), 1, start_date=started, pid=pgid, hostname=HOST)
            killed = recovery.kill_leftovers(store, recovery.orphaned_runs(store, HOST), HOST)
        assert killed == [child.pid]
        assert not recovery.process_alive(child.pid)
    finally:
        with contextlib.suppress(psutil.Error):
            child.kill()
