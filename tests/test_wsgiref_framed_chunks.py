"""wsgiref: a chunked request body the app read part of is logged as the app sees it.

wsgiref's server does not de-chunk: the app's ``wsgi.input`` is the connection's reader,
and a ``read(5)`` of ``8\\r\\n01234567\\r\\n...`` gets ``8\\r\\n01``, the framing as sent.
The unread rest was then copied and read out of chunks from where the app stopped, in the
middle of a chunk: ``234567\\r\\n`` taken for a size line (0x234567), everything after it,
up to and including the next request on the connection, taken as that chunk's data. The
log read ``8\\r\\n018\\r\\n89abcdef\\r\\n0\\r\\n\\r\\nGET /next ...``, "incomplete" (servers8's
finding). Now the rest is copied framed, from where the app's framed bytes stop, to the
body's end (its last chunk, trailers and empty line): the log is the framed body, as the
app reads it under wsgiref, and nothing past it. Nothing is consumed.
"""

from __future__ import annotations

import socket
from typing import Any, Callable

import pytest

from readme_metrics.capture.body import BodyRecord
from readme_metrics.capture.chunked import framing_end
from readme_metrics.capture.wsgi_input import InputTee
from tests.support.capture_wrap import only_log, wrap_fixture  # noqa: F401
from tests.support.fake_api import Collector
from tests.support.raw_requests import answer_to
from tests.support.wsgi_servers import served

BODY = b"8\r\n01234567\r\n8\r\n89abcdef\r\n0\r\n\r\n"
TRAILED = b"3\r\nabc\r\n0\r\nX-A: 1\r\nX-B: 2\r\n\r\n"
NEXT = b"GET /next HTTP/1.1\r\nAuthorization: Bearer secret\r\n\r\n"
ENVIRON = {"SERVER_SOFTWARE": "WSGIServer/0.2", "HTTP_TRANSFER_ENCODING": "chunked"}


def _read_n(n: int) -> Callable[[Any], bytes]:
    return lambda stream: stream.read(n)


def _readlines(count: int) -> Callable[[Any], bytes]:
    return lambda stream: b"".join(stream.readline() for _ in range(count))


def _iterated(count: int) -> Callable[[Any], bytes]:
    def read(stream: Any) -> bytes:
        lines = iter(stream)
        return b"".join(next(lines) for _ in range(count))
    return read


READS = {
    "after-the-size-line": _read_n(3),
    "inside-a-chunk": _read_n(5),
    "at-a-chunk-boundary": _read_n(13),
    "inside-a-size-line": _read_n(15),
    "inside-the-second-chunk": _read_n(20),
    "inside-the-last-chunk-line": _read_n(28),
    "the-whole-body": _read_n(len(BODY)),
    "readline": _readlines(1),
    "readline-twice": _readlines(2),
    "readline-three-times": _readlines(3),
    "iterated": _iterated(1),
    "iterated-twice": _iterated(2),
}


@pytest.mark.parametrize("how", list(READS))
def test_a_chunked_body_read_in_part_is_logged_framed_and_whole(how: str) -> None:
    """Wherever the app's read stops in the framing, the log is the body as sent, framed,
    complete, and holds none of the next request; the server's reader keeps the rest."""
    server, client = socket.socketpair()
    try:
        reader = server.makefile("rb")
        record = BodyRecord(100, None, chunked=True)
        tee = InputTee(reader, record, False, clamp=True, left=None)
        client.sendall(BODY + NEXT)
        got = READS[how](tee)
        assert BODY.startswith(got) and got
        tee.record_rest(ENVIRON, 0.0)
        assert (record.content(), record.size, record.eof, record.incomplete) == (
            BODY, len(BODY), True, False)
        # Copied, not consumed: the server reads on from where the app stopped.
        assert reader.read1(1000) == (BODY + NEXT)[len(got):]
    finally:
        server.close()
        client.close()


@pytest.mark.parametrize(("sent", "kept"), [
    pytest.param(b"8\r\n01234567\r\n8\r\n89", b"8\r\n01234567\r\n8\r\n89", id="in-a-chunk"),
    pytest.param(b"8\r\n01234567\r\n8", b"8\r\n01234567\r\n", id="in-a-size-line"),
    pytest.param(b"8\r\n01234567\r\n0\r\nX-T: 1\r\n", b"8\r\n01234567\r\n0\r\nX-T: 1\r\n",
                 id="in-the-trailers"),
])
def test_a_chunked_body_not_all_sent_is_logged_as_far_as_its_framing_goes(
        sent: bytes, kept: bytes) -> None:
    """The client stops sending: the log has the framing as far as it came, said
    incomplete (a size line not all there is left out)."""
    server, client = socket.socketpair()
    try:
        tee = InputTee(server.makefile("rb"), BodyRecord(100, None, chunked=True), False,
                       clamp=True, left=None)
        client.sendall(sent)
        assert tee.read(5) == b"8\r\n01"
        tee.record_rest(ENVIRON, 0.0)
        record = tee.record
        assert (record.content(), record.eof, record.incomplete) == (kept, False, True)
    finally:
        server.close()
        client.close()


