"""The grouping function's copy of a body the app has not read yet, on a live connection
(readme_metrics.capture.wsgi_replay.replay_input): it reads what has arrived, never by a
read that waits for the client; the app, reading after it, gets every byte of the body
in order, and the record has each byte once.

Real sockets (a socket pair) under the readers the servers hand the app: a buffered
reader over the socket (werkzeug's server, wsgiref, runserver), whose bytes the copy
consumes and hands on to the app, and gunicorn's body reader, whose bytes are copied and
left in place. tests/test_slow_client.py checks the same under the servers themselves.
"""

from __future__ import annotations

import contextlib
import gc
import socket
import weakref
from typing import Any, Iterable, Iterator

import pytest
import webob
from hypothesis import example, given, settings
from hypothesis import strategies as st

from readme_metrics.capture import wsgi_input
from readme_metrics.capture.body import BodyRecord
from readme_metrics.capture.wsgi_input import InputTee
from readme_metrics.capture.wsgi_replay import replay_input
from tests.support.capture_wrap import wrap_fixture  # noqa: F401 - the ``wrap`` fixture
from tests.support.fake_api import Collector
from tests.support.minimal_server import call
from tests.support.wsgi import wsgi_environ
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


@contextlib.contextmanager
def arrived_part(kind: str, body: bytes, arrived: int, limit: int
                 ) -> Iterator[tuple[socket.socket, Any, dict[str, Any], BodyRecord]]:
    """A connection whose client has sent ``body[:arrived]``: the client, the server's
    input over the connection, the environ keys that come with it, a record for the body."""
    server, client = socket.socketpair()
    try:
        client.sendall(body[:arrived])
        stream, extra = server_input(kind, server, len(body))
        yield client, stream, extra, BodyRecord(limit, len(body))
    finally:
        server.close()
        client.close()


def app_reads(tee: Any, steps: list[tuple[str, int]], total: int) -> Iterator[bytes]:
    """The app's reads after the grouping function, in ``steps`` (cycled; a size 0 is
    read as 1), to the end."""
    got = 0
    at = 0
    while got < total:
        method, size = steps[at % len(steps)]
        size = size or 1
        at += 1
        data = tee.read(size) if method == "read" else tee.readline(size)
        if not data:
            return  # the body ended early: the caller's check tells
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
    with arrived_part(kind, body, arrived, limit) as (client, stream, extra, record):
        tee = InputTee(stream, record)
        environ = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(len(body)),
                   "CONTENT_TYPE": "application/octet-stream", "wsgi.input": tee, **extra}
        before = in_thread(lambda: tee.read(early)) if early else b""
        request_environ = dict(environ)
        replay_input(tee, request_environ, environ)
        grouping_read = in_thread(lambda: webob.Request(request_environ).body)
        assert grouping_read == body[:min(arrived, limit)]
        client.sendall(body[arrived:])
        after = b"".join(in_thread(lambda: list(app_reads(tee, steps, len(body) - early))))
        assert before + after == body
        tee.record_rest(environ, 0.0)  # the response is out: nothing is left to record
        assert record.content() == body[:limit]
        assert (record.size, record.eof, record.incomplete) == (len(body), True, False)


@pytest.mark.parametrize("kind", ["socket-reader", "gunicorn"])
def test_body_the_app_never_reads_is_logged_as_far_as_it_arrived(kind: str) -> None:
    """The grouping function took what had arrived; more arrives before the response is
    out, and the app never reads: the log has both parts, in order, once, and says the
    body is incomplete."""
    body = b"abcdef".ljust(100, b"x")
    with arrived_part(kind, body, 3, 1000) as (client, stream, extra, record):
        tee = InputTee(stream, record)
        environ = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "100", "wsgi.input": tee,
                   **extra}
        request_environ = dict(environ)
        replay_input(tee, request_environ, environ)
        assert in_thread(lambda: webob.Request(request_environ).body) == b"abc"
        client.sendall(b"def")
        in_thread(lambda: tee.record_rest(environ, 0.0))
        assert (record.content(), record.incomplete) == (b"abcdef", True)


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(["socket-reader", "gunicorn"]),
       body=st.binary(min_size=1, max_size=300).map(lambda b: b.replace(b"\n", b"x") + b"\n"
                                                   if len(b) % 3 == 0 else b),
       arrived=st.integers(0, 320), limit=st.integers(1, 400),
       steps=st.lists(st.tuples(st.sampled_from(["read", "readline"]),
                                st.integers(-1, 70)), min_size=1, max_size=6))
@example(kind="socket-reader", body=b"abcdef", arrived=3, limit=100, steps=[("read", -1)])
def test_django_stream_read_on_after_its_rest_was_recorded(
        kind: str, body: bytes, arrived: int, limit: int,
        steps: list[tuple[str, int]]) -> None:
    """Django's request stream (StreamTee): what has arrived is recorded before the answer
    (read off the stream, or copied under gunicorn) and the grouping function may read
    it; a streamed answer then reads the body as it goes and gets every byte, in order,
    and the record has each byte once, whole."""
    from django.core.handlers.wsgi import LimitedStream

    from readme_metrics.capture.stream_tee import StreamTee

    arrived = min(arrived, len(body))
    with arrived_part(kind, body, arrived, limit) as (client, stream, extra, record):
        tee = StreamTee(LimitedStream(stream, len(body)), record)  # Django's request._stream
        in_thread(lambda: tee.read_rest({"CONTENT_LENGTH": str(len(body)), **extra}, 0.0))
        assert record.content() == body[:min(arrived, limit)]
        client.sendall(body[arrived:])
        read = b"".join(in_thread(lambda: list(app_reads(tee, steps, len(body)))))
        assert read == body
        assert record.content() == body[:limit]
        assert (record.size, record.eof, record.incomplete) == (len(body), True, False)


@pytest.fixture
def no_cyclic_gc() -> Iterator[None]:
    """Only reference counting frees objects during the test (what a cycle holds stays)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.parametrize("shape", ["list", "iterator"])
@pytest.mark.parametrize("grouping_reads", [False, True])
def test_the_servers_input_is_freed_with_the_exchange(
        wrap: Any, collector: Collector, no_cyclic_gc: None, shape: str,
        grouping_reads: bool) -> None:
    """Once the server has dropped the exchange, nothing of the capture keeps its
    ``wsgi.input`` alive (granian decides from that object's life whether it can keep the
    connection). The grouping function's copy of the body referred to the environ it sat
    in: a cycle, freed only by the cyclic GC, and it held the server's input."""
    body = b'{"a": 1}'

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        environ["wsgi.input"].read(3)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"] if shape == "list" else iter([b"ok"])

    def grouping(request: Any) -> dict[str, str]:
        if grouping_reads:
            assert request.body == body
        return {"api_key": "k"}

    middleware = wrap(app, grouping_function=grouping)
    environ = wsgi_environ("POST", "/", {"Content-Type": "application/json"}, body)
    server_input = weakref.ref(environ["wsgi.input"])
    assert call(middleware, environ).body == b"ok"
    del environ
    assert server_input() is None
    middleware.flush(5.0)
    assert len(collector.wait_for_logs(1)) == 1
