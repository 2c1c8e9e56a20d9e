"""One local run of a DAG in a child process: ``python -m studio run PATH --dag ID --json [--home H]``.

The run never happens in the GUI process: the engine forks (its fork server, the task workers) and
forking a process that runs Qt's threads is unsafe, and a separate process keeps the window
responsive. ``RunProcess`` starts the CLI with ``QProcess`` and turns what it prints into signals:

* stderr, while the run goes: one progress line per task state change, ``task KEY STATE try N``
  (``studio.cli.progress_line``) → ``task_changed(key, state, try_number)``; every other stderr line
  (``error: FILE:LINE: message``, ``interrupted``) is kept for the end;
* stdout, at the end: the run as JSON (``dagstudio run --json``) → ``finished(outcome)``.

``stop()`` sends SIGTERM (the CLI cancels the run like Ctrl-C: running tasks stopped, the run recorded
failed) and SIGKILLs the CLI if it has not ended after ``KILL_AFTER_MS``.
"""

from __future__ import annotations

import json
import os
import re
import site
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

import studio
from studio.core.diagnostics import Diagnostic, error

PROGRESS_PREFIX = "task "  # must match studio.cli.PROGRESS_PREFIX (a test holds them together)
KILL_AFTER_MS = 15000
_DIAGNOSTIC = re.compile(r"^(error|warning): (?:(?P<file>[^:\n]+?):(?P<line>\d+): )?(?P<message>.*)$")


def _source_root() -> str | None:
    """The folder holding the ``studio`` package when it is not installed in site-packages, else None."""
    root = Path(studio.__file__).resolve().parent.parent
    installed = {Path(p).resolve() for p in (*site.getsitepackages(), site.getusersitepackages())}
    return None if root in installed else str(root)


def cli_process(parent: QObject) -> QProcess:
    """A ``QProcess`` set up to run this DAG Studio's CLI (``sys.executable -m studio …``): unbuffered
    UTF-8 output, and ``studio`` importable in the child also from a source checkout."""
    process = QProcess(parent)
    environment = QProcessEnvironment.systemEnvironment()
    environment.insert("PYTHONUNBUFFERED", "1")
    environment.insert("PYTHONIOENCODING", "utf-8")
    source = _source_root()
    if source is not None:  # a source checkout (not installed): the child must find ``studio`` too
        found = environment.value("PYTHONPATH", "")
        environment.insert("PYTHONPATH", os.pathsep.join(p for p in (source, found) if p))
    process.setProcessEnvironment(environment)
    process.setProgram(sys.executable)
    return process


def parse_progress(line: str) -> tuple[str, str, int] | None:
    """``(key, state, try_number)`` of a ``task KEY STATE try N`` line; None for any other line."""
    if not line.startswith(PROGRESS_PREFIX):
        return None
    parts = line[len(PROGRESS_PREFIX) :].split()
    if len(parts) != 4 or parts[2] != "try" or not parts[3].isdigit():
        return None
    return parts[0], parts[1], int(parts[3])


def parse_diagnostic(line: str) -> Diagnostic | None:
    """A ``severity: FILE:LINE: message`` line of the CLI as a Diagnostic (None for other lines)."""
    match = _DIAGNOSTIC.match(line.strip())
    if match is None:
        return None
    number = match.group("line")
    return Diagnostic(
        match.group(1),  # type: ignore[arg-type]
        match.group("message"),
        match.group("file"),
        int(number) if number is not None else None,
    )


@dataclass
class RunOutcome:
    """How a run ended: the CLI's exit code, its JSON (None when it printed none) and its other messages."""

    dag_id: str
    exit_code: int
    result: dict[str, Any] | None
    messages: list[str] = field(default_factory=list)
    stopped: bool = False  # the user pressed Stop

    @property
    def state(self) -> str:
        """``success`` / ``failed`` (the run's state), or ``error`` when the run never took place."""
        if self.result is not None:
            return str(self.result.get("state") or "failed")
        return "failed" if self.stopped else "error"

    def diagnostics(self) -> list[Diagnostic]:
        """The problems the CLI reported (bad DAG, internal error); empty for a run that took place."""
        if self.result is not None or self.stopped:
            return []
        found = [d for d in (parse_diagnostic(m) for m in self.messages) if d is not None]
        if not found:
            text = "; ".join(m for m in self.messages if m.strip())[-500:] or "no message"
            found = [error(f"the run could not start (exit code {self.exit_code}): {text}")]
        return found


