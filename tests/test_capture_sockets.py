"""The unread-rest readers wait on a socket with poll, so a connection whose descriptor is
numbered 1024 or above (FD_SETSIZE: a busy server, or one with many files open) still has
its body recorded; ``select.select`` raised ValueError there and the body was left out."""

from __future__ import annotations

import os
import resource
import socket
import threading
import time
from typing import Iterator

import pytest

from readme_metrics.capture.rest import _read_nonblocking
from readme_metrics.capture.sockets import peek, readable

HIGH_FD = 1500


@pytest.fixture
def high_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A connected pair whose server end has descriptor HIGH_FD."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft <= HIGH_FD:
        if hard != resource.RLIM_INFINITY and hard <= HIGH_FD:
            pytest.skip(f"cannot open descriptor {HIGH_FD} (hard limit {hard})")
        resource.setrlimit(resource.RLIMIT_NOFILE, (HIGH_FD + 1, hard))
    server, client = socket.socketpair()
    os.dup2(server.fileno(), HIGH_FD)
    server.close()
    high = socket.socket(fileno=HIGH_FD)
    try:
        yield high, client
    finally:
        high.close()
        client.close()
        if soft <= HIGH_FD:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_readable_tells_data_from_none_on_a_high_descriptor(high_pair) -> None:
    high, client = high_pair
    assert high.fileno() >= 1024
    assert not readable(high, 0)
    client.sendall(b"x")
    assert readable(high, 0)
    client.close()
    assert readable(high, 0)  # end of stream counts: a read returns at once


def test_gunicorn_peek_of_a_high_descriptor_sees_what_arrived(high_pair) -> None:
    high, client = high_pair
    high.settimeout(30)  # as gunicorn's: recv would wait first without the check
    assert peek(high, 100) == b""
    client.sendall(b"name=owlbert")
    deadline = time.monotonic() + 5
    while not (seen := peek(high, 100)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen == b"name=owlbert"
    assert high.recv(100) == b"name=owlbert"  # peeked, not consumed


def test_a_rest_arriving_later_is_read_from_a_high_descriptor(high_pair) -> None:
    high, client = high_pair
    stream = high.makefile("rb")
    timer = threading.Timer(0.05, client.sendall, (b"the rest",))
    timer.start()
    try:
        data = _read_nonblocking(stream, high, 8, time.monotonic() + 5)
    finally:
        timer.join()
    assert data == b"the rest"


def _no_blind_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any sleep: the waits below must be woken by the client, not a timer."""
    def sleep(seconds: float) -> None:
        raise AssertionError(f"slept {seconds} s instead of waiting on the socket")

    monkeypatch.setattr(time, "sleep", sleep)


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_a_copied_body_stops_being_waited_for_when_the_client_shuts_its_side(
        monkeypatch: pytest.MonkeyPatch, framing: str) -> None:
    """gunicorn's unread rest is copied (MSG_PEEK) again and again while it is short:
    between two copies the wait is on the client's shutdown (POLLRDHUP), so a client that
    gives up frees the worker as it does, not a sleep later. The wait here (60 s) ends
    with what had arrived."""
    from gunicorn.http.body import Body, LengthReader
    from gunicorn.http.unreader import SocketUnreader

    from readme_metrics.capture.chunked import copied_chunks
    from readme_metrics.capture.rest_gunicorn import gunicorn_peek

    server, client = socket.socketpair()
    timer = threading.Timer(0.05, client.shutdown, (socket.SHUT_WR,))
    try:
        _no_blind_sleep(monkeypatch)
        deadline = time.monotonic() + 60
        timer.start()
        if framing == "length":
            client.sendall(b"abc")
            body = Body(LengthReader(SocketUnreader(server), 100))
            got: object = gunicorn_peek(body, {"gunicorn.socket": server}, 100, deadline)
            assert got == b"abc"
        else:
            client.sendall(b"3\r\nabc\r\n")
            got = copied_chunks(b"", server, 100, deadline)
            assert got == (b"abc", False)
    finally:
        timer.join()
        server.close()
        client.close()
    assert time.monotonic() < deadline


@pytest.mark.parametrize(("framed", "read"), [
    (b"zz\r\nabc\r\n0\r\n\r\n", None),  # a size that is no hex number
    (b"3\r\nabc\r\n-1\r\nabc\r\n", None),
    (b"3\r\nabcdef\r\n0\r\n\r\n", None),  # data past its size
    (b"3\r\nabc\r\n0\r\nno colon\r\n\r\n", None),  # a trailer that is no field
    (b"zz\r\nabc\r\n", b"3\r\nabc\r\n"),  # wsgiref: the app read the first chunk
])
def test_a_chunked_body_that_can_never_end_is_not_waited_for(
        monkeypatch: pytest.MonkeyPatch, framed: bytes, read: object) -> None:
    """hostile14: a bad chunk size (or another line no chunked body holds) can never be
    made whole by what the client sends next: the copy stops at once, where before it
    was taken again until the deadline (GRACE, 50 ms: Django's runserver answered that
    much later than the bare app, gunicorn's gthread the next request on the
    connection). The client here still holds its side open."""
    from readme_metrics.capture.chunked import broken, copied_chunks

    server, client = socket.socketpair()
    try:
        _no_blind_sleep(monkeypatch)
        deadline = time.monotonic() + 60
        client.sendall(framed)
        copied_chunks(b"", server, 100, deadline,
                      read=read if isinstance(read, bytes) else None)
        assert time.monotonic() < deadline
    finally:
        server.close()
        client.close()
    whole = (read if isinstance(read, bytes) else b"") + framed
    assert broken(whole)
    for still_coming in (b"3\r\nab", b"3\r\nabc\r", b"3\r\nabc\r\n1", b"1;ext", b"",
                         b"3\r\nabc\r\n0\r\nX-T: 1\r\n"):
        assert not broken(still_coming), still_coming  # a line still arriving


def test_a_chunked_body_copied_without_a_socket_is_not_waited_for(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the socket, what the server's reader buffered is all there is: taking the
    same copy again until the deadline would only hold the worker."""
    from readme_metrics.capture.chunked import copied_chunks

    _no_blind_sleep(monkeypatch)
    assert copied_chunks(b"3\r\nabc\r\n", None, 100, time.monotonic() + 60) == (b"abc", False)