@pytest.mark.parametrize(("raw", "end"), [
    (BODY, (len(BODY), True)),
    (BODY + NEXT, (len(BODY), True)),
    (TRAILED + b"GET", (len(TRAILED), True)),
    (b"3\r\nabc\r\n0\r\nGET / HTTP/1.1\r\n", (len(b"3\r\nabc\r\n0\r\n"), False)),
    (b"3\r\nabcX", (6, False)),
    (b"3\r\nab", (5, False)),
    (b"3\r\nabc\r", (6, False)),
    (b"zz\r\n", (0, False)),
    (b"", (0, False)),
])
def test_framing_end(raw: bytes, end: tuple[int, bool]) -> None:
    assert framing_end(raw) == end


def _served_once(app: Any, collector: Collector) -> tuple[bytes, dict[str, Any]]:
    """(the answer, the logged request) of BODY sent chunked to ``app`` under wsgiref's
    server, the connection closed after it."""
    with served("wsgiref", app) as port:
        answer = answer_to(port, b"POST /upload HTTP/1.1\r\nHost: api.example.com\r\n"
                                 b"Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
                                 b"Connection: close\r\n\r\n" + BODY)
        return answer, only_log(collector)["request"]["log"]["entries"][0]["request"]


def _reads_five(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    data = environ["wsgi.input"].read(5)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [data]


def test_wsgirefs_partly_read_chunked_body_is_logged_framed(
        wrap: Any, collector: Collector) -> None:
    """The same through the middleware under wsgiref's real server: the app gets the
    framing as bare, and the log has the framed body, whole."""
    answer, request = _served_once(wrap(_reads_five), collector)
    assert answer.partition(b"\r\n\r\n")[2] == b"8\r\n01"
    assert request["postData"] == {"mimeType": "text/plain", "text": BODY.decode()}
    assert request["bodySize"] == len(BODY)


@pytest.mark.parametrize("read", [5, 20, len(BODY), len(BODY + NEXT)])
def test_framed_reads_after_a_whole_copy_for_the_grouping_function_add_nothing(
        read: int) -> None:
    """The grouping function ran first (at start_response) and read the body: its copy,
    out of the chunks, is the whole body, and the log. The app's framed reads after it
    were recorded past the copy's length: ``read(20)`` logged ``0123456789abcdef89ab``
    (20 bytes, complete)."""
    server, client = socket.socketpair()
    try:
        record = BodyRecord(100, None, chunked=True)
        tee = InputTee(server.makefile("rb"), record, False, clamp=True, left=None)
        client.sendall(BODY + NEXT)
        assert tee.pull(100, ENVIRON) == b""
        assert (record.content(), record.eof) == (b"0123456789abcdef", True)
        assert tee.read(read) == (BODY + NEXT)[:read]
        tee.record_rest(ENVIRON, 0.0)
        assert (record.content(), record.size, record.eof, record.incomplete) == (
            b"0123456789abcdef", 16, True, False)
    finally:
        server.close()
        client.close()


def _starts_then_reads(environ: dict[str, Any], start_response: Callable[..., Any]
                       ) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["wsgi.input"].read(20)]


def test_a_grouping_function_reading_first_under_wsgiref(
        wrap: Any, collector: Collector) -> None:
    """The same through the middleware under wsgiref's server, the grouping function
    reading the body (it runs at start_response, before the app reads)."""
    seen: list[bytes] = []

    def grouping(request: Any) -> dict[str, str]:
        seen.append(request.environ["wsgi.input"].read(100))
        return {"api_key": "k", "label": "l", "email": "e"}

    answer, request = _served_once(wrap(_starts_then_reads, grouping_function=grouping),
                                   collector)
    assert answer.partition(b"\r\n\r\n")[2] == BODY[:20]
    assert seen == [b"0123456789abcdef"]
    assert request["postData"] == {"mimeType": "text/plain", "text": "0123456789abcdef"}
    assert request["bodySize"] == 16


def test_framed_reads_after_a_partial_copy_for_the_grouping_function_are_not_mixed_in(
        ) -> None:
    """The grouping function's copy, out of the chunks, had only part of the body (the
    rest not sent yet); the app's framed reads after it were recorded past the copy:
    ``01234564567\\r\\n8\\r\\n89abcdef...``. Where they stand in the body is not known: the
    log keeps the copy, said incomplete."""
    server, client = socket.socketpair()
    try:
        record = BodyRecord(100, None, chunked=True)
        tee = InputTee(server.makefile("rb"), record, False, clamp=True, left=None)
        client.sendall(BODY[:10])
        assert tee.pull(100, ENVIRON) == b""
        assert (record.content(), record.eof) == (b"0123456", False)
        client.sendall(BODY[10:])
        assert tee.read(20) == BODY[:20]
        tee.record_rest(ENVIRON, 0.0)
        assert (record.content(), record.size, record.eof, record.incomplete) == (
            b"0123456", 7, False, True)
        assert tee.read(len(BODY) - 20) == BODY[20:]  # the app reads on as bare
    finally:
        server.close()
        client.close()
