"""The direct route's answer reader (:mod:`readme_metrics.delivery.reader`) against
``http.client``, which read the answers before it.

The reference is what the direct route did with ``http.client``: its response class
(:class:`~readme_metrics.delivery.answer.FinalResponse`, which passes over every interim
answer), the body read up to ``MAX_CONTENT + 1`` bytes, a short one an
``IncompleteRead``, the connection kept only after an answer read in full that does not
close it. Both read the same bytes, cut into the same TCP segments, from a socket
stand-in: random valid answers must give the same status, reason, headers (names, values
and order), body and reusability; broken ones the same exception.
"""

from __future__ import annotations

import http.client
import io
from collections import deque
from typing import Any, Union

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from readme_metrics.delivery import reader
from readme_metrics.delivery.answer import MAX_CONTENT, FinalResponse
from readme_metrics.delivery.errors import requests_error


class Segments:
    """A socket stand-in whose ``recv`` gives ``pieces`` one at a time (cut to the size
    asked), then the end of the stream."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = deque(piece for piece in pieces if piece)

    def recv(self, size: int) -> bytes:
        if not self.pieces:
            return b""
        piece = self.pieces.popleft()
        if len(piece) > size:
            self.pieces.appendleft(piece[size:])
            piece = piece[:size]
        return piece

    def makefile(self, mode: str) -> io.BufferedReader:
        assert mode == "rb"
        return _Buffered(_Raw(self))

    def left(self) -> bool:
        return bool(self.pieces)


class _Raw(io.RawIOBase):
    def __init__(self, source: Segments) -> None:
        self.source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.source.recv(len(buffer))
        buffer[:len(data)] = data
        return len(data)


class _Buffered(io.BufferedReader):
    """Remembers, as http.client closes it, whether bytes beyond the answer came."""

    left = False

    def close(self) -> None:
        if not self.closed:
            self.left = bool(self.peek(1))
        super().close()


Outcome = Union[tuple[str, int, str, list[tuple[str, str]], list[tuple[Any, ...]], bytes, bool],
                tuple[str, str]]


def by_http_client(pieces: list[bytes]) -> Outcome:
    """What the direct route made of the answer with http.client (its reader until then)."""
    source = Segments(pieces)
    response = FinalResponse(source, method="POST")  # type: ignore[arg-type]
    buffered = response.fp
    try:
        response.begin()
        lengths = response.msg.get_all("Content-Length") or []
        if len(set(lengths)) > 1:
            raise http.client.HTTPException(f"conflicting Content-Length: {lengths}")
        content = response.read(MAX_CONTENT + 1)
        if len(content) <= MAX_CONTENT and response.length:
            raise http.client.IncompleteRead(content, response.length)
    except Exception as exc:  # noqa: BLE001 - the class is the outcome
        return _failed(exc)
    whole = response.isclosed() and len(content) <= MAX_CONTENT
    response.close()
    # Bytes nobody asked for after an answer: the reader never reuses such a line
    # (http.client would have dropped those it had buffered and read on).
    after = buffered.left or source.left()  # type: ignore[union-attr]
    # (FinalResponse, as the reader, takes a 101 Switching Protocols for will_close.)
    reusable = whole and not response.will_close and not after
    return ("answer", response.status, response.reason, list(response.msg.items()),
            lookups(response.msg), content[:MAX_CONTENT], reusable)


def by_reader(pieces: list[bytes]) -> Outcome:
    source = Segments(pieces)
    try:
        answer, reusable = reader.read_answer(reader.Stream(source), MAX_CONTENT)
    except Exception as exc:  # noqa: BLE001 - the class is the outcome
        return _failed(exc)
    # Bytes after the answer the reader did not receive are still in the socket: the
    # direct route's idle check finds them before the next POST and does not reuse it.
    assert type(answer.content) is bytes  # never the Stream's bytearray (equal to bytes)
    return ("answer", answer.status_code, answer.reason, list(answer.headers.items()),
            lookups(answer.headers), answer.content, reusable and not source.left())


#: Names looked up in every answer's headers, in the cases a caller may write them.
_LOOKED_UP = ["Content-Length", "content-length", "TRANSFER-ENCODING", "Connection",
              "Keep-Alive", "proxy-connection", "Set-Cookie", "Set-Cookie2", "Retry-After",
              "retry-after", "Content-Type", "X-Request-Id", "Date", "Absent", ""]


def lookups(headers: Any) -> list[tuple[Any, ...]]:
    """What the delivery asks of an answer's headers (framing, keep-alive, cookies,
    Retry-After, charset), each way it may ask: the reader's Fields must answer as
    http.client's HTTPMessage does."""
    return [(headers.get(name), headers.get(name, "-"), headers[name],
             headers.get_all(name), headers.get_all(name, []), name in headers)
            for name in _LOOKED_UP] + [(list(headers), headers.keys(), headers.values(),
                                        len(headers))]


