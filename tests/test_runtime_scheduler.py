"""The scheduler (``studio.runtime.scheduler``) with real fork servers, a real store and real processes.

No test waits for a wall-clock schedule: catchup over past start dates creates its runs at once, and
the one schedule that has to fire by itself is ``timedelta(seconds=1)``. Expected logical dates and run
ids are computed here from the DAG's arguments (Airflow 3 maps ``"@daily"`` to a ``CronTriggerTimetable``:
logical date = run_after = midnight UTC, an empty data interval, run id ``scheduled__<run_after ISO>``)
and checked against ``studio.runtime.timetables.preview`` as well.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from studio.runtime import scheduler as scheduler_module
from studio.runtime import timetables
from studio.runtime.scheduler import Scheduler
from studio.store import Store
from studio.store.lock import HomeLock

REPO = Path(__file__).resolve().parents[1]
UTC = dt.UTC
START = dt.datetime(2024, 1, 1, tzinfo=UTC)

DAG_FILE = """\
import datetime as dt
import time

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

with DAG({dag_id!r}, schedule={schedule}, start_date=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
         {extra}):
    PythonOperator(task_id="work", python_callable=lambda: time.sleep({sleep}))
"""


def dag_file(folder: Path, dag_id: str, schedule: str = '"@daily"', sleep: float = 0.0, **kwargs: object) -> Path:
    extra = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    path = folder / f"{dag_id}.py"
    path.write_text(DAG_FILE.format(dag_id=dag_id, schedule=schedule, extra=extra, sleep=sleep), encoding="utf-8")
    return path


def wait_for(condition: Callable[[], object], timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@contextlib.contextmanager
def running(files: list[Path], home: Path, **kwargs: object) -> Iterator[Scheduler]:
    """A Scheduler running in a background thread (as in the GUI); stopped and joined on exit."""
    sched = Scheduler(files, home, stop_grace=10.0, **kwargs)  # type: ignore[arg-type]
    errors: list[BaseException] = []

    def target() -> None:
        try:
            sched.run()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    wait_for(lambda: sched.ready.is_set() or not thread.is_alive(), what="the scheduler to load")
    try:
        if errors:
            raise errors[0]
        yield sched
    finally:
        sched.stop()
        thread.join(60)
        assert not thread.is_alive(), "the scheduler did not stop"
    if errors:
        raise errors[0]


def finished_runs(store: Store, dag_id: str) -> list:
    return [r for r in store.dag_runs(dag_id) if r.state in ("success", "failed")]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "home")
    yield opened
    opened.close()


def test_catchup_over_30_missed_days_keeps_at_most_3_runs_active_and_creates_airflows_runs(
    tmp_path: Path, store: Store
) -> None:
    end = START + dt.timedelta(days=29)
    path = dag_file(tmp_path, "daily", sleep=0.1, catchup=True, max_active_runs=3,
                    end_date="dt.datetime(2024, 1, 30, tzinfo=dt.timezone.utc)")  # fmt: skip
    sampled: list[int] = []
    with running([path], tmp_path / "home") as sched:

        def all_done() -> bool:
            sampled.append(len(store.active_runs("daily")))
            return len(finished_runs(store, "daily")) == 30

        wait_for(all_done, timeout=120, what="30 finished runs")
        description = next(iter(sched.dags.values())).description
    runs = store.dag_runs("daily")
    assert max(sampled) <= 3 and max(sampled) >= 2  # the limit is reached, never passed
    assert max_overlap(runs) <= 3  # from the store's own timestamps: each run from its start to its end
    expected = [START + dt.timedelta(days=i) for i in range(30)]
    assert end == expected[-1]
    assert [r.logical_date for r in runs] == expected
    assert [r.run_id for r in runs] == [f"scheduled__{d.isoformat()}" for d in expected]
    assert all(r.data_interval_start == r.data_interval_end == r.logical_date == r.run_after for r in runs)
    assert {r.run_type for r in runs} == {"scheduled"} and {r.state for r in runs} == {"success"}
    preview = timetables.preview(description, 40, now=dt.datetime.now(UTC))
    assert [r.run_id for r in runs] == [timetables.run_id(info.run_after) for info in preview]


def test_catchup_false_creates_only_the_latest_run(tmp_path: Path, store: Store) -> None:
    path = dag_file(tmp_path, "latest", catchup=False)
    with running([path], tmp_path / "home"):
        wait_for(lambda: finished_runs(store, "latest"), what="the run")
        time.sleep(0.3)  # nothing else may come (the next run is tomorrow)
    runs = store.dag_runs("latest")
    now = dt.datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    assert [r.logical_date for r in runs] == [midnight]
    assert runs[0].run_id == f"scheduled__{midnight.isoformat()}" and runs[0].state == "success"


def test_a_paused_dag_gets_no_runs_until_it_is_unpaused(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduler_module, "PAUSE_POLL", 0.05)
    end = "dt.datetime(2024, 1, 3, tzinfo=dt.timezone.utc)"
    created_paused = dag_file(tmp_path, "born_paused", catchup=True, end_date=end, is_paused_upon_creation=True)
    user_paused = dag_file(tmp_path, "user_paused", catchup=True, end_date=end)
    store.set_paused("user_paused", True)
    with running([created_paused, user_paused], tmp_path / "home") as sched:
        assert {s.dag_id: s.paused for s in sched.dags.values()} == {"born_paused": True, "user_paused": True}
        time.sleep(0.3)  # several pause polls
        assert store.dag_runs("born_paused") == [] and store.dag_runs("user_paused") == []
        assert store.paused_dags() == {"born_paused", "user_paused"}
        store.set_paused("born_paused", False)
        wait_for(lambda: len(finished_runs(store, "born_paused")) == 3, what="runs after unpausing")
        assert store.dag_runs("user_paused") == []
    assert [r.logical_date for r in store.dag_runs("born_paused")] == [START + dt.timedelta(days=i) for i in range(3)]


def test_is_paused_upon_creation_applies_to_a_new_dag_only(tmp_path: Path, store: Store) -> None:
    path = dag_file(tmp_path, "known", catchup=True, is_paused_upon_creation=True,
                    end_date="dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)")  # fmt: skip
    store.set_paused("known", False)  # the store has seen this DAG already (unpaused): the flag is ignored
    with running([path], tmp_path / "home"):
        wait_for(lambda: finished_runs(store, "known"), what="the run of a known DAG")
    assert store.is_paused("known") is False


def test_a_file_that_fails_to_import_records_an_import_error_and_the_others_run(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    good = dag_file(folder, "good", catchup=True, end_date="dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc)")
    bad = folder / "broken.py"
    bad.write_text("import datetime\n\nraise RuntimeError('cannot load me')\n", encoding="utf-8")
    from studio.workspace.scheduling import dag_files

    files = dag_files(folder, tmp_path / "home")
    assert sorted(files) == sorted([good, bad])
    with running(files, tmp_path / "home"):
        wait_for(lambda: len(finished_runs(store, "good")) == 2, what="the good file's runs")
    errors = store.import_errors()
    assert [Path(e.filename).name for e in errors] == ["broken.py"]
    assert "cannot load me" in errors[0].stacktrace and errors[0].line == 3


def test_an_existing_run_for_a_logical_date_is_skipped_without_a_duplicate(tmp_path: Path, store: Store) -> None:
    taken = START + dt.timedelta(days=1)
    store.create_dag_run("dup", "manual__taken", logical_date=taken, run_type="manual", state="success")
    path = dag_file(tmp_path, "dup", catchup=True, end_date="dt.datetime(2024, 1, 3, tzinfo=dt.timezone.utc)")
    with running([path], tmp_path / "home"):
        wait_for(lambda: len(finished_runs(store, "dup")) == 3, what="the runs")
        time.sleep(0.2)
    runs = store.dag_runs("dup")
    assert [(r.logical_date, r.run_id) for r in runs] == [
        (START, f"scheduled__{START.isoformat()}"),
        (taken, "manual__taken"),
        (START + dt.timedelta(days=2), f"scheduled__{(START + dt.timedelta(days=2)).isoformat()}"),
    ]


def test_a_one_second_schedule_fires_by_itself_on_time(tmp_path: Path, store: Store) -> None:
    path = dag_file(tmp_path, "tick", schedule="dt.timedelta(seconds=1)", catchup=False)
    with running([path], tmp_path / "home"):
        wait_for(lambda: len(finished_runs(store, "tick")) >= 3, timeout=30, what="three 1-second runs")
    runs = [r for r in store.dag_runs("tick") if r.state == "success"][:3]
    gaps = [(b.run_after - a.run_after).total_seconds() for a, b in itertools.pairwise(runs)]
    # without catchup a delta timetable's next run is max(now, last + 1 s) (Airflow's DeltaTriggerTimetable),
    # so each gap is one second plus the moment the timer took to fire
    assert all(1.0 <= gap < 1.1 for gap in gaps), gaps
    for run in runs[1:]:  # created by the timer, not by a poll: within a fraction of a second
        assert run.start_date is not None and 0 <= (run.start_date - run.run_after).total_seconds() < 0.5


# -- the command -------------------------------------------------------------------------------------------
def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "studio", *args]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")


def _start_cli(path: Path, home: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(_cli("scheduler", str(path), "--home", str(home)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env())  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        if " loaded " in line:
            return proc
    proc.wait(10)
    raise AssertionError(f"scheduler did not start: {proc.stderr.read() if proc.stderr else ''}")


def test_a_second_scheduler_on_the_same_home_refuses_with_exit_2(tmp_path: Path) -> None:
    path = dag_file(tmp_path, "held", catchup=False)
    home = tmp_path / "home"
    with running([path], home):
        second = subprocess.run(_cli("scheduler", str(path), "--home", str(home)), capture_output=True, text=True,
                                env=_env(), timeout=60)  # fmt: skip
    assert second.returncode == 2, second.stderr
    assert "already schedules the runs of" in second.stderr and f"pid {os.getpid()}" in second.stderr


def test_sigterm_stops_the_scheduler_cleanly(tmp_path: Path) -> None:
    path = dag_file(tmp_path, "slow", sleep=1.0, catchup=False)
    home = tmp_path / "home"
    proc = _start_cli(path, home)
    try:
        with Store.open(home) as store:
            wait_for(lambda: proc.poll() is not None or store.active_runs("slow"), what="the run to start")
        assert proc.poll() is None, proc.communicate()
        children = psutil.Process(proc.pid).children(recursive=True)
        assert children  # the fork server and the task's worker
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopping: no new runs" in out and "scheduler stopped" in out, (out, err)
    _, alive = psutil.wait_procs(children, timeout=5)
    assert alive == [], out
    with Store.open(home) as store:
        assert store.running_jobs() == [], out
        runs = store.dag_runs("slow")
        assert [r.state for r in runs] == ["success"], out  # the running task finished within the grace period
    lock = HomeLock(home, stale_wait=0)
    lock.acquire()  # released: a new scheduler may start
    lock.release()
    assert (home / "logs" / "scheduler.log").read_text(encoding="utf-8").count("scheduler stopped") == 1


def test_an_injected_clock_decides_which_runs_are_due_and_when_the_timer_fires(tmp_path: Path, store: Store) -> None:
    fake_now = dt.datetime(2024, 1, 3, 12, 0, tzinfo=UTC)
    offset = dt.datetime.now(UTC) - fake_now
    path = dag_file(tmp_path, "clocked", catchup=True)  # no end_date: only the clock limits the catchup
    with running([path], tmp_path / "home", clock=lambda: dt.datetime.now(UTC) - offset) as sched:
        wait_for(lambda: len(finished_runs(store, "clocked")) == 3, what="the runs due by the injected clock")
        time.sleep(0.3)  # the next run is due in 12 (fake and real) hours: nothing else happens
        (scheduled,) = sched.dags.values()
        assert scheduled.next_run_after == dt.datetime(2024, 1, 4, tzinfo=UTC)
        (job,) = sched.timers.get_jobs()
        wait = (job.next_run_time - dt.datetime.now(UTC)).total_seconds()
        assert 11.9 * 3600 < wait <= 12 * 3600  # the timer runs on the wall clock, 12 hours ahead
    assert [r.logical_date for r in store.dag_runs("clocked")] == [START + dt.timedelta(days=i) for i in range(3)]


def test_sigterm_to_the_whole_process_group_also_stops_cleanly(tmp_path: Path) -> None:
    """``timeout``, a service manager or a terminal's group signal also reach the fork server."""
    path = dag_file(tmp_path, "group", sleep=0.05, catchup=True, max_active_runs=1,
                    end_date="dt.datetime(2024, 3, 1, tzinfo=dt.timezone.utc)")  # fmt: skip
    home = tmp_path / "home"
    proc = subprocess.Popen(_cli("scheduler", str(path), "--home", str(home)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(), start_new_session=True)  # fmt: skip
    try:
        with Store.open(home) as store:  # runs are going on
            wait_for(lambda: proc.poll() is not None or store.count_runs("group") >= 3, what="some runs")
        assert proc.poll() is None, proc.communicate()
        children = psutil.Process(proc.pid).children(recursive=True)
        os.killpg(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err
    assert "scheduler stopped" in out and "error" not in err
    _, alive = psutil.wait_procs(children, timeout=5)
    assert alive == []
    with Store.open(home) as store:
        assert store.running_jobs() == [] and store.active_runs("group") == []


def test_a_manual_run_of_another_process_counts_against_max_active_runs(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Airflow's ``exceeds_max_non_backfill``: queued/running runs of any type but backfill count."""
    monkeypatch.setattr(scheduler_module, "PAUSE_POLL", 0.1)
    path = dag_file(tmp_path, "shared", sleep=1.5, catchup=True, max_active_runs=1,
                    end_date="dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc)")  # fmt: skip
    home = tmp_path / "home"
    manual = subprocess.Popen(_cli("run", str(path), "--home", str(home)), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=_env())  # fmt: skip
    try:
        wait_for(lambda: manual.poll() is not None or store.active_runs("shared"), what="the manual run")
        assert manual.poll() is None, manual.communicate()
        with running([path], home):
            time.sleep(0.5)  # several polls while the manual run goes on: no scheduled run may start
            assert [r.run_type for r in store.dag_runs("shared")] == ["manual"]
            assert manual.wait(60) == 0
            wait_for(lambda: len(finished_runs(store, "shared")) == 3, what="the scheduled runs after it")
    finally:
        if manual.poll() is None:
            manual.kill()
    runs = store.dag_runs("shared")
    (manual_run,) = [r for r in runs if r.run_type == "manual"]
    scheduled = [r for r in runs if r.run_type == "scheduled"]
    assert [r.logical_date for r in scheduled] == [START, START + dt.timedelta(days=1)]
    assert all(r.start_date >= manual_run.end_date for r in scheduled)
    assert max_overlap(runs) == 1


def max_overlap(runs: list) -> int:
    events = sorted([(r.start_date, 1) for r in runs] + [(r.end_date, -1) for r in runs], key=lambda e: (e[0], e[1]))
    active = peak = 0
    for _, step in events:
        active += step
        peak = max(peak, active)
    return peak
