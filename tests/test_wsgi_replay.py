"""The grouping function's copy of a body the app has not read yet, on a live connection
(readme_metrics.capture.wsgi_input.replay_input): it reads what has arrived, never by a
read that waits for the client; the app, reading after it, gets every byte of the body
in order, and the record has each byte once.

Real sockets (a socket pair) under the readers the servers hand the app: a buffered
reader over the socket (werkzeug's server, wsgiref, runserver), whose bytes the copy
consumes and hands on to the app, and gunicorn's body reader, whose bytes are copied and
left in place. tests/test_slow_client.py checks the same under the servers themselves.
"""

from __future__ import annotations

import socket
from typing import Any, Iterator

import pytest
import webob
from hypothesis import example, given, settings
from hypothesis import strategies as st

from readme_metrics.capture import wsgi_input
from readme_metrics.capture.body import BodyRecord
from readme_metrics.capture.wsgi_input import InputTee, replay_input
from tests.test_capture import in_thread


@pytest.fixture(autouse=True)
def no_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    """What has arrived is in the socket already: no wait for bytes in flight."""
    monkeypatch.setattr(wsgi_input, "GRACE", 0.0)


def server_input(kind: str, sock: socket.socket, declared: int) -> tuple[Any, dict[str, Any]]:
    """The server's ``wsgi.input`` over ``sock``, and the environ keys it comes with."""
    if kind == "gunicorn":
        from gunicorn.http.body import Body, LengthReader
        from gunicorn.http.unreader import SocketUnreader

        return Body(LengthReader(SocketUnreader(sock), declared)), {"gunicorn.socket": sock}
    return sock.makefile("rb"), {}


def app_reads(tee: InputTee, steps: list[tuple[str, int]], total: int) -> Iterator[bytes]:
    """The app's reads after the grouping function, in ``steps`` (cycled), to the end."""
    got = 0
    at = 0
    while got < total:
        method, size = steps[at % len(steps)]
        at += 1
        data = tee.read(size) if method == "read" else tee.readline(size)
        got += len(data)
        yield data


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(["socket-reader", "gunicorn"]),
       body=st.binary(min_size=1, max_size=300).map(lambda b: b.replace(b"\n", b"x") + b"\n"
                                                   if len(b) % 3 == 0 else b),
       arrived=st.integers(0, 320), early=st.integers(0, 320), limit=st.integers(1, 400),
       steps=st.lists(st.tuples(st.sampled_from(["read", "readline"]),
                                st.integers(-1, 70)), min_size=1, max_size=6))
@example(kind="socket-reader", body=b"abcdef", arrived=3, early=0, limit=100,
         steps=[("read", 6)])  # the whole read after a copy ended short
@example(kind="gunicorn", body=b"abcdef", arrived=3, early=0, limit=100,
         steps=[("read", -1)])
def test_grouping_reads_what_arrived_and_the_app_the_whole_body(
        kind: str, body: bytes, arrived: int, early: int, limit: int,
        steps: list[tuple[str, int]]) -> None:
    arrived = min(arrived, len(body))
    # The app may read part before it answers: no more than has arrived (gunicorn's own
    # reads wait for up to 1 KiB more, so none there).
    early = 0 if kind == "gunicorn" else min(early, arrived)
    steps = [(method, size if size else 1) for method, size in steps]
    server, client = socket.socketpair()
    try:
        client.sendall(body[:arrived])
        stream, extra = server_input(kind, server, len(body))
        record = BodyRecord(limit, len(body))
        tee = InputTee(stream, record)
        environ = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(len(body)),
                   "CONTENT_TYPE": "application/octet-stream", "wsgi.input": tee, **extra}
        before = in_thread(lambda: tee.read(early)) if early else b""
        request_environ = dict(environ)
        replay_input(tee, request_environ)
        grouping_read = in_thread(lambda: webob.Request(request_environ).body)
        assert grouping_read == body[:min(arrived, limit)]
        client.sendall(body[arrived:])
        after = b"".join(in_thread(lambda: list(app_reads(tee, steps, len(body) - early))))
        assert before + after == body
        tee.record_rest(environ, 0.0)  # the response is out: nothing is left to record
        assert record.content() == body[:limit]
        assert (record.size, record.eof, record.incomplete) == (len(body), True, False)
    finally:
        server.close()
        client.close()


@pytest.mark.parametrize("kind", ["socket-reader", "gunicorn"])
def test_body_the_app_never_reads_is_logged_as_far_as_it_arrived(kind: str) -> None:
    """The grouping function took what had arrived; more arrives before the response is
    out, and the app never reads: the log has both parts, in order, once, and says the
    body is incomplete."""
    server, client = socket.socketpair()
    try:
        client.sendall(b"abc")
        stream, extra = server_input(kind, server, 100)
        record = BodyRecord(1000, 100)
        tee = InputTee(stream, record)
        environ = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "100", "wsgi.input": tee,
                   **extra}
        request_environ = dict(environ)
        replay_input(tee, request_environ)
        assert in_thread(lambda: webob.Request(request_environ).body) == b"abc"
        client.sendall(b"def")
        in_thread(lambda: tee.record_rest(environ, 0.0))
        assert (record.content(), record.incomplete) == (b"abcdef", True)
    finally:
        server.close()
        client.close()
