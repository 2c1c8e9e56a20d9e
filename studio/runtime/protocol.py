"""Messages between the engine, the fork server and its workers: length-prefixed JSON, and the worker events.

Every message is a JSON object encoded as UTF-8 and prefixed by its length as a 4-byte big-endian unsigned
integer. Streams deliver bytes in arbitrary pieces, so reading goes through :class:`MessageReader`, which
buffers partial frames and returns only complete messages. The same framing carries a worker's result over
its result pipe: a worker that dies half-way through writing leaves an incomplete frame, which reads as
"no result".

Messages on the control socket (engine ⇄ fork server):

* engine → server: ``{"op": "launch", "key", "request", "log_path", "timeout", "rlimit_as"}``,
  ``{"op": "cancel", "key"}``, ``{"op": "stop"}``.
* server → engine: ``{"op": "ready", "prepared"}`` or ``{"op": "prepare_error", "traceback"}`` once after
  start, then ``{"op": "started", "key", "pid"}`` and ``{"op": "finished", "key", "pid", "exit_code",
  "signal", "result", "timed_out", "cancelled", "error", "log_dropped"}`` per worker.
"""

from __future__ import annotations

import json
import socket
import struct
from dataclasses import asdict, dataclass
from typing import Any

HEADER = struct.Struct(">I")
MAX_MESSAGE = 1 << 30  # a longer frame means the stream is corrupt, not that someone sent a gigabyte


class ProtocolError(Exception):
    """The byte stream does not hold well-formed frames (corrupt, or not written by this protocol)."""


def encode(message: dict[str, Any]) -> bytes:
    """One frame: the 4-byte length, then the compact UTF-8 JSON of ``message``."""
    body = json.dumps(message, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
    if len(body) > MAX_MESSAGE:
        raise ProtocolError(f"message of {len(body)} bytes exceeds the {MAX_MESSAGE}-byte limit")
    return HEADER.pack(len(body)) + body


def check_launch(running: Any, key: str, timeout: float | None) -> None:
    """What both executors refuse in ``launch``: a key still running, a timeout that is not positive."""
    if key in running:
        raise ValueError(f"a worker for {key!r} is still running")
    if timeout is not None and timeout <= 0:
        raise ValueError("timeout must be positive")


class MessageReader:
    """Turns bytes that arrive in arbitrary pieces into complete messages."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        """Add ``data``; return the messages completed by it (possibly none)."""
        self._buffer += data
        messages: list[dict[str, Any]] = []
        while len(self._buffer) >= HEADER.size:
            (length,) = HEADER.unpack_from(self._buffer)
            if length > MAX_MESSAGE:
                raise ProtocolError(f"frame announces {length} bytes; the stream is corrupt")
            end = HEADER.size + length
            if len(self._buffer) < end:
                break
            body = bytes(self._buffer[HEADER.size : end])
            del self._buffer[:end]
            try:
                message = json.loads(body)
            except ValueError as exc:
                raise ProtocolError(f"frame is not JSON: {exc}") from None
            if not isinstance(message, dict):
                raise ProtocolError(f"frame holds a {type(message).__name__}, not an object")
            messages.append(message)
        return messages

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame still waiting for the rest."""
        return len(self._buffer)


def send(sock: socket.socket, message: dict[str, Any]) -> None:
    """Write one message to a blocking socket (all of it)."""
    sock.sendall(encode(message))


def recv(sock: socket.socket) -> dict[str, Any] | None:
    """Read exactly one message from a blocking socket; ``None`` at a clean end of stream."""
    header = _recv_exactly(sock, HEADER.size)
    if header is None:
        return None
    (length,) = HEADER.unpack(header)
    if length > MAX_MESSAGE:
        raise ProtocolError(f"frame announces {length} bytes; the stream is corrupt")
    body = _recv_exactly(sock, length)
    if body is None:
        raise ProtocolError("stream ended inside a frame")
    messages = MessageReader().feed(header + body)
    return messages[0]


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            if chunks:
                raise ProtocolError("stream ended inside a frame")
            return None
        chunks += chunk
    return bytes(chunks)


@dataclass(frozen=True)
class Started:
    """A worker process was forked for ``key``; ``pid`` is also its process group id."""

    key: str
    pid: int


@dataclass(frozen=True)
class Finished:
    """The worker for ``key`` ended and its whole process group is gone.

    ``exit_code`` is set when it exited, ``signal`` when a signal killed it (one of them is ``None``;
    both are ``None`` with ``pid == 0`` when it could not be started, ``error`` then says why).
    ``result`` is what ``run(request)`` returned, or ``None`` if the worker died before sending it.
    ``log_dropped`` counts output bytes beyond the log cap.
    """

    key: str
    pid: int
    exit_code: int | None
    signal: int | None
    result: dict[str, Any] | None
    timed_out: bool = False
    cancelled: bool = False
    error: str | None = None
    log_dropped: int = 0

    @property
    def ok(self) -> bool:
        """The worker exited with 0 and delivered a result."""
        return self.exit_code == 0 and self.result is not None


Event = Started | Finished


def event_message(event: Event) -> dict[str, Any]:
    """The wire form of an event."""
    op = "started" if isinstance(event, Started) else "finished"
    return {"op": op, **asdict(event)}


def event_from_message(message: dict[str, Any]) -> Event:
    """The event a ``started`` / ``finished`` message describes."""
    fields = {k: v for k, v in message.items() if k != "op"}
    if message.get("op") == "started":
        return Started(**fields)
    if message.get("op") == "finished":
        return Finished(**fields)
    raise ProtocolError(f"not an event message: {message.get('op')!r}")
