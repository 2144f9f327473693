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
import uuid
from pathlib import Path

import pytest

from readme_metrics.capture import discard_tap
from readme_metrics.capture.body import BodyRecord
from readme_metrics.capture.wsgi_input import InputTee
from tests.support.fake_api import Collector, free_port
from tests.test_e2e_servers import SERVERS as E2E_SERVERS
from tests.test_e2e_servers import django_env, serve
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
    assert request["bodySize"] == 6
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
