"""blackbox6: what a misbehaving Metrics API found.

(a) The answer cut at the POST's bound while its status line or header lines still came
(an API, or a proxy, that stalls mid-answer).

A real server on 127.0.0.1 reads the POST, sends the first bytes of an answer and then
nothing until the test ends; the next POSTs get a whole ``202``. The watchdog cuts the
stalled POST at its bound by shutting its socket down, which the reader saw as the
server closing: ``HTTP/1.1 202`` with no line end was taken for an answer, the logs
counted ``sent`` (the API never finished answering), and a warning said the API
"answered a POST in 1.0s, later than timeout", its bound doubled. A cut before the
answer's header lines ended is no answer (SPEC 7, docs/DELIVERY.md: an answer counts
once its status line and headers came): the POST is sent again, as any timeout.

(b) uvicorn stopped (SIGTERM) while the Metrics API does not answer: the lifespan's flush
gives up at ``shutdown_timeout`` and uvicorn ends without Python's exit hooks, so the
close that says what was not delivered never runs. The logs were lost without a word;
the flush now says how many it left.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
from pathlib import Path

import pytest

from tests.support.delivery import (
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
)
from tests.support.fake_api import Collector, Reply
from tests.support.raw_requests import read_body
from tests.test_asgi_servers import stop_after_calls
from tests.test_e2e_servers import API_KEY
from tests.test_transport_answers import RawServer

WHOLE = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"


class StallingApi:
    """Answers its first POST with ``head`` and then nothing (until :meth:`close`), every
    later one with a whole ``202``; counts the POSTs it read."""

    def __init__(self, head: bytes) -> None:
        self.head = head
        self.posts = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = RawServer(self._answer)
        self.url = self._server.url

    def _answer(self, conn: socket.socket) -> None:
        while read_body(conn) is not None:
            with self._lock:
                self.posts += 1
                first = self.posts == 1
            if first:
                conn.sendall(self.head)
                self._stop.wait()
                return
            conn.sendall(WHOLE)

    def close(self) -> None:
        self._stop.set()
        self._server.close()


@pytest.mark.parametrize("head", [
    b"HTTP/1.1 202",  # the status line cut
    b"HTTP/1.1 202 Accepted\r\n",  # the status line, no header line
    b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n",  # no blank line after the headers
    b"HTTP/1.1 202 Accepted\r\nContent-Le",  # a header line cut
], ids=["status-line", "no-headers", "no-blank-line", "header-line"])
@pytest.mark.parametrize("direct", [True, False], ids=["direct", "requests"])
def test_an_answer_stalled_before_its_headers_ended_is_no_answer(
        make_delivery: MakeDelivery, caplog: pytest.LogCaptureFixture,
        head: bytes, direct: bool) -> None:
    """On either route (delivery32: the requests route, through a proxy, counted it sent
    as the direct one did before blackbox6: 4 of 4 failed there)."""
    api = StallingApi(head)
    try:
        delivery = make_delivery(api.url, buffer_length=1, timeout=0.5, direct=direct)
        assert delivery.submit(item("log-0"))
        assert delivery.flush(20.0)
        stats = delivery.stats
        # Before: sent 1, retries 0, and the API read one POST (answered none).
        assert (stats["sent"], stats["retries"], stats["dropped"]) == (1, 1, 0), stats
        assert adds_up(stats) and api.posts == 2
        assert not messages(caplog, logging.WARNING, "later than timeout")
    finally:
        api.close()


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "requests"])
def test_a_server_closing_after_its_status_line_still_answers(
        make_delivery: MakeDelivery, direct: bool) -> None:
    """The server's own close after a status line stays an answer, as http.client reads
    it (the verdict came: the logs are not sent again)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    posts: list[int] = []

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            read_body(conn)
            posts.append(1)
            conn.sendall(b"HTTP/1.1 202 Accepted\r\n")
            conn.shutdown(socket.SHUT_WR)
            conn.recv(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        delivery = make_delivery(url, buffer_length=1, timeout=5.0, direct=direct)
        assert delivery.submit(item("log-0"))
        assert delivery.flush(20.0)
        stats = delivery.stats
        assert (stats["sent"], stats["retries"]) == (1, 0), stats
        assert posts == [1]
    finally:
        server.close()


def stop_unanswered(collector: Collector, tmp_path: Path, server: str) -> str:
    """What ``server`` printed, stopped (SIGTERM) after 3 calls, ``shutdown_timeout``
    1 s, while the API reads every POST and answers none (till the end)."""
    gate = threading.Event()
    collector.default = Reply(gate=gate)
    try:
        return stop_after_calls(collector, tmp_path, "fastapi_app", server,
                                signal.SIGTERM, 3, README_SHUTDOWN_TIMEOUT="1")[1]
    finally:
        gate.set()


def test_a_uvicorn_stop_the_api_never_answers_says_what_it_left(
        collector: Collector, tmp_path: Path) -> None:
    said = stop_unanswered(collector, tmp_path, "uvicorn")
    # Before: uvicorn's shutdown lines and nothing of the library's.
    assert ("the flush at the ASGI lifespan's shutdown gave up after shutdown_timeout "
            "(README_SHUTDOWN_TIMEOUT) of 1s: 3 logs not delivered yet") in said, said
    assert API_KEY not in said
