"""The scheduler of the open PATH in a child process: ``python -m studio scheduler PATH [--home H]``.

Like a run (``run_process``), the scheduler never runs inside the GUI process: it forks fork servers and
task workers, which is unsafe from a process running Qt's threads, and a crash of a DAG file's import
must not take the window down. The GUI starts it, reads its log lines (``<ISO time> <message>``, see
``studio.cli.cmd_scheduler``) and observes the runs through the store; ``stop()`` sends SIGTERM — the
scheduler's graceful stop (no new runs, running tasks get a grace period) — and kills it only if it has
not ended after ``KILL_AFTER_MS``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QTimer, Signal

from studio.ui.run_process import cli_process

KILL_AFTER_MS = 45000  # the scheduler's own grace period for running tasks is 30 s
_LINE = re.compile(r"^(?P<time>\d{4}-\d\d-\d\dT\S+) (?P<message>.*)$")
_RUN = re.compile(r"^(?P<dag>\S+): run (?P<run_id>\S+) (?P<state>started|success|failed)$")


@dataclass(frozen=True)
class SchedulerEvent:
    """A run the scheduler started or finished (parsed from its log)."""

    dag_id: str
    run_id: str
    state: str  # started | success | failed


def parse_event(message: str) -> SchedulerEvent | None:
    """``etl: run scheduled__… started`` → SchedulerEvent; None for other log messages."""
    match = _RUN.match(message.strip())
    return None if match is None else SchedulerEvent(match["dag"], match["run_id"], match["state"])


class SchedulerProcess(QObject):
    """At most one scheduler child; signals for its log lines and its end."""

    line = Signal(str)  # a log message (time stripped)
    event = Signal(object)  # SchedulerEvent
    ended = Signal(int, str)  # exit code, the last message (why it ended)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.process: QProcess | None = None
        self.path: Path | None = None
        self.home: Path | None = None
        self.last_message = ""
        self._buffer = b""
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self._kill)

    @property
    def running(self) -> bool:
        return self.process is not None

    def command(self, path: Path) -> list[str]:
        args = ["-m", "studio", "scheduler", str(Path(path).resolve())]
        if self.home is not None:
            args += ["--home", str(self.home)]
        return args

    def start(self, path: Path) -> bool:
        """Start scheduling ``path``; False when a scheduler already runs."""
        if self.process is not None:
            return False
        process = cli_process(self)
        process.setArguments(self.command(path))
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        process.readyReadStandardOutput.connect(self._read)
        process.finished.connect(self._on_finished)
        process.errorOccurred.connect(self._on_error)
        self.process, self.path, self.last_message, self._buffer = process, Path(path), "", b""
        process.start()
        return True

    def stop(self) -> None:
        """Graceful stop (SIGTERM); killed if still there after ``KILL_AFTER_MS``."""
        if self.process is None:
            return
        self.process.terminate()
        self._kill_timer.start(KILL_AFTER_MS)

    def shutdown(self, wait_ms: int = KILL_AFTER_MS) -> None:
        """Stop and wait (the window closes): the scheduler does not outlive the GUI that started it."""
        process = self.process
        if process is None:
            return
        self.stop()
        if not process.waitForFinished(wait_ms):
            process.kill()
            process.waitForFinished(5000)

    def _read(self) -> None:
        if self.process is None:
            return
        self._buffer += bytes(self.process.readAllStandardOutput().data())
        *lines, self._buffer = self._buffer.split(b"\n")
        for raw in lines:
            self._line(raw.decode("utf-8", "replace").rstrip("\r"))

    def _line(self, text: str) -> None:
        if not text.strip():
            return
        match = _LINE.match(text)
        message = match["message"] if match else text
        self.last_message = message
        self.line.emit(message)
        found = parse_event(message)
        if found is not None:
            self.event.emit(found)

    def _on_finished(self, exit_code: int, _status: QProcess.ExitStatus) -> None:
        if self.process is None:
            return
        self._kill_timer.stop()
        self._read()
        if self._buffer:
            self._line(self._buffer.decode("utf-8", "replace"))
        self.process.deleteLater()
        self.process = None
        self.ended.emit(exit_code, self.last_message)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self.process is not None:
            self.last_message = f"the scheduler could not start: {self.process.errorString()}"
            self.process.deleteLater()
            self.process = None
            self.ended.emit(-1, self.last_message)

    def _kill(self) -> None:
        if self.process is not None:
            self.process.kill()