def _failed(exc: Exception) -> tuple[str, str]:
    # The exception's class, and the requests exception the policy gets for it.
    return (type(exc).__name__, type(requests_error(exc, False, 1.0)).__name__)


def cut(data: bytes, points: list[int]) -> list[bytes]:
    """``data`` in TCP segments, cut at ``points``."""
    edges = sorted({point % (len(data) + 1) for point in points} | {0, len(data)})
    return [data[start:end] for start, end in zip(edges, edges[1:])]


# -- random answers ------------------------------------------------------------------------

_NAMES = ["Content-Type", "Retry-After", "Set-Cookie", "X-Request-Id", "Date", "Server",
          "Vary", "Connection", "Keep-Alive", "Content-Length", "Transfer-Encoding"]
_EOL = st.sampled_from([b"\r\n", b"\n"])
_SPACE = st.sampled_from([b"", b" ", b"  ", b"\t", b" \t"])
_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                              blacklist_characters="\x7f"), max_size=30).map(
    lambda text: text.encode("latin-1").strip())


@st.composite
def names(draw: st.DrawFn, choices: list[str] = _NAMES) -> bytes:
    name = draw(st.sampled_from(choices))
    return "".join(c.upper() if draw(st.booleans()) else c.lower()
                   for c in name).encode("ascii")


@st.composite
def field(draw: st.DrawFn, name: bytes) -> bytes:
    """One header line (folded over more lines at times), odd whitespace around."""
    value = draw(_TEXT)
    line = name + b":" + draw(_SPACE) + value + draw(_SPACE)
    for _ in range(draw(st.integers(0, 2)) if draw(st.booleans()) else 0):
        line += draw(_EOL) + draw(st.sampled_from([b" ", b"\t", b"  "])) + draw(_TEXT)
    return line + draw(_EOL)


@st.composite
def status_line(draw: st.DrawFn, status: int, version: bytes) -> bytes:
    reason = draw(_TEXT)
    gap = draw(st.sampled_from([b" ", b"  ", b"\t"]))
    return version + gap + b"%d" % status + (b" " + reason if reason else b"") + draw(_EOL)


