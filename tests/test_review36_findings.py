"""review36's items (an adversarial read of the last session's delivery, config and
collector changes): each test failed on main at dc6a179 and passes with its fix, under
real parts (the collector in-process on 127.0.0.1 over raw sockets, a real server on
::1, the public config)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig
from readme_metrics.cli.collector import LocalCollector
from tests.support.raw_requests import status_lines
from tests.support.sample_logs import valid_log

# -- 1. collect: a request head the collector misread let its body pass for a request ----


def _smuggled(local: LocalCollector, head: bytes) -> tuple[list[bytes], int]:
    """``OPTIONS /v1/request`` with ``head`` (its header lines but Host's) and a whole
    ``DELETE /api/logs`` as its body, then a GET: the status lines, and the store's
    generation (1 when the DELETE in the body was served as a request)."""
    host = f"Host: 127.0.0.1:{local.port}\r\n".encode()
    inner = b"DELETE /api/logs HTTP/1.1\r\n" + host + b"Content-Length: 0\r\n\r\n"
    head = head.replace(b"{n}", str(len(inner)).encode())
    answers = status_lines(local.port, b"OPTIONS /v1/request HTTP/1.1\r\n" + host + head + b"\r\n"
                       + inner + b"GET /api/summary HTTP/1.1\r\n" + host
                       + b"Connection: close\r\n\r\n")
    return answers, local.store.generation


MISREAD_HEADS = {
    # Two lengths: the first was taken, the rest of the body read as the next request
    # (a proxy in front that takes the last one forwards it whole: RFC 9112 6.3, 400).
    "two-content-lengths": b"Content-Length: 0\r\nContent-Length: {n}\r\n",
    "a-content-length-list": b"Content-Length: 0, {n}\r\n",
    # int() takes more than digits (RFC 9112 8.6: 1*DIGIT).
    "a-content-length-with-a-sign": b"Content-Length: +{n}\r\n",
    # A line the header parser cannot read ends the headers there (http.client): the
    # Content-Length after it was never seen, and the body taken for a request.
    "a-blank-before-the-colon": b"Content-Length : {n}\r\n",
    "a-tab-before-the-colon": b"Content-Length\t: {n}\r\n",
    "a-line-without-a-colon": b"X-Note\r\nContent-Length: {n}\r\n",
    "a-blank-in-a-name": b"X Note: 1\r\nContent-Length: {n}\r\n",
    # obs-fold (RFC 9112 5.2: a server rejects it with 400, or unfolds it): kept as the
    # previous field's value, line break and all.
    "a-folded-line": b"X-Note: 1\r\n Content-Length: {n}\r\n",
}


@pytest.mark.parametrize("head", list(MISREAD_HEADS.values()), ids=list(MISREAD_HEADS))
def test_a_head_with_a_framing_the_collector_cannot_be_sure_of_is_refused(
        local: LocalCollector, head: bytes) -> None:
    """Each of these made the collector answer the OPTIONS, then serve the DELETE its
    body held (the dashboard cleared), then the GET: a request smuggled in a body, as a
    proxy in front (mitmproxy, a company's) would frame it otherwise. Now 400, and the
    connection closed: nothing after the head is read as a request."""
    answers, generation = _smuggled(local, head)
    assert (answers, generation) == ([b"HTTP/1.1 400 Bad Request"], 0)


def test_a_head_the_collector_reads_one_way_keeps_its_connection(
        local: LocalCollector) -> None:
    """The must-still-work side: the same length twice is one length (RFC 9112 6.3), so
    the body is read as a body and the connection carries the next request."""
    answers, generation = _smuggled(local, b"Content-Length: {n}\r\nContent-Length: {n}\r\n")
    assert (answers, generation) == ([b"HTTP/1.1 204 No Content", b"HTTP/1.1 200 OK"], 0)



def test_a_chunked_http10_request_closes_its_connection(local: LocalCollector) -> None:
    """RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding is to be taken as faulty
    framing, and the connection closed after it (an HTTP/1.0 proxy in front knows no
    chunked coding). With 'Connection: keep-alive' the collector read the next request
    on it."""
    host = f"Host: 127.0.0.1:{local.port}\r\n".encode()
    answers = status_lines(local.port, b"OPTIONS /v1/request HTTP/1.0\r\n" + host
                       + b"Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
                       + b"0\r\n\r\n" + b"GET /api/summary HTTP/1.1\r\n" + host + b"\r\n")
    assert answers == [b"HTTP/1.1 204 No Content"]

# -- 2. config: a password in a URL quoted by requests' error -----------------------------

PASSWORD = "review36-url-password"


@pytest.mark.parametrize("option", ["metrics_api", "readme_api_url"])
def test_the_password_of_a_refused_url_is_not_in_the_error(option: str) -> None:
    """5451e37 adds requests' own InvalidURL text to the error, and requests quotes the
    whole URL in some ("Invalid URL 'http://user:password@\\\\host': No host supplied"):
    the URL itself is shown without its user and password, the quote of it was not."""
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key="rdme_key", grouping_function=lambda request: None,
                         **{option: f"http://owl:{PASSWORD}@\\metrics.example.com/api"})
    message = str(raised.value)
    # (Refused since spec28 for the '\\' before its path, before requests is asked.)
    assert "before its path" in message and PASSWORD not in message, message
    assert "http://***@" in message, message


# -- 3. config: an IPv6 address with a zone id, which no route can post to ---------------


@pytest.fixture
def v6_server() -> Iterator[int]:
    """An HTTP server on ::1 answering every POST 202: its port."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

    class Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6
        daemon_threads = True

    try:
        server = Server(("::1", 0), Handler)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("zone", ["%25lo", "%lo"])
def test_an_ipv6_address_with_a_zone_id_is_refused(v6_server: int, zone: str) -> None:
    """``http://[::1%25lo]:port`` (RFC 6874) was taken, and every POST failed, on both
    routes ('Name or service not known': requests and the direct route look up
    '::1%25lo' as a name), retried for ever; the same address without the zone is
    served (the must-still-work side)."""
    url = f"http://[::1{zone}]:{v6_server}"
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key="rdme_key", grouping_function=lambda request: None,
                         metrics_api=url)
    assert "zone" in str(raised.value), raised.value
    plain = MetricsApiConfig(api_key="rdme_key", grouping_function=lambda request: None,
                             metrics_api=f"http://[::1]:{v6_server}")
    from readme_metrics.delivery.transport import Transport

    for direct in (True, False):
        transport = Transport(plain, direct=direct)
        try:
            assert transport.post_logs(b"[]", timeout=5).status_code == 202
        finally:
            transport.close()


# -- 4. collect: a chunked body's lines read as RFC 9112 7.1 writes them ------------------


@pytest.mark.parametrize("chunks", [
    pytest.param(b" 2\r\n[]\r\n0\r\n\r\n", id="a-blank-before-the-size"),
    pytest.param(b"2\r\r\n[]\r\n0\r\n\r\n", id="a-bare-cr-after-the-size"),
    pytest.param(b"2;a\rb\r\n[]\r\n0\r\n\r\n", id="a-bare-cr-in-an-extension"),
    pytest.param(b"2\r\n[]\r\n0\r\nno colon here\r\n\r\n", id="a-trailer-line-without-colon"),
    pytest.param(b"2\r\n[]\r\n0\r\nX-A: 1\r\n folded: 2\r\n\r\n", id="a-folded-trailer"),
])
def test_a_chunked_line_outside_the_grammar_is_refused(local: LocalCollector,
                                                       chunks: bytes) -> None:
    """Each was read as the size or trailer it is closest to (``line.strip()``, any line
    up to the blank one a trailer), where a proxy in front may read it otherwise (the
    framing desync of request smuggling): refused with 400 and the connection closed,
    as a size that is no number already was (spec21)."""
    answers = status_lines(local.port, (
        f"POST /v1/request HTTP/1.1\r\nHost: 127.0.0.1:{local.port}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
        + chunks + f"GET /api/summary HTTP/1.1\r\nHost: 127.0.0.1:{local.port}\r\n"
        "Connection: close\r\n\r\n".encode())
    assert answers == [b"HTTP/1.1 400 Bad Request"]


def test_chunked_lines_in_the_grammar_are_read(local: LocalCollector) -> None:
    """The must-still-work side: extensions after blanks, a bare LF as a line's end
    (RFC 9112 2.2 lets a recipient take it), trailers; the next request on the same
    connection is answered."""
    body = json.dumps([valid_log("grammar")]).encode()
    answers = status_lines(local.port, (
        f"POST /v1/request HTTP/1.1\r\nHost: 127.0.0.1:{local.port}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
        + b"1 ;a=b\r\n%s\r\n%x;q=\"x y\"\n%s\r\n0\r\nX-Trailer: yes\r\nY:\r\n\r\n"
        % (body[:1], len(body) - 1, body[1:])
        + f"GET /api/summary HTTP/1.1\r\nHost: 127.0.0.1:{local.port}\r\n"
        "Connection: close\r\n\r\n".encode())
    assert answers == [b"HTTP/1.1 202 Accepted", b"HTTP/1.1 200 OK"]


# -- 5. collect: a body trickled in a byte before each idle timeout held its thread -------

IDLE, BODY = 0.4, 1.0  # the collector's idle and body limits here (30 s and 60 s served)


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[LocalCollector]:
    """``readme-metrics collect`` in-process, silent, with short time limits."""
    running = LocalCollector("127.0.0.1", 0, har_path=tmp_path / "c.har")
    running.server.idle_timeout = IDLE
    running.server.head_timeout = BODY
    running.server.body_timeout = BODY
    try:
        yield running.start()
    finally:
        running.stop()


def test_a_body_sent_a_byte_at_a_time_is_cut_off_at_the_body_timeout(
        limited: LocalCollector) -> None:
    """1e548a7 bounds each read (idle) and the head as a whole, not the body: a declared
    64 MiB sent a byte every 29 s held a handler thread (and its socket) for as long.
    Now the body too must arrive within a time from the end of the head (60 s served;
    the library's own POST gives up after its timeout, 3 s by default)."""
    head = (f"POST /v1/request HTTP/1.1\r\nHost: 127.0.0.1:{limited.port}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", limited.port), timeout=5) as conn:
        conn.sendall(head)
        start = time.monotonic()
        conn.settimeout(IDLE / 4)
        closed = None
        while closed is None and time.monotonic() - start < BODY + 3:
            try:
                if conn.recv(1024) == b"":
                    closed = time.monotonic() - start
                    break
            except TimeoutError:
                pass
            except ConnectionError:
                closed = time.monotonic() - start
                break
            try:
                conn.sendall(b" ")
            except ConnectionError:
                closed = time.monotonic() - start
    assert closed is not None, f"the collector kept the connection open for {BODY + 3} s"
    assert BODY * 0.8 <= closed < BODY + 1.5, closed


# -- 6. config: a base URL ending in an empty query or fragment ---------------------------


@pytest.mark.parametrize("option", ["metrics_api", "readme_api_url"])
@pytest.mark.parametrize("end", ["?", "/?", "#", "?#"])
def test_a_base_url_ending_in_an_empty_query_or_fragment_is_refused(option: str,
                                                                   end: str) -> None:
    """urlsplit's query and fragment are empty for 'http://host:port?', so the check for
    them let it by, and the library appends its paths after it: every batch went to
    '/?/v1/request' (the path '/'), or '/' with '#' (checked against the collector:
    'POST /?/v1/request'), which ReadMe answers 404, each batch dropped."""
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key="rdme_key", grouping_function=lambda request: None,
                         **{option: f"http://127.0.0.1:8001{end}"})
    assert "a base URL has no query or fragment" in str(raised.value), raised.value
