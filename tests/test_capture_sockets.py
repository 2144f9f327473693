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