@st.composite
def answers(draw: st.DrawFn) -> bytes:
    data = b""
    for status in draw(st.lists(st.sampled_from([100, 102, 103, 150, 199]), max_size=2)):
        data += draw(status_line(status, b"HTTP/1.1"))
        for _ in range(draw(st.integers(0, 2))):
            data += draw(field(draw(names(["Link", "X-Progress"]))))
        data += draw(_EOL)
    version = draw(st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/1.2"]))
    status = draw(st.sampled_from([101, 200, 202, 204, 304, 400, 401, 413, 429, 500, 503]))
    data += draw(status_line(status, version))
    for _ in range(draw(st.integers(0, 4))):
        data += draw(field(draw(names(_NAMES[:7]))))
    connection = draw(st.sampled_from([b"", b"close", b"keep-alive", b"Keep-Alive, Foo"]))
    if connection:
        data += draw(names(["Connection"])) + b": " + connection + b"\r\n"
    if version == b"HTTP/1.0" and draw(st.booleans()):
        data += b"Keep-Alive: timeout=5\r\n"
    size = draw(st.one_of(st.integers(0, 300), st.sampled_from(
        [MAX_CONTENT - 1, MAX_CONTENT, MAX_CONTENT + 1, MAX_CONTENT + 4000])))
    body = bytes([draw(st.integers(0, 255))]) * size
    framing = draw(st.sampled_from(["length", "chunked", "close"]))
    if framing == "length":
        data += draw(names(["Content-Length"])) + b": %d" % size + draw(_EOL) + draw(_EOL)
        data += body
    elif framing == "chunked":
        data += draw(names(["Transfer-Encoding"])) + b": chunked" + draw(_EOL) + draw(_EOL)
        edges = sorted({0, size, *draw(st.lists(st.integers(0, size), max_size=4))})
        for start, end in zip(edges, edges[1:]):
            extension = draw(st.sampled_from([b"", b";x=1", b" ; name"]))
            data += b"%x" % (end - start) + extension + b"\r\n" + body[start:end] + b"\r\n"
        data += b"0\r\n" + draw(st.sampled_from([b"", b"Trailer-A: 1\r\n"])) + b"\r\n"
    else:  # until the server closes (Segments ends the stream after the last piece)
        data += draw(_EOL) + body
    return data


_SETTINGS = settings(max_examples=300, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(data=answers(), points=st.lists(st.integers(0, 10**6), max_size=6))
@example(data=b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok", points=[])
@example(data=b"HTTP/1.1 200 OK\r\nX-A: one\r\n  two \r\n\tthree\r\nContent-Length: 0\r\n\r\n",
         points=[1, 20, 21])
def test_valid_answers_read_as_http_client_reads_them(data: bytes, points: list[int]) -> None:
    expected = by_http_client(cut(data, points))
    assert expected[0] == "answer"  # the strategy makes valid answers only
    assert by_reader(cut(data, points)) == expected


_BODY = bytes(range(256)) * 256  # 64 KiB


@pytest.mark.parametrize("data", [
    pytest.param(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(_BODY) + _BODY, id="by-length"),
    pytest.param(b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n"
                 + b"".join(b"%x;x=1\r\n%s\r\n" % (4096, _BODY[at:at + 4096])
                            for at in range(0, len(_BODY), 4096))
                 + b"0\r\nTrailer-A: 1\r\n\r\n", id="chunked"),
    pytest.param(b"HTTP/1.0 200 OK\r\n\r\n" + _BODY + b"tail", id="until-close-cut"),
    pytest.param(b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                 b"HTTP/1.1 202 Accepted\r\nX-Long: " + b"v" * 60000
                 + b"\r\nX-Folded: one\r\n two\r\nContent-Length: 2\r\n\r\nok",
                 id="long-and-folded-headers"),
])
def test_an_answer_a_byte_per_segment_reads_as_with_http_client(data: bytes) -> None:
    # A server dripping its answer: every recv brings one byte, and the reader's buffer
    # grows in place (a bytearray) instead of being copied at each one.
    pieces = [data[at:at + 1] for at in range(len(data))]
    expected = by_http_client(pieces)
    assert expected[0] == "answer"
    assert by_reader(pieces) == expected


# -- broken answers ------------------------------------------------------------------------


@st.composite
def broken(draw: st.DrawFn) -> bytes:
    """A valid answer cut short, with bytes put in, replaced or added."""
    data = draw(answers())
    how = draw(st.sampled_from(["cut", "insert", "replace", "append"]))
    at = draw(st.integers(0, len(data)))
    junk = draw(st.one_of(
        st.binary(max_size=12),
        st.sampled_from([b"\r", b"\n", b":", b" ", b"\r\n\r\n", b"From x\r\n", b"zz\r\n",
                         b"-1\r\n", b"HTTP/1.1 100 Continue\r\n\r\n", b"0x5\r\n",
                         b"Content-Length: 3\r\n", b"Transfer-Encoding: chunked\r\n"])))
    if how == "cut":
        return data[:at]
    if how == "insert":
        return data[:at] + junk + data[at:]
    if how == "replace":
        return data[:at] + junk + data[at + len(junk):]
    return data + junk


@_SETTINGS
@given(data=broken(), points=st.lists(st.integers(0, 10**6), max_size=4))
def test_broken_answers_end_as_with_http_client(data: bytes, points: list[int]) -> None:
    # Whatever came: the same answer, or the same exception (and requests exception).
    assert by_reader(cut(data, points)) == by_http_client(cut(data, points))


_LONG = b"x" * reader.MAX_LINE


@pytest.mark.parametrize("data", [
    pytest.param(b"", id="nothing"),
    pytest.param(b"HTTP/1.1", id="status-line-cut"),
    pytest.param(b"garbage\r\n\r\n", id="garbage-status-line"),
    pytest.param(b"HTTP/1.1 abc OK\r\n\r\n", id="status-not-a-number"),
    pytest.param(b"HTTP/1.1 99 Low\r\n\r\n", id="status-too-low"),
    pytest.param(b"HTTP/1.1 1000 High\r\n\r\n", id="status-too-high"),
    pytest.param(b"HTTP/2 200 OK\r\n\r\n", id="unknown-version"),
    pytest.param(b"HTTP/1.1 200 " + _LONG + b"\r\n\r\n", id="status-line-too-long"),
    pytest.param(b"HTTP/1.1 200 OK\r\nX: " + _LONG + b"\r\n\r\n", id="header-too-long"),
    pytest.param(b"HTTP/1.1 200 OK\r\n" + b"X: 1\r\n" * 99 + b"\r\n", id="100-lines"),
    pytest.param(b"HTTP/1.1 200 OK\r\n" + b"X: 1\r\n" * 100 + b"\r\n", id="101-lines"),
    pytest.param(b"HTTP/1.1 103 Hints\r\n" + b"X: 1\r\n" * 100 + b"\r\n", id="101-interim"),
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc", id="body-cut"),
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\nabc", id="length-not-a-number"),
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: -4\r\n\r\nabc", id="length-negative"),
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
                 id="lengths-conflicting"),
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef", id="bytes-after"),
    pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                 id="chunk-size-garbage"),
    pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nabc",
                 id="chunk-size-negative"),
    pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
                 id="chunk-cut"),
    pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab",
                 id="chunk-end-missing"),
    pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY0\r\n",
                 id="chunk-end-not-crlf-then-no-trailer"),
    pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n"
                 + _LONG + b"\r\n", id="trailer-too-long"),
    pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + _LONG
                 + b"\r\n", id="chunk-size-too-long"),
    pytest.param(b"HTTP/1.1 200 OK\r\nX: 1\r\nno colon here\r\nY: 2\r\nContent-Length: 0"
                 b"\r\n\r\n", id="line-without-colon-ends-the-headers"),
    pytest.param(b"HTTP/1.1 200 OK\r\n  folded first\r\n: no name\r\nFrom me\r\nA: 1\r"
                 b"B: 2\r\nContent-Length: 0\r\n\r\n", id="odd-lines"),
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nFrom x\r\n\r\n",
                 id="envelope-line-last"),
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length:  +1_0 \r\n\r\n0123456789",
                 id="length-as-int-reads-it"),
    pytest.param(b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", id="no-content"),
    pytest.param(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\n\r\n\r\n",
                 id="lf-line-then-blank-line-then-body-crlf"),
    pytest.param(b"HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 0\n\r\n\r\n",
                 id="lf-line-then-blank-line-then-crlf-after"),
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 1", id="headers-cut"),
])
def test_answers_http_client_refuses_or_bends(data: bytes) -> None:
    for points in ([], [1], list(range(0, len(data), 7))):
        assert by_reader(cut(data, points)) == by_http_client(cut(data, points))


