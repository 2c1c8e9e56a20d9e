"""One scheduler per home: an exclusive lock on ``<home>/scheduler.lock`` held for the scheduler's lifetime.

The lock is the operating system's (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows), so it can
never be left behind by a crash: the kernel releases it when the last process holding the file closes it
— also after ``kill -9``. The file also records who holds it (pid, host, start time, what kind of
process) so a refused second scheduler can say which process to stop. A lock whose recorded holder is
dead but which is still held belongs to that holder's task processes, which are still being stopped (they
inherited the file when they were forked); :meth:`HomeLock.acquire` waits ``stale_wait`` seconds for them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

LOCK_NAME = "scheduler.lock"


class LockHeldError(RuntimeError):
    """Another live process holds the home's scheduler lock; ``holder`` is what it recorded."""

    def __init__(self, message: str, holder: dict[str, Any]) -> None:
        super().__init__(message)
        self.holder = holder


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _pid_alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


class HomeLock:
    """The scheduler lock of one home. ``with HomeLock(home, kind="scheduler"):`` or acquire()/release()."""

    def __init__(self, home: Path, *, kind: str = "scheduler", stale_wait: float = 15.0) -> None:
        self.path = Path(home) / LOCK_NAME
        self.kind = kind
        self.stale_wait = stale_wait
        self._fd: int | None = None

    def holder(self) -> dict[str, Any]:
        """What the current (or last) holder recorded; ``{}`` if nothing readable."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def acquire(self) -> None:
        """Take the lock or raise :class:`LockHeldError` naming the live holder."""
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        deadline = time.monotonic() + self.stale_wait
        while not _try_lock(fd):
            holder = self.holder()
            pid = holder.get("pid")
            same_host = holder.get("hostname") in (None, socket.gethostname())
            if isinstance(pid, int) and same_host and not _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)  # the holder died; its task processes still have the file open
                continue
            os.close(fd)
            raise LockHeldError(self._held_message(holder), holder)
        os.ftruncate(fd, 0)
        record = {"pid": os.getpid(), "hostname": socket.gethostname(), "kind": self.kind,
                  "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}  # fmt: skip
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(record) + "\n").encode())
        self._fd = fd

    def _held_message(self, holder: dict[str, Any]) -> str:
        who = f"{holder.get('kind', 'scheduler')} (pid {holder.get('pid', '?')} on {holder.get('hostname', '?')}"
        who += f", started {holder['started']})" if holder.get("started") else ")"
        return (
            f"another DAG Studio {who} already schedules the runs of {self.path.parent}; stop it first, "
            "or choose another home with --home / DAGSTUDIO_HOME"
        )

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the file releases the lock

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> HomeLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
