"""Answers the Metrics API may give that a POST must survive, on both routes, and
failures as the requests exceptions the policy knows.

An answer sent before the body was read (``413``, then the server closes), an answer
body without end, and repeated headers: real servers on 127.0.0.1 that speak raw bytes.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Callable

import pytest
import requests

from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery import Delivery
from readme_metrics.delivery.errors import described, requests_error
from readme_metrics.delivery.sender import Sender
from readme_metrics.transport import Transport
from tests.support.delivery import build_id, item
from tests.support.raw_requests import read_body, read_head
from tests.support.transports import (
    API_KEY,
    ROUTES,
    make_transport,
)

# No proxy or CA bundle from the machine; the API key in no log record (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("transport_guards")


class RawServer:
    """Calls ``handler(conn)`` for each connection, in a thread; ``url`` to reach it.

    ``connections`` counts the connections accepted.
    """

    def __init__(self, handler: Callable[[socket.socket], None]) -> None:
        self.handler = handler
        self.connections = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(20.0)  # the guard should a client never come back
        try:
            self.handler(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self._sock.close()


@contextmanager
def posting_to(answer: Callable[[socket.socket], None], direct: bool,
               **options: object) -> Iterator[tuple[Transport, RawServer]]:
    """A transport on the ``direct`` route (else requests) to a :class:`RawServer`
    answering with ``answer``; the transport is closed when the block ends well, the
    server in any case."""
    server = RawServer(answer)
    transport = make_transport(server.url, direct, **options)
    try:
        yield transport, server
        transport.close()
    finally:
        server.close()


# -- an answer before the body was read ------------------------------------------------


@pytest.mark.parametrize("direct", ROUTES)
def test_an_early_error_answer_is_returned_not_a_connection_error(direct: bool) -> None:
    # The server reads the headers, answers 413 and closes with the body unread: sending
    # fails, but the answer is there. A connection error would have the policy send the
    # whole batch again; the 413 tells it not to.
    def early(conn: socket.socket) -> None:
        if read_head(conn) is None:
            return
        conn.sendall(b"HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n"
                     b"Content-Length: 8\r\n\r\ntoo big!")
        conn.shutdown(socket.SHUT_WR)
        threading.Event().wait(0.3)

    with posting_to(early, direct, timeout=10.0) as (transport, server):
        for _ in range(2):  # and a fresh connection for the next POST
            answer = transport.post_logs(b"[" + b"1," * 4_000_000 + b"1]")
            assert (answer.status_code, answer.content) == (413, b"too big!")
    assert server.connections == 2


# -- an answer body without end ----------------------------------------------------------


_PIECE = b"x" * 65536


@pytest.mark.parametrize("direct", ROUTES)
@pytest.mark.parametrize("head", [
    pytest.param(b"HTTP/1.1 500 Oops\r\n\r\n", id="until-closed"),
    pytest.param(b"HTTP/1.1 500 Oops\r\nContent-Length: 100000000000\r\n\r\n",
                 id="huge-length"),
    pytest.param(b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n", id="chunked"),
])
def test_an_endless_answer_body_is_read_only_so_far(head: bytes, direct: bool) -> None:
    # Memory stays bounded while ReadMe misbehaves (SPEC 7): the POST returns the status
    # with the start of the body, and the connection, its body unread, is not reused.
    # The server sends 4 MB (standing for endless), then waits for the client to leave:
    # a client reading to the end would wait until its timeout.
    def endless(conn: socket.socket) -> None:
        if read_body(conn) is None:
            return
        conn.sendall(head)
        piece = b"10000\r\n" + _PIECE + b"\r\n" if b"chunked" in head else _PIECE
        for _ in range(64):
            conn.sendall(piece)
        conn.recv(1)  # until the client closes (or the guard)

    with posting_to(endless, direct, timeout=3.0) as (transport, server):
        answers = [transport.post_logs(b"[]") for _ in range(2)]
    for answer in answers:
        assert answer.status_code == 500
        assert answer.content == b"x" * 65536
        assert answer.text.startswith("xxx")
    assert server.connections == 2


def _broken_after_the_head(head: bytes, then: bytes, how: str) -> Callable[[socket.socket], None]:
    """A server answering ``head`` (status line and headers) and ``then`` (the start of
    its body), then ending the connection ``how``: "close", "reset" or "hold" (silent
    until the client leaves)."""
    def answer(conn: socket.socket) -> None:
        if read_body(conn) is None:
            return
        conn.sendall(head + then)
        if how == "reset":  # SO_LINGER 0: the close sends a RST
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif how == "hold":
            conn.recv(1)  # until the client closes (or the guard)

    return answer


_HEAD_202 = b"HTTP/1.1 202 Accepted\r\nContent-Length: 100\r\n\r\n"
_CHUNKED_202 = b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize("direct", ROUTES)
@pytest.mark.parametrize(("head", "then", "how"), [
    pytest.param(_HEAD_202, b"a" * 10, "close", id="shorter-than-its-length-then-closed"),
    pytest.param(_HEAD_202, b"a" * 10, "reset", id="shorter-than-its-length-then-reset"),
    pytest.param(_HEAD_202, b"a" * 10, "hold", id="shorter-than-its-length-past-timeout"),
    pytest.param(_CHUNKED_202, b"3\r\nabc\r\nzz\r\n", "hold", id="chunk-size-not-a-number"),
    pytest.param(_CHUNKED_202, b"3\r\nab", "close", id="chunk-cut"),
    pytest.param(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 100\r\n\r\n", b"bad",
                 "close", id="an-error-status-too"),
])
def test_a_body_broken_after_the_status_and_headers_is_still_the_answer(
        head: bytes, then: bytes, how: str, direct: bool) -> None:
    # The status line and headers are the API's verdict on the POST: a 202 whose body
    # ends early (the server closes or resets, or goes silent past timeout) or does not
    # parse, has the logs accepted all the same. Taken for a failure, the batch was
    # sent 5 times (every attempt accepted again), then counted as dropped. The answer
    # comes with no body, and the next POST goes out on a fresh connection.
    broken = _broken_after_the_head(head, then, how)
    with posting_to(broken, direct, timeout=0.5) as (transport, server):
        answers = [transport.post_logs(b"[]") for _ in range(2)]
    status = int(head.split()[1])
    assert [(answer.status_code, answer.content) for answer in answers] == [(status, b"")] * 2
    assert server.connections == 2


# -- answers that are not HTTP, and bytes after an answer ------------------------------------


@pytest.mark.parametrize("direct", ROUTES)
@pytest.mark.parametrize("reply", [
    pytest.param(b"garbage\r\n\r\n", id="garbage-status-line"),
    pytest.param(b"HTTP/1.1 20x OK\r\nContent-Length: 0\r\n\r\n", id="status-not-a-number"),
    pytest.param(b"HTTP/1.1 202 " + b"x" * 70_000 + b"\r\n\r\n", id="status-line-too-long"),
    pytest.param(b"HTTP/1.1 103 Early Hints\r\nLink: " + b"x" * 70_000 + b"\r\n\r\n"
                 b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
                 id="interim-answer-header-too-long"),
])
def test_an_answer_that_is_not_http_is_a_failed_post(reply: bytes, direct: bool) -> None:
    # No status line and headers to go by: a requests exception (ConnectionError), which
    # the policy retries; the next POST goes out on a fresh connection (what else the
    # server would send on this one cannot be known). A body broken after them is the
    # test above.
    def broken(conn: socket.socket) -> None:
        if read_body(conn) is not None:
            conn.sendall(reply)
            conn.recv(1)  # until the client closes (or the guard)

    assert_two_posts_fail_on_two_connections(broken, direct, timeout=5.0)


_ABSURD_LINE = b"X-Absurd: " + b"a" * 70_000 + b"\r\n"  # over http.client's 65,536


@pytest.mark.parametrize("direct", ROUTES)
@pytest.mark.parametrize(("head", "how"), [
    pytest.param(b"HTTP/1.1 202 Accepted\r\n" + _ABSURD_LINE
                 + b"Content-Length: 0\r\n\r\n", "hold", id="header-line-over-64-kib"),
    pytest.param(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n" + _ABSURD_LINE
                 + b"\r\n", "hold", id="last-header-line-over-64-kib"),
    pytest.param(b"HTTP/1.1 200 OK\r\n" + b"X-A: 1\r\n" * 120 + b"\r\n", "hold",
                 id="more-than-100-header-lines"),
    pytest.param(b"HTTP/1.1 503 Busy\r\n" + _ABSURD_LINE + b"\r\n", "close",
                 id="an-error-status-too"),
])
def test_a_status_line_followed_by_absurd_header_lines_is_still_the_answer(
        head: bytes, how: str, direct: bool) -> None:
    # The final status line is the API's verdict on the POST: a 202 whose header lines
    # break http.client's limits (a line over 64 KiB, more than 100 lines) has the logs
    # accepted all the same. Taken for a failure (LineTooLong), the
    # batch was sent again, and again. The answer comes with no headers and no body,
    # and the next POST goes out on a fresh connection.
    broken = _broken_after_the_head(head, b"", how)
    with posting_to(broken, direct, timeout=1.0) as (transport, server):
        answers = [transport.post_logs(b"[]") for _ in range(2)]
    status = int(head.split()[1])
    assert [(answer.status_code, answer.content, answer.first("X-Absurd"))
            for answer in answers] == [(status, b"", None)] * 2
    assert server.connections == 2


@pytest.mark.parametrize("direct", ROUTES)
def test_a_batch_answered_202_with_a_header_line_over_64_kib_is_delivered_once(
        direct: bool) -> None:
    # Through the whole delivery: each batch is posted once and counted as sent.
    posts: list[bytes] = []

    def absurd(conn: socket.socket) -> None:
        body = read_body(conn)
        if body is not None:
            posts.append(body)
            conn.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n"
                         + _ABSURD_LINE + b"\r\n")

    server = RawServer(absurd)
    config = MetricsApiConfig(api_key=API_KEY, grouping_function=lambda req: None,
                              metrics_api=server.url, timeout=5.0, flush_interval=0)
    transport = Transport(config, direct=direct)
    delivery = Delivery(config, build_id, transport=transport, backoff_base=0.01,
                        backoff_cap=0.05)
    try:
        for n in range(25):
            assert delivery.submit(item(f"log-{n}"))
        assert delivery.flush(20.0) is True
        stats = delivery.stats
        delivery.close()
        transport.close()
    finally:
        server.close()
    assert (stats["sent"], stats["retries"], stats["batches"]) == (25, 0, len(posts))
    logs = [log["_id"] for post in posts for log in json.loads(post)]
    assert sorted(logs) == sorted(f"log-{n}" for n in range(25))


def assert_two_posts_fail_on_two_connections(answer: Callable[[socket.socket], None],
                                            direct: bool, timeout: float) -> None:
    """Two POSTs to a server answering with ``answer`` both fail (a requests exception),
    the second on a fresh connection."""
    with posting_to(answer, direct, timeout=timeout) as (transport, server):
        for _ in range(2):
            with pytest.raises(requests.RequestException):
                transport.post_logs(b"[]")
    assert server.connections == 2


@pytest.mark.parametrize("direct", ROUTES)
def test_bytes_after_an_answer_are_never_taken_for_the_next_one(direct: bool) -> None:
    # A server that sends more than its answer (a second answer unasked, in the same
    # segment): the next POST reads its own answer, not the stray one. The direct route
    # does not reuse that connection; requests does, the stray bytes going with the
    # first answer's read buffer (review32: this ran on the direct route alone).
    def chatty(conn: socket.socket) -> None:
        while read_body(conn) is not None:
            conn.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"
                         b"HTTP/1.1 500 Stray\r\nContent-Length: 0\r\n\r\n")

    statuses, connections = statuses_and_connections(chatty, posts=3, direct=direct)
    assert statuses == [202] * 3
    assert connections == (3 if direct else 1)


@pytest.mark.parametrize("direct", ROUTES)
def test_bytes_sent_to_an_idle_connection_are_never_taken_for_the_next_answer(
        direct: bool) -> None:
    # Once its answer was read in full, the server writes to the idle connection, in a
    # segment of its own (a stray answer, unasked): the next POST goes out on a new
    # connection and reads its own answer, never the stray one (a 500 here; a stray 2xx
    # would pass a batch for delivered): the idle check before a POST finds the bytes.
    answered = threading.Event()
    stray = threading.Event()

    def late(conn: socket.socket) -> None:
        while read_body(conn) is not None:
            conn.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
            if not stray.is_set():
                answered.wait(10)
                conn.sendall(b"HTTP/1.1 500 Stray\r\nContent-Length: 0\r\n\r\n")
                stray.set()

    with posting_to(late, direct, timeout=5.0) as (transport, server):
        statuses = [transport.post_logs(b"[]").status_code]
        answered.set()
        assert stray.wait(10)
        time.sleep(0.1)  # the stray bytes reach the client's socket
        statuses.append(transport.post_logs(b"[]").status_code)
    assert (statuses, server.connections) == ([202, 202], 2)


@pytest.mark.parametrize("direct", ROUTES)
def test_a_connection_switched_to_another_protocol_is_not_reused(direct: bool) -> None:
    # 101 Switching Protocols is final, and what follows it on the connection is no
    # longer HTTP: the next POST goes out on a fresh connection, whatever the headers
    # say (found by diffreview4; http.client, and urllib3 after it, keep such a
    # connection).
    def switching(conn: socket.socket) -> None:
        while read_body(conn) is not None:
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n")

    assert statuses_and_connections(switching, posts=2, direct=direct) == ([101, 101], 2)


def statuses_and_connections(answer: Callable[[socket.socket], None], posts: int,
                             direct: bool = True) -> tuple[list[int], int]:
    """The statuses of ``posts`` POSTs on the ``direct`` route (else requests) to a
    server answering with ``answer``, and how many connections they took."""
    with posting_to(answer, direct, timeout=5.0) as (transport, server):
        statuses = [transport.post_logs(b"[]").status_code for _ in range(posts)]
    return statuses, server.connections


# -- repeated headers ---------------------------------------------------------------------


@pytest.mark.parametrize("direct", ROUTES)
def test_a_repeated_retry_after_is_read_as_its_first_value(direct: bool) -> None:
    # Both clients must give the policy the same delay: http.client's get() gives the
    # first value, requests' headers the two joined ("5, 10", which no parser reads).
    def twice(conn: socket.socket) -> None:
        while read_body(conn) is not None:
            conn.sendall(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 5\r\n"
                         b"Retry-After: 10\r\nContent-Length: 0\r\n\r\n")

    with posting_to(twice, direct) as (transport, server):
        outcome = Sender(transport, lambda item: item, API_KEY).post(b"[]", 10.0)
    assert outcome.retry_after == 5.0


@pytest.mark.parametrize("direct", ROUTES)
def test_conflicting_content_lengths_are_refused(direct: bool) -> None:
    # Which length is right cannot be known (a smuggling pattern): requests refuses
    # such an answer, and so does the direct route, rather than trust the first.
    def conflicting(conn: socket.socket) -> None:
        if read_body(conn) is not None:
            conn.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n"
                         b"Content-Length: 5\r\n\r\nokxyz")
            conn.recv(1)

    refused = pytest.raises(requests.RequestException)
    with posting_to(conflicting, direct) as (transport, _), refused:
        transport.post_logs(b"[]")


# -- failures as requests exceptions --------------------------------------------------------


@pytest.mark.parametrize(("error", "fired", "expected"), [
    pytest.param(UnicodeEncodeError("ascii", "é", 0, 1, "no"), False,
                 requests.ConnectionError, id="unexpected"),
    pytest.param(ValueError("odd"), False, requests.ConnectionError, id="value-error"),
    pytest.param(ConnectionResetError(104, "reset"), False, requests.ConnectionError,
                 id="reset"),
    pytest.param(TimeoutError("slow"), False, requests.exceptions.ReadTimeout,
                 id="read-timeout"),
    pytest.param(ValueError("odd"), True, requests.Timeout, id="cut-at-deadline"),
])
def test_every_failure_is_a_requests_exception(error: Exception, fired: bool,
                                               expected: type[Exception]) -> None:
    # Both routes end a failed POST here: the policy knows requests' exceptions only.
    translated = requests_error(error, fired, 1.0)
    assert type(translated) is expected
    # Named where the policy describes it (the error is wrapped, as requests wraps urllib3's).
    assert type(error).__name__ in described(translated) or fired


def test_a_requests_exception_is_kept_as_it_is() -> None:
    error = requests.exceptions.InvalidHeader("bad")
    assert requests_error(error, False, 1.0) is error
