"""``studio.runtime.watch.SourceWatcher`` with the real file system: edits, atomic saves, new files in a
watched folder, and what it ignores."""

from __future__ import annotations

import os
import queue
import time
from pathlib import Path

from studio.runtime.watch import SourceWatcher


def _changes(found: queue.Queue[set[Path]], timeout: float = 10.0) -> set[Path]:
    """Everything reported until nothing more comes for 0.8 s (the first report within ``timeout``)."""
    seen = set(found.get(timeout=timeout))
    while True:
        try:
            seen |= found.get(timeout=0.8)
        except queue.Empty:
            return seen


def test_an_edit_and_an_atomic_save_of_a_watched_file_are_reported(tmp_path: Path) -> None:
    dag = tmp_path / "dag.py"
    other = tmp_path / "notes.py"  # same folder, not watched
    dag.write_text("x = 1\n")
    other.write_text("y = 1\n")
    found: queue.Queue[set[Path]] = queue.Queue()
    watcher = SourceWatcher([dag], found.put, debounce_ms=100)
    watcher.start()
    try:
        dag.write_text("x = 2\n")
        assert _changes(found) == {dag.resolve()}
        other.write_text("y = 2\n")
        temp = tmp_path / ".dag.py.tmp"
        temp.write_text("x = 3\n")
        os.replace(temp, dag)  # how editors and atomic_write save
        assert _changes(found) == {dag.resolve()}
    finally:
        watcher.stop()


def test_a_watched_folder_reports_new_dag_files_not_caches(tmp_path: Path) -> None:
    folder = tmp_path / "dags"
    (folder / "__pycache__").mkdir(parents=True)
    found: queue.Queue[set[Path]] = queue.Queue()
    watcher = SourceWatcher([folder], found.put, debounce_ms=100)
    watcher.start()
    try:
        (folder / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
        (folder / "README.txt").write_text("not a DAG source")
        (folder / "__pycache__" / "cached.py").write_text("x = 0\n")
        time.sleep(1.0)  # long enough for a report of these (debounce 100 ms) to arrive — none must
        assert found.empty()
        (folder / "new_dag.py").write_text("x = 1\n")
        assert _changes(found) == {folder.resolve()}
    finally:
        watcher.stop()


def test_stop_ends_the_thread_quickly(tmp_path: Path) -> None:
    watcher = SourceWatcher([tmp_path], lambda changed: None, step_ms=50)
    watcher.start()
    started = time.monotonic()
    watcher.stop()
    assert time.monotonic() - started < 2
    assert watcher._thread is None
