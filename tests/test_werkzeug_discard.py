"""werkzeug's development server: the end of the answer is not held back by the wait for
an unread body still in flight, and that body is still logged.

werkzeug writes the last chunk of a streamed answer once the app's iterable is
exhausted, then discards what the client still sends, then calls ``close()``. The wait
for a body in flight (GRACE) ran before that last chunk; now what has arrived is taken
at once and werkzeug's own discard is recorded as it reads (capture/discard_tap.py), the
rest waited for in ``close()``, after the answer's end, as under gunicorn.
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from readme_metrics.capture import discard_tap, wsgi_response
from readme_metrics.capture.body import BodyRecord
from readme_metrics.capture.wsgi_input import InputTee
from tests.support.fake_api import Collector, free_port
from tests.support.wsgi_servers import served
from tests.test_e2e_servers import SERVERS as E2E_SERVERS
from tests.test_e2e_servers import django_env, serve
from tests.test_hostile8_findings import BODIES, _digest, _logged_body, _middleware, _reads_in_close
from tests.test_slow_client import (
    SAFETY,
    SINGLE,
    complete,
    docs_collector,  # noqa: F401 - fixture
    logged_body,
    read_answer,
    request_bytes,
)


@pytest.mark.e2e
def test_a_streamed_answer_ends_before_the_wait_for_a_body_in_flight(
        docs_collector: Collector, tmp_path: Path) -> None:  # noqa: F811
    """GRACE is 60 s in the server (threaded, as ``flask run``: HTTP/1.1, a chunked
    answer): the client gets the end of its answer at once, then sends the rest of its
    body, which is logged (read by werkzeug's discard when it comes within werkzeug's
    10 ms, or in close() after). The client shuts its side: werkzeug's discard, once it
    has found bytes, reads to the client's end (bare too), and only then closes the
    response, which finishes the log."""
    port = free_port()
    trace = uuid.uuid4().hex
    env = django_env(docs_collector, E2E_BODY_GRACE="60")
    with serve(E2E_SERVERS["werkzeug"](port, "tests.support.e2e_apps:plain_app"), env,
               tmp_path, port), socket.create_connection(("127.0.0.1", port),
                                                         timeout=SAFETY) as client:
        client.sendall(request_bytes(port, 6, b"abc", trace, "/noread-stream"))
        answer = read_answer(client, SAFETY)
        assert complete(answer), f"the answer did not end before the body's rest: {answer!r}"
        assert answer.endswith(b"\r\n2\r\nok\r\n0\r\n\r\n")
        client.sendall(b"def")
        client.shutdown(socket.SHUT_WR)
        request = logged_body(docs_collector, trace)
    assert request["bodySize"] == 6
    assert request["postData"] == {"mimeType": "application/json", "text": "abcdef"}


@pytest.mark.e2e
def test_an_answer_ended_by_the_close_is_not_held_back(
        docs_collector: Collector, tmp_path: Path) -> None:  # noqa: F811
    """Not threaded (``app.run(threaded=False)``), werkzeug answers HTTP/1.0: an answer
    without a length ends when the connection closes, after the response's close(). With
    GRACE 60 s the client still gets it at once, and the log has what had arrived."""
    port = free_port()
    trace = uuid.uuid4().hex
    env = django_env(docs_collector, E2E_BODY_GRACE="60")
    with serve(SINGLE["werkzeug"](port, "tests.support.e2e_apps:plain_app"), env, tmp_path,
               port), socket.create_connection(("127.0.0.1", port), timeout=SAFETY) as client:
        client.sendall(request_bytes(port, 6, b"abc", trace, "/noread-stream"))
        client.settimeout(SAFETY)
        answer = b""
        with contextlib.suppress(socket.timeout):
            while chunk := client.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.0 200") and answer.endswith(b"\r\n\r\nok"), answer
        request = logged_body(docs_collector, trace)
    assert request["bodySize"] == 3  # SPEC 4: the bytes received (of 6 declared)
    assert request["postData"] == {"mimeType": "application/json", "text": "abc",
                                   "comment": "incomplete: 3 of 6 bytes could be read "
                                              "without waiting"}


@pytest.mark.parametrize("limit", [100, 4], ids=["kept-whole", "truncated"])
def test_werkzeugs_discard_is_recorded_as_it_reads(limit: int) -> None:
    """werkzeug's part played over a socket pair: its connection reader as wsgi.input, the
    app reads 2 bytes, the iterable ends (record_discarded), werkzeug reads the rest off
    the connection to throw it away (and the next request's bytes with it), then close()
    (record_rest). The body is logged once, never past its length, and the socket is put
    back."""
    server, client = socket.socketpair()
    try:
        reader = server.makefile("rb")
        tee = InputTee(reader, BodyRecord(limit, 10))
        environ = {"werkzeug.socket": server}
        client.sendall(b"0123")
        assert tee.read(2) == b"01"
        assert tee.record_discarded(environ)
        assert isinstance(reader.raw._sock, discard_tap.Tap)  # type: ignore[attr-defined]
        assert tee.record.size == 4  # what had arrived, taken without waiting
        client.sendall(b"456789" + b"NEXT")
        client.shutdown(socket.SHUT_WR)
        assert reader.read(10_000_000) == b"456789NEXT"  # werkzeug's discard
        tee.record_rest(environ, 0.0)
        assert reader.raw._sock is server  # type: ignore[attr-defined]
        record = tee.record
        assert (record.content(), record.size, record.eof) == (b"0123456789"[:limit], 10, True)
        assert not record.incomplete
    finally:
        server.close()
        client.close()


@pytest.mark.parametrize("limit", [100, 4], ids=["kept-whole", "truncated"])
def test_werkzeugs_discard_of_a_chunked_body_is_recorded_as_it_reads(limit: int) -> None:
    """The same with werkzeug's dechunking reader over the connection's: a chunked body the
    app never read, its first chunk there as the iterable ends (copied, no wait), the
    rest read framed by werkzeug's discard with the next request: the log has the body's
    data, once, and nothing past its last chunk."""
    from werkzeug.serving import DechunkedInput

    server, client = socket.socketpair()
    try:
        reader = server.makefile("rb")
        record = BodyRecord(limit, None, chunked=True)
        tee = InputTee(DechunkedInput(reader), record, terminated=True, clamp=False,
                       left=None)
        environ = {"werkzeug.socket": server}
        client.sendall(b"4\r\n0123\r\n")
        assert tee.record_discarded(environ)
        assert isinstance(reader.raw._sock, discard_tap.Tap)  # type: ignore[attr-defined]
        assert record.content() == b"0123"[:limit]  # what had arrived, taken without waiting
        client.sendall(b"6\r\n456789\r\n0\r\n\r\nGET /next HTTP/1.1\r\n\r\n")
        client.shutdown(socket.SHUT_WR)
        assert reader.read(10_000_000).endswith(b"GET /next HTTP/1.1\r\n\r\n")  # the discard
        tee.record_rest(environ, 0.0)
        assert reader.raw._sock is server  # type: ignore[attr-defined]
        # Truncated: as a chunked body copied, of unknown length past what is kept.
        assert (record.content(), record.size, record.eof) == (
            (b"0123456789", 10, True) if limit > 10 else (b"0123", 4, False))
        assert not record.incomplete
    finally:
        server.close()
        client.close()


@pytest.mark.parametrize("case", ["chunked", "no-werkzeug", "not-a-socket-reader", "all-read"])
def test_no_tap_where_werkzeugs_discard_is_not_the_bodys(case: str) -> None:
    server, client = socket.socketpair()
    try:
        stream = io.BytesIO(b"0123") if case == "not-a-socket-reader" else server.makefile("rb")
        tee = InputTee(stream, BodyRecord(100, None if case == "chunked" else 4),
                       clamp=case != "chunked")
        if case == "chunked":
            tee.record.chunked = True
        client.sendall(b"0123")
        if case == "all-read":
            assert tee.read(4) == b"0123"
        environ = {} if case == "no-werkzeug" else {"werkzeug.socket": server}
        assert not tee.record_discarded(environ)
        raw = getattr(stream, "raw", None)
        assert not isinstance(getattr(raw, "_sock", None), discard_tap.Tap)
    finally:
        server.close()
        client.close()


def _chunked_after_the_answer(port: int, body: bytes, read: list[str]) -> float:
    """POST a chunked body's head; 0.3 s after the answer is in (werkzeug's 10 ms discard
    has found nothing), the chunks. The connection stays open until the app's close() has
    read (10 s at most): how long that took, from the chunks."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/octet-stream\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        answer = b""
        while b"accepted" not in answer:
            data = sock.recv(65536)
            assert data, answer
            answer += data
        time.sleep(0.3)
        sent = time.monotonic()
        sock.sendall(b"".join(b"%x\r\n%s\r\n" % (len(body[at:at + 700]), body[at:at + 700])
                              for at in range(0, len(body), 700)) + b"0\r\n\r\n")
        while not read and time.monotonic() < sent + 10:
            time.sleep(0.005)
        return time.monotonic() - sent


