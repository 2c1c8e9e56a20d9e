"""The fork server's wire format (length-prefixed JSON frames, robust to arbitrary splits, strict on garbage),
its small process helpers, and what ``ForkServer`` refuses before forking anything."""

from __future__ import annotations

import itertools
import socket
import sys
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from studio.runtime.forkserver import ForkServer, UnsupportedPlatformError
from studio.runtime.procs import CappedLog, format_size, wait_status
from studio.runtime.protocol import (
    Finished,
    MessageReader,
    ProtocolError,
    Started,
    encode,
    event_from_message,
    event_message,
    recv,
    send,
)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
MESSAGES = st.lists(st.dictionaries(st.text(max_size=8), JSON, max_size=5), min_size=1, max_size=5)


@given(messages=MESSAGES, cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12))
def test_messages_survive_any_split_of_the_stream(messages: list[dict], cuts: list[int]) -> None:
    stream = b"".join(encode(m) for m in messages)
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    reader = MessageReader()
    received: list[dict] = []
    for start, end in itertools.pairwise(points):
        received += reader.feed(stream[start:end])
    assert received == messages
    assert reader.pending == 0


def test_one_byte_at_a_time_and_unicode() -> None:
    message = {"op": "launch", "key": "tâche→1", "request": {"x": [1, 2.5, None, "ü"]}}
    reader = MessageReader()
    got = [m for byte in encode(message) for m in reader.feed(bytes([byte]))]
    assert got == [message]


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\xff\xff\xff\xff", "corrupt"),
        (b"\x00\x00\x00\x03abc", "not JSON"),
        (b"\x00\x00\x00\x02[]", "not an object"),
    ],
)
def test_garbage_is_a_protocol_error(data: bytes, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        MessageReader().feed(data)


def test_nan_is_refused_when_encoding() -> None:
    with pytest.raises(ValueError):
        encode({"x": float("nan")})


def test_send_and_recv_over_a_socketpair_with_a_large_message() -> None:
    left, right = socket.socketpair()
    big = {"op": "finished", "result": {"blob": "z" * 3_000_000}}
    sender = threading.Thread(target=lambda: (send(left, big), send(left, {"op": "stop"}), left.close()))
    sender.start()
    assert recv(right) == big
    assert recv(right) == {"op": "stop"}
    assert recv(right) is None
    sender.join()
    right.close()


def test_a_stream_that_ends_inside_a_frame_is_an_error() -> None:
    left, right = socket.socketpair()
    left.sendall(encode({"op": "x"})[:-2])
    left.close()
    with pytest.raises(ProtocolError, match="inside a frame"):
        recv(right)
    right.close()


def test_events_round_trip() -> None:
    for event in (Started("a", 12), Finished("a", 12, None, 9, None, timed_out=True, log_dropped=5)):
        assert event_from_message(event_message(event)) == event
    assert Finished("a", 1, 0, None, {}).ok and not Finished("a", 1, 0, None, None).ok
    with pytest.raises(ProtocolError):
        event_from_message({"op": "ready"})


def test_wait_status_and_sizes() -> None:
    assert wait_status(3 << 8) == (3, None)
    assert wait_status(9) == (None, 9)
    assert [format_size(n) for n in (50 * 2**20, 2048, 1000)] == ["50 MiB", "2 KiB", "1000 bytes"]


def test_capped_log_appends_and_notes_once(tmp_path) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(b"earlier try\n")
    log = CappedLog(str(path), 10)
    for chunk in (b"12345", b"6789", b"abc", b"def"):
        log.write(chunk)
    log.close()
    assert path.read_bytes() == b"earlier try\n123456789a\n[dagstudio] log capped at 10 bytes; 5 bytes dropped\n"


PREPARE, TASK = "tests.test_runtime_forkserver:prepare", "tests.test_runtime_forkserver:task"


def test_bad_function_paths_and_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="module:function"):
        ForkServer("no_colon", TASK)
    real = sys.platform
    try:
        sys.platform = "win32"
        with pytest.raises(UnsupportedPlatformError, match="Windows") as info:
            ForkServer(PREPARE, TASK)
        assert isinstance(info.value, NotImplementedError)
    finally:
        sys.platform = real
