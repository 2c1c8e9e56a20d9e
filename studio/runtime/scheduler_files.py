"""The scheduler's DAG files over time: watching the sources, re-reading what changed, keeping the last good.

Mixed into ``scheduler.Scheduler``. A ``runtime.watch.SourceWatcher`` on the PATH's sources (a file, a dags
folder, a project folder) reports changes from its thread; the loop then asks ``resolve()`` (given by the
workspace: for a project it regenerates the Airflow files into the home's build folder) for the current
list of DAG files and compares each file's content with what is loaded:

* a new or changed file is loaded in a new ``LocalRun`` (a new fork server): on success its DAGs replace
  the old ones (same ids keep their runs in progress; the old engine keeps driving those runs until they
  end — it is *retiring* — and is closed then) and are rescheduled, and its import error is cleared;
* a file that now fails to load keeps its last good schedule: the old engine stays, the error (message
  and line) is recorded in the store for the UI (``import_error``);
* a file that is gone: its DAGs are no longer scheduled; runs in progress finish.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.core.diagnostics import StudioError

if TYPE_CHECKING:
    import selectors

    from studio.runtime.engine import LocalRun
    from studio.runtime.scheduler import ScheduledDag


def digest(path: Path) -> str | None:
    """The content hash of a DAG file (None if it cannot be read)."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


class FileReloading:
    """Reloading of changed DAG files (see the module doc); needs the Scheduler's attributes."""

    if TYPE_CHECKING:
        home: Path
        files: list[Path]
        locals: list[LocalRun]
        dags: dict[str, ScheduledDag]
        store: Any
        job_id: int | None
        log: Callable[[str], None]
        resolve: Callable[[], list[Path]] | None
        selector: selectors.BaseSelector | None

        def _open(self, path: Path) -> LocalRun | None: ...
        def _register(self, local: LocalRun) -> list[ScheduledDag]: ...
        def _schedule(self, sched: ScheduledDag) -> None: ...

    loaded: dict[Path, str | None]  # file → digest of what is loaded
    failing: set[Path]  # files whose newest version did not load (their import error is recorded)
    retiring: list[LocalRun]

    def reload_sources(self) -> None:
        """The sources changed: re-resolve the DAG files and reload what differs (in the loop's thread)."""
        files = self.files
        if self.resolve is not None:
            try:
                files = [Path(f) for f in self.resolve()]
            except StudioError as exc:  # the project itself does not load: keep everything as it is
                problem = exc.diagnostics[0]
                where = problem.file or str(self.files[0].parent if self.files else self.home)
                self.store.record_import_error(where, problem.message, problem.line)
                self.log(f"import error: {where}: {problem.message} (keeping the last good schedule)")
                return
        for gone in [f for f in self.loaded if f not in files]:
            self._drop_file(gone)
        for path in files:
            current = digest(path)
            if path not in self.loaded or current != self.loaded[path]:
                self._reload_file(path)
            elif path in self.failing:  # back to the version that is loaded: its error is gone
                self.failing.discard(path)
                self.store.clear_import_error(str(path))
                self.log(f"{path.name}: back to the loaded version")
        self.files = files

    def _reload_file(self, path: Path) -> None:
        new_digest = digest(path)
        local = self._open(path)  # records/clears the import error
        if local is None:
            self.failing.add(path)
            self.loaded.setdefault(path, None)
            if path in self.loaded and self._local_of(path) is not None:
                self.log(f"{path.name}: keeping its last good schedule")
            return
        old = self._local_of(path)
        old_dags = {key: sched for key, sched in self.dags.items() if old is not None and sched.local is old}
        for key in old_dags:
            del self.dags[key]
        self.locals.append(local)
        if self.selector is not None:
            import selectors

            self.selector.register(local.fileno(), selectors.EVENT_READ, local)
        for sched in self._register(local):
            previous = old_dags.get(sched.key)
            if previous is not None:
                sched.active = previous.active  # their runs go on in the old engine until they end
            self._schedule(sched)
        for sched in old_dags.values():
            if sched.key not in self.dags:
                self._unschedule(sched)
        if old is not None:
            self._retire(old)
        self.loaded[path] = new_digest
        self.failing.discard(path)
        self.log(f"reloaded {path.name}")

    def _drop_file(self, path: Path) -> None:
        old = self._local_of(path)
        self.loaded.pop(path, None)
        if old is None:
            return
        for key, sched in list(self.dags.items()):
            if sched.local is old:
                del self.dags[key]
                self._unschedule(sched)
        self._retire(old)
        self.log(f"{path.name} is gone: its DAGs are no longer scheduled")

    def _local_of(self, path: Path) -> LocalRun | None:
        return next((local for local in self.locals if local.path == Path(path)), None)

    def _unschedule(self, sched: ScheduledDag) -> None:
        timers: Any = getattr(self, "timers", None)
        if timers is not None:
            with contextlib.suppress(Exception):  # no timer set for it: nothing to remove
                timers.remove_job(sched.key)

    def _retire(self, local: LocalRun) -> None:
        """Stop scheduling on ``local``; it keeps driving its runs in progress and is closed when idle."""
        if local in self.locals:
            self.locals.remove(local)
        self.retiring.append(local)
        self.close_idle_retired()

    def close_idle_retired(self) -> None:
        for local in [r for r in self.retiring if not r.runs]:
            self.retiring.remove(local)
            if self.selector is not None:
                with contextlib.suppress(Exception):  # already gone with its server
                    self.selector.unregister(local.fileno())
            local.close()