@pytest.mark.parametrize("kind", ["werkzeug", "werkzeug-unthreaded"])
@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_a_chunked_body_sent_after_the_answer_is_the_apps_in_close(
        collector: Collector, background: bool, kind: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A chunked body whose chunks come after the answer, on a connection the client keeps
    open, read by the app's close(). Bare, werkzeug's discard finds nothing within its
    10 ms and the close() reads the body as it comes. Wrapped, the wait for a body in
    flight (GRACE: 50 ms, here 2 s, so that chunks 0.3 s late fall in it on a loaded
    machine too) ran before werkzeug's discard, which then found the chunks and read on
    until the client hung up: the app's close() got OSError 'Invalid chunk header', once
    the client was gone (chunks 10-60 ms late with the real GRACE)."""
    monkeypatch.setattr(wsgi_response, "GRACE", 2.0)
    body = BODIES["under-the-limit"]
    read: dict[str, list[str]] = {"bare": [], "wrapped": []}
    took = {}
    with served(kind, _reads_in_close(read["bare"])) as port:
        took["bare"] = _chunked_after_the_answer(port, body, read["bare"])
    middleware = _middleware(_reads_in_close(read["wrapped"]), collector, background)
    with served(kind, middleware) as port:
        took["wrapped"] = _chunked_after_the_answer(port, body, read["wrapped"])
    logged = _logged_body(collector, middleware)
    middleware.close()
    assert read["bare"] == [_digest(body)]
    assert read["wrapped"] == read["bare"]
    assert took["wrapped"] < 5, took
    assert logged == (len(body), body)


def _reads_on_in_close(read: list[str]) -> Any:
    """An app that reads the first 10 bytes of the body in its call and the rest in its
    iterable's close()."""
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        stream = environ["wsgi.input"]
        first = stream.read(10)

        class Answer:
            def __iter__(self) -> Any:
                return iter([b"accepted"])

            def close(self) -> None:
                read.append(_digest(first + stream.read()))

        start_response("202 Accepted", [("Content-Type", "text/plain")])
        return Answer()

    return app


@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_a_chunked_body_the_app_reads_on_in_close_is_logged_whole(
        collector: Collector, background: bool) -> None:
    """A chunked body sent with its head (in werkzeug's buffer, which its discard leaves
    alone): the app reads 10 bytes, answers, and reads the rest in close(), as bare. The
    log was finished as the iterable ended, before that read: 'incomplete: 10 of a body
    of unknown length'."""
    body = BODIES["under-the-limit"]
    read: list[str] = []
    middleware = _middleware(_reads_on_in_close(read), collector, background)
    with served("werkzeug", middleware) as port, socket.create_connection(
            ("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/octet-stream\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n"
                     + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        deadline = time.monotonic() + 10
        while not read and time.monotonic() < deadline:
            time.sleep(0.005)
    assert read == [_digest(body)]
    assert _logged_body(collector, middleware) == (len(body), body)
    middleware.close()


class _InTheConnection:
    """The order that puts a body in werkzeug's connection, not in its reader, for the
    app's whole call, whatever the machine's load: the client sends the head; werkzeug
    reads it and calls in (the body not sent yet: its reader holds none of it); the app
    (wrapped, the middleware) is called once the client has sent the body (on loopback,
    in the connection once ``sendall`` returns). Before, the body went 50 ms after the
    head and the app answered 0.2 s after its call: a server thread that read the head
    later than 50 ms (a loaded machine) read the body into its reader with it, and the
    app's close() read it there, bare or wrapped as the run's timing fell (the wrapped
    app's close() read 2048 bytes, the bare one's 0, in a whole-suite run)."""

    def __init__(self) -> None:
        self.called = threading.Event()
        self.sent = threading.Event()

    def serve(self, app: Any, body: bytes, read: list[str], chunked: bool) -> None:
        """``app`` served by werkzeug, called once the body is in the connection (the
        middleware's whole call too, wrapped): the head; once werkzeug calls, the body
        (chunked, or by a Content-Length)."""
        def after_the_body(environ: dict[str, Any], start_response: Any) -> Any:
            self.called.set()
            self.sent.wait(10)
            return app(environ, start_response)

        with served("werkzeug", after_the_body) as port, socket.create_connection(
                ("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: application/octet-stream\r\n"
                         + (b"Transfer-Encoding: chunked\r\n\r\n" if chunked else
                            b"Content-Length: %d\r\n\r\n" % len(body)))
            assert self.called.wait(10), "the app was not called"
            sock.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if chunked else body)
            self.sent.set()
            answer = b""
            while not answer.endswith(b"\r\n0\r\n\r\n"):  # the whole (chunked) answer: a
                data = sock.recv(65536)  # close with bytes of it unread resets the connection
                assert data, answer
                answer += data
            deadline = time.monotonic() + 0.5  # kept open: bare, werkzeug's discard reads on
            while not read and time.monotonic() < deadline:
                time.sleep(0.005)
        deadline = time.monotonic() + 10
        while not read and time.monotonic() < deadline:
            time.sleep(0.005)


@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_a_chunked_body_in_the_connection_is_discarded_as_bare(
        collector: Collector, background: bool) -> None:
    """The chunks are in the connection (not yet in werkzeug's reader) as the iterable
    ends (:class:`_InTheConnection`): bare, werkzeug's discard finds them and throws
    them away, and the app's close() read raises (its chunk header is gone), once the
    client hangs up (0.5 s). Wrapped the same, and the log has the body. Before, wrapped,
    copying what had arrived peeked at werkzeug's reader, which read the connection into
    its buffer: the discard found nothing, and the app's close() read the body bare
    would not get."""
    body = BODIES["under-the-limit"]
    read: dict[str, list[str]] = {"bare": [], "wrapped": []}
    _InTheConnection().serve(_reads_in_close(read["bare"]), body, read["bare"], True)
    middleware = _middleware(_reads_in_close(read["wrapped"]), collector, background)
    _InTheConnection().serve(middleware, body, read["wrapped"], True)
    logged = _logged_body(collector, middleware)
    middleware.close()
    assert read["bare"] == ["OSError: Invalid chunk header"]
    assert read["wrapped"] == read["bare"]
    assert logged == (len(body), body)


@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_a_body_with_a_length_in_the_connection_is_discarded_as_bare(
        collector: Collector, background: bool) -> None:
    """test_a_chunked_body_in_the_connection_is_discarded_as_bare with a Content-Length:
    the body reaches the connection after werkzeug read the head, before the app
    answers. Bare, werkzeug's discard reads it and on until the client hangs up (0.5 s),
    and the app's close() reads b"". Wrapped the same (SPEC: the app sees what it sees
    bare), and the log has the body, as werkzeug's discard read it (discard_tap). Before,
    wrapped, what had arrived was read off the connection for the log as the iterable
    ended (kept for the app): the discard found nothing, and the app's close() read the
    whole body at once."""
    body = BODIES["under-the-limit"]
    read: dict[str, list[str]] = {"bare": [], "wrapped": []}
    _InTheConnection().serve(_reads_in_close(read["bare"]), body, read["bare"], False)
    middleware = _middleware(_reads_in_close(read["wrapped"]), collector, background)
    _InTheConnection().serve(middleware, body, read["wrapped"], False)
    logged = _logged_body(collector, middleware)
    middleware.close()
    assert read["bare"] == [_digest(b"")]
    assert read["wrapped"] == read["bare"]
    assert logged == (len(body), body)


def test_werkzeugs_chunked_body_read_in_part_is_recorded_whole() -> None:
    """servers8: the app read 5 bytes of a chunked body's first 8-byte chunk, the rest of
    the body all there in the connection. werkzeug's dechunking reader is in that chunk
    (3 bytes of it left): the rest is copied from there, as it is for a body the app
    never read, not left to werkzeug's discard, which may run after the log is done.
    Before, the log had ``01234`` and "incomplete: 5 of a body of unknown length"."""
    from werkzeug.serving import DechunkedInput

    server, client = socket.socketpair()
    try:
        reader = server.makefile("rb")
        record = BodyRecord(100, None, chunked=True)
        tee = InputTee(DechunkedInput(reader), record, terminated=True, clamp=False,
                       left=None)
        client.sendall(b"8\r\n01234567\r\n8\r\n89abcdef\r\n0\r\n\r\nGET /next HTTP/1.1\r\n\r\n")
        assert tee.read(5) == b"01234"
        tee.record_rest({"werkzeug.socket": server}, 0.0)
        assert (record.content(), record.size, record.eof) == (b"0123456789abcdef", 16, True)
        assert not record.incomplete
        # Copied, not consumed: the server's reader still has the rest and the next request.
        assert reader.read1(1000).startswith(b"567\r\n8\r\n89abcdef\r\n0\r\n\r\nGET /next")
    finally:
        server.close()
        client.close()
