"""The scheduler re-reads edited DAG files (``studio.runtime.scheduler_files``), with a real scheduler in a
thread, real fork servers, a real store and real file edits: a change is reloaded, a broken file keeps
its last good schedule and records its import error, a fixed file clears it, a new file in a dags folder
is scheduled, a deleted one is not anymore."""

from __future__ import annotations

import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from studio.runtime.scheduler import Scheduler
from studio.store import Store

DAG = textwrap.dedent(
    """
    import datetime as dt

    import pendulum
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG

    with DAG("{dag_id}", schedule=dt.timedelta(seconds=1), start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
             catchup=False):
        BashOperator(task_id="{task_id}", bash_command="echo hello")
    """
)


def _wait(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def folder_scheduler(tmp_path: Path) -> Iterator[tuple[Scheduler, Path, list[str]]]:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "a.py").write_text(DAG.format(dag_id="a", task_id="first"))
    lines: list[str] = []

    def files() -> list[Path]:
        return sorted(folder.glob("*.py"))

    scheduler = Scheduler(files(), tmp_path / "home", log=lines.append, watch=[folder], resolve=files,
                          stop_grace=5)  # fmt: skip
    thread = threading.Thread(target=scheduler.run)
    thread.start()
    assert scheduler.ready.wait(30)
    yield scheduler, folder, lines
    scheduler.stop()
    thread.join(60)
    assert not thread.is_alive()
    assert psutil.Process().children(recursive=True) == []


def _count(home: Path, dag_id: str) -> int:
    with Store.open(home) as store:
        return len(store.runs(dag_id))


def _import_errors(home: Path) -> list[object]:
    with Store.open(home) as store:
        return list(store.import_errors())


def _task_ids(home: Path, dag_id: str) -> set[str]:
    with Store.open(home) as store:
        return {task for run in store.runs(dag_id) for task in run["tasks"]}


def test_edits_reload_broken_keeps_last_good_fixed_clears_error(
    folder_scheduler: tuple[Scheduler, Path, list[str]], tmp_path: Path
) -> None:
    _scheduler, folder, lines = folder_scheduler
    home = tmp_path / "home"
    _wait(lambda: "first" in _task_ids(home, "a"))
    (folder / "a.py").write_text(DAG.format(dag_id="a", task_id="second"))  # an edit
    _wait(lambda: "reloaded a.py" in lines)
    _wait(lambda: "second" in _task_ids(home, "a"))  # runs now use the new version

    good = (folder / "a.py").read_text()
    (folder / "a.py").write_text(good + "\ndef broken(:\n")  # a file that no longer loads
    _wait(lambda: any(line.startswith("import error:") and "a.py" in line for line in lines))
    with Store.open(home) as store:
        (problem,) = store.import_errors()
        assert problem.filename.endswith("a.py") and "SyntaxError" in problem.stacktrace and problem.line
        before = len(store.runs("a"))
    _wait(lambda: _count(home, "a") > before + 1)  # the last good schedule goes on

    (folder / "a.py").write_text(good)  # fixed (the version that is loaded)
    _wait(lambda: not _import_errors(home))


def test_a_new_file_is_scheduled_and_a_deleted_one_is_not(
    folder_scheduler: tuple[Scheduler, Path, list[str]], tmp_path: Path
) -> None:
    scheduler, folder, lines = folder_scheduler
    home = tmp_path / "home"
    (folder / "b.py").write_text(DAG.format(dag_id="b", task_id="only"))
    _wait(lambda: "only" in _task_ids(home, "b"))
    (folder / "b.py").unlink()
    _wait(lambda: "b.py is gone: its DAGs are no longer scheduled" in lines)
    with Store.open(home) as store:
        count = len(store.runs("b"))
    time.sleep(2.5)  # two scheduled times of b pass: no new run
    with Store.open(home) as store:
        assert len(store.runs("b")) == count
    assert not [key for key in scheduler.dags if key.endswith("::b")]
