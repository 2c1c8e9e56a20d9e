"""Watching DAG sources for changes (watchfiles, in a background thread): what the scheduler re-reads.

``SourceWatcher(sources, on_change)`` watches files (an Airflow ``.py``) and folders (a dags folder or a
project: any ``.py``, ``.json`` or ``.toml`` inside, not hidden, not in caches) and calls
``on_change(changed)`` — from its own thread — with the watched sources that changed, after the burst of
writes an editor makes has settled (``debounce_ms``). An editor that saves by writing a new file and
renaming it over the old one is seen too (the parent folder is what is watched). ``stop()`` ends the
thread within ``step_ms``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path

WATCHED_SUFFIXES = frozenset({".py", ".json", ".toml"})
_IGNORED_PARTS = frozenset({"__pycache__", ".git", ".venv", ".pytest_cache", ".hypothesis", "build"})


class SourceWatcher:
    """Calls ``on_change(set of sources)`` when watched files change; ``start()`` / ``stop()``."""

    def __init__(
        self,
        sources: Iterable[Path],
        on_change: Callable[[set[Path]], None],
        *,
        debounce_ms: int = 300,
        step_ms: int = 50,
    ) -> None:
        self.sources = [Path(s).resolve() for s in sources]
        self.on_change = on_change
        self.debounce_ms, self.step_ms = debounce_ms, step_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    def _roots(self) -> list[Path]:
        """The folders to watch: a file's parent (renames over it are seen), a folder itself."""
        roots = {s if s.is_dir() else s.parent for s in self.sources}
        return sorted(roots)

    def _owner(self, path: Path) -> Path | None:
        """The watched source ``path`` belongs to, or None (not one of ours)."""
        if path.suffix not in WATCHED_SUFFIXES or path.name.startswith(".") or _IGNORED_PARTS & set(path.parts):
            return None
        for source in self.sources:
            if source == path or (source.is_dir() and source in path.parents):
                return source
        return None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="dagstudio-watch", daemon=True)
        self._thread.start()
        self._ready.wait(5)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _run(self) -> None:
        import watchfiles

        def keep(_change: object, name: str) -> bool:
            return self._owner(Path(name)) is not None

        roots = [r for r in self._roots() if r.exists()]
        if not roots:
            self._ready.set()
            return
        watcher = watchfiles.watch(*roots, watch_filter=keep, debounce=self.debounce_ms, step=self.step_ms,
                                   stop_event=self._stop, raise_interrupt=False, yield_on_timeout=True,
                                   rust_timeout=self.step_ms * 4, recursive=True)  # fmt: skip
        for changes in watcher:  # the first item (maybe empty, on timeout) comes once the watch is set up
            self._ready.set()
            owners = {o for _, name in changes if (o := self._owner(Path(name))) is not None}
            if owners:
                self.on_change(owners)