# -- a head the connection ended in (delivery32) -------------------------------------------


def verdicts(pieces: list[bytes]) -> tuple[object, object]:
    """Whether each route's reader took the head for the API's verdict: the direct
    one's ``on_verdict`` called, the requests route's ``FinalResponse.head_ended``
    (None where it raised instead of answering)."""
    said: list[bool] = []
    try:
        reader.read_answer(reader.Stream(Segments(pieces)), MAX_CONTENT, verdict_first=True,
                           on_verdict=lambda: said.append(True))
        direct: object = bool(said)
    except Exception:  # noqa: BLE001 - no answer at all
        direct = None
    response = FinalResponse(Segments(pieces), method="POST")  # type: ignore[arg-type]
    response.verdict_first = True
    try:
        response.begin()
        requests_route: object = response.head_ended
    except Exception:  # noqa: BLE001 - no answer at all
        requests_route = None
    return direct, requests_route


# 100 draws, not 300 (suite39): the fix reverted (head_ended always true, or on_verdict
# called for a head the connection ended in) fails in 3 of 3 seeds at 100; the pinned
# examples are the cut heads.
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=answers(), at=st.integers(0, 10**6), points=st.lists(st.integers(0, 10**6),
                                                                   max_size=4))
@example(data=b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n", at=12, points=[])
@example(data=b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n", at=42, points=[])
def test_a_head_the_connection_ended_in_is_no_verdict_on_either_route(
        data: bytes, at: int, points: list[int]) -> None:
    """The requests route (``FinalResponse``) takes the same answers for a verdict as the
    direct one (``reader.read_answer``'s ``on_verdict``): a head whose blank line came,
    not one the connection ended in (``HTTP/1.1 202`` and then nothing: the watchdog's
    cut reads as a server's close). Before, ``FinalResponse`` told no such thing, and a
    POST cut then on the requests route was counted answered."""
    whole = verdicts(cut(data, points))
    assert whole == (True, True)
    short = verdicts(cut(data[:at], points))
    assert short[0] == short[1], short
