"""Inside one spawned worker of the spawn pool (``python -m studio.runtime.spawnserver_worker``).

The pool (``spawnserver``) starts this module with three pipes as the standard streams: stdin carries
frames from the pool (``init``, then one ``launch``), stdout carries frames to it (``ready`` or
``prepare_error``, then the try's result) and stderr is the try's output, which the pool copies into the
capped log. At start the three are moved out of the way: the frames use private duplicates (not
inherited by the task's subprocesses), stdin becomes the null device and, while ``prepare`` imports the
DAG file, stdout and stderr write into a temporary file whose text travels back in ``ready`` (the pool
shows the first worker's on its own stderr, like the fork server). Only a crash of the interpreter during
``prepare`` (faulthandler) writes into the output pipe early; the pool then has no try to log it for and
forwards it to its stderr.

The optional ``warm`` function runs after ``prepare`` (its output and errors are dropped). On ``launch``
stdout and stderr become the output pipe, ``run(request)`` runs once and its result is written as one
frame just before ``os._exit`` — the same contract as a forked worker (``procs.worker_run``). A watchdog
thread keeps reading stdin: when the pool closes it or dies, the worker kills its own process group
(POSIX) or exits (Windows, where the pool's Job object kills the rest).
"""

from __future__ import annotations

import contextlib
import faulthandler
import io
import os
import signal
import sys
import tempfile
import threading
import traceback
from typing import Any, NoReturn

from studio.runtime.protocol import MessageReader, ProtocolError, encode

_CAPTURE_LIMIT = 1 << 20  # prepare's output beyond 1 MiB is not sent back (the rest is one note line)


def _text_stream(fd: int) -> io.TextIOWrapper:
    raw = io.FileIO(fd, "w", closefd=False)
    return io.TextIOWrapper(raw, encoding="utf-8", errors="backslashreplace", line_buffering=True)


def _point_output_at(fd: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    from studio.sdk.masking import MaskingStream

    sys.stdout = sys.__stdout__ = MaskingStream(_text_stream(1))  # secrets registered by the task become ***
    sys.stderr = sys.__stderr__ = MaskingStream(_text_stream(2))


def _read_frame(fd: int, reader: MessageReader) -> dict[str, Any] | None:
    """The next frame on the blocking fd ``fd``; None at end of stream (or a corrupt stream)."""
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except OSError:
            return None
        if not chunk:
            return None
        try:
            messages = reader.feed(chunk)
        except ProtocolError:
            return None
        if messages:
            return messages[0]


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _watch_pool(ctl: int) -> None:
    """Block on the control pipe; at its end (the pool closed it or died) take the whole group down."""
    with contextlib.suppress(OSError):
        while os.read(ctl, 4096):
            pass
    if hasattr(os, "killpg"):
        with contextlib.suppress(OSError):
            os.killpg(os.getpgid(0), signal.SIGKILL)
    os._exit(1)


def _captured(capture: Any) -> str:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    size = os.lseek(capture.fileno(), 0, os.SEEK_END)
    os.lseek(capture.fileno(), 0, os.SEEK_SET)
    text = os.read(capture.fileno(), _CAPTURE_LIMIT).decode("utf-8", "backslashreplace")
    if size > _CAPTURE_LIMIT:
        text += f"\n[dagstudio] {size - _CAPTURE_LIMIT} more bytes of output dropped\n"
    return text


def _set_rlimit_as(limit: int | None) -> None:
    if not limit:
        return
    try:
        import resource
    except ImportError:  # Windows: no address-space limit (see docs/ENGINE.md)
        return
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main() -> NoReturn:
    """The worker's life: init → prepare → wait for one launch → run → result → exit."""
    ctl, res, out = os.dup(0), os.dup(1), os.dup(2)  # os.dup: not inherited by the task's subprocesses
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    capture = tempfile.TemporaryFile()  # noqa: SIM115 (open until the try starts; closed in main)
    _point_output_at(capture.fileno())
    crash_out = _text_stream(out)
    faulthandler.enable(crash_out)
    reader = MessageReader()
    init = _read_frame(ctl, reader)
    if init is None or init.get("op") != "init":
        os._exit(2)
    sys.path[:] = [p for p in init.get("sys_path", []) if isinstance(p, str)] or sys.path
    try:
        os.chdir(init.get("cwd") or ".")  # the pool's working directory (the worker started in studio's root)
        from studio.runtime.forkserver import resolve

        prepared = resolve(init["prepare"])(init.get("payload") or {})
        run = resolve(init["run"])
        ready = encode({"op": "ready", "prepared": prepared, "output": _captured(capture)})
        if init.get("warm"):
            with contextlib.suppress(Exception):  # an optimisation only; its output goes nowhere
                resolve(init["warm"])()
    except BaseException:
        failure = traceback.format_exc()
        with contextlib.suppress(BaseException):
            message = {"op": "prepare_error", "traceback": failure, "output": _captured(capture)}
            _write_all(res, encode(message))
        os._exit(1)
    _write_all(res, ready)
    launch = _read_frame(ctl, reader)
    if launch is None or launch.get("op") != "launch":
        os._exit(0)  # the pool closed without giving this worker a try
    threading.Thread(target=_watch_pool, args=(ctl,), name="dagstudio-watch-pool", daemon=True).start()
    _point_output_at(out)
    os.close(out)
    capture.close()
    faulthandler.enable(sys.stderr)
    _run_try(run, launch.get("request") or {}, launch.get("rlimit_as"), res)


def _run_try(run: Any, request: dict[str, Any], rlimit_as: int | None, res: int) -> NoReturn:
    """``run(request)`` once; its result frame on ``res``; never returns (``os._exit``, like a forked worker)."""
    code, payload = 1, b""
    try:
        _set_rlimit_as(rlimit_as)
        result = run(request)
        if not isinstance(result, dict):
            raise TypeError(f"run() must return a dict, not {type(result).__name__}")
        payload = encode(result)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        with contextlib.suppress(BaseException):
            traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        with contextlib.suppress(BaseException):
            _write_all(res, payload)
        os._exit(code)


if __name__ == "__main__":
    main()