class RunProcess(QObject):
    """Runs one DAG through the CLI in a child process; at most one run at a time."""

    started = Signal(str)  # dag_id
    task_changed = Signal(str, str, int)  # key, state, try_number
    finished = Signal(object)  # RunOutcome

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.process: QProcess | None = None
        self.dag_id = ""
        self.home: Path | None = None  # None: the CLI's default ($DAGSTUDIO_HOME or the user data folder)
        self._stderr = b""
        self._messages: list[str] = []
        self._stopped = False
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self._kill)

    @property
    def running(self) -> bool:
        return self.process is not None

    @property
    def stopping(self) -> bool:
        """Stop was asked and the run has not ended yet."""
        return self.process is not None and self._stopped

    def command(self, path: Path, dag_id: str) -> list[str]:
        """The CLI arguments after the interpreter."""
        args = ["-m", "studio", "run", str(Path(path).resolve()), "--dag", dag_id, "--json"]
        if self.home is not None:
            args += ["--home", str(self.home)]
        return args

    def start(self, path: Path, dag_id: str) -> bool:
        """Start running ``dag_id`` of ``path``; False when a run is already going."""
        if self.process is not None:
            return False
        process = cli_process(self)
        process.setArguments(self.command(path, dag_id))
        process.readyReadStandardError.connect(self._read_stderr)
        process.finished.connect(self._on_finished)
        process.errorOccurred.connect(self._on_error)
        self.process, self.dag_id = process, dag_id
        self._stderr, self._messages, self._stopped = b"", [], False
        process.start()
        self.started.emit(dag_id)
        return True

    def stop(self) -> None:
        """Ask the run to stop (SIGTERM); it is killed if it has not ended after ``KILL_AFTER_MS``."""
        if self.process is None:
            return
        self._stopped = True
        self.process.terminate()
        self._kill_timer.start(KILL_AFTER_MS)

    def shutdown(self, wait_ms: int = KILL_AFTER_MS) -> None:
        """Stop a run and wait for its end (the window is closing): nothing outlives the GUI."""
        process = self.process
        if process is None:
            return
        self.stop()
        if not process.waitForFinished(wait_ms):
            process.kill()
            process.waitForFinished(5000)

    # --- the child's output --------------------------------------------------------------------------
    def _read_stderr(self) -> None:
        if self.process is None:
            return
        self._stderr += bytes(self.process.readAllStandardError().data())
        *lines, self._stderr = self._stderr.split(b"\n")
        for raw in lines:
            self._line(raw.decode("utf-8", "replace").rstrip("\r"))

    def _line(self, line: str) -> None:
        progress = parse_progress(line)
        if progress is not None:
            self.task_changed.emit(*progress)
        elif line.strip():
            self._messages.append(line)

    def _on_finished(self, exit_code: int, status: QProcess.ExitStatus) -> None:
        process = self.process
        if process is None:
            return
        self._kill_timer.stop()
        self._read_stderr()
        if self._stderr:
            self._line(self._stderr.decode("utf-8", "replace"))
            self._stderr = b""
        stdout = bytes(process.readAllStandardOutput().data()).decode("utf-8", "replace")
        result: dict[str, Any] | None
        try:
            parsed = json.loads(stdout) if stdout.strip() else None
            result = parsed if isinstance(parsed, dict) and "tasks" in parsed else None
        except json.JSONDecodeError:
            result = None
        if status == QProcess.ExitStatus.CrashExit and not self._stopped:
            self._messages.append(f"the run process crashed ({process.errorString()})")
        self._done(RunOutcome(self.dag_id, exit_code, result, list(self._messages), self._stopped))

    def _on_error(self, problem: QProcess.ProcessError) -> None:
        if problem == QProcess.ProcessError.FailedToStart and self.process is not None:
            message = f"error: cannot start {sys.executable}: {self.process.errorString()}"
            self._done(RunOutcome(self.dag_id, -1, None, [*self._messages, message], False))

    def _done(self, outcome: RunOutcome) -> None:
        process, self.process = self.process, None
        if process is not None:
            process.deleteLater()
        self.finished.emit(outcome)

    def _kill(self) -> None:
        if self.process is not None:
            self.process.kill()
