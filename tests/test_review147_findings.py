"""review147 (1): over TLS 1.3, a keep-alive client's next request right behind the body's
rest (pipelined, in the same write) read as "past the body" by ``tls_records.past_body``
(more plaintext than the rest: delivery75 counted any, meant for close_notify's 2 bytes),
so the capture stopped waiting for the body that sat in the socket: logged short.

Each round over one TLS 1.3 connection: a POST's head and 5 of 100 declared bytes; the
app answers without reading (the capture waits, its grace 2 s here, for the rest); the
client sends the other 95 and a GET in one write, then reads both answers. The log of the
POST must hold the 100 bytes (the server had them within the grace) and both answers come.

review147 (2): over TLS 1.3, a chunked body's next 2 bytes in a record of their own (19
bytes: close_notify's size), behind framing the server took with no message from it (the
chunk's size line), held the server paused to the end of the grace for a message that
could not come before it read them (``asgi_watch``'s wait behind a close_notify, delivery75):
the wrapped app's answer that much later, the body logged short.
"""

from __future__ import annotations

import ssl
import time
from functools import partial
from pathlib import Path
from typing import Callable

import pytest

from tests.support.fake_api import Collector
from tests.support.tls import make_certificates
from tests.support.tls_bio import connected
from tests.test_asgi_servers import NO_UVLOOP
from tests.test_delivery75_tls_end_behind_data import (  # noqa: F401 - its fixture
    tls_grace_served,
)
from tests.test_e2e_servers import Served, telling
from tests.test_half_close_late import _of_url, _tagged

pytestmark = pytest.mark.e2e

DECLARED = 100


def _pipelined(port: int, context: ssl.SSLContext, route: str) -> bytes:
    """The decrypted bytes answered to a POST (head and 5 bytes, 0.2 s later the other 95
    with a GET behind them in one record), read until both answers came (10 s at most)."""
    with connected(port, context) as client:
        head = (f"POST /wrap/{route} HTTP/1.1\r\nHost: localhost:{port}\r\n"
                f"Content-Type: text/plain\r\nContent-Length: {DECLARED}\r\n\r\n").encode()
        client.send(head + b"short")
        time.sleep(0.2)  # the app answered, the capture waits for the rest
        client.send(b"x" * (DECLARED - 5)
                    + f"GET /bare/next HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n".encode())
        return client.read_until(lambda got: got.count(b"HTTP/1.1 ") >= 2)


@pytest.mark.parametrize("server", [
    "uvicorn", pytest.param("uvicorn-uvloop", marks=NO_UVLOOP),
    "hypercorn"], scope="module")
def test_a_pipelined_request_behind_the_body_is_not_its_end(
        kept_collector: Collector,
        tls_grace_served: tuple[Served, ssl.SSLContext],  # noqa: F811 - the fixture
        server: str) -> None:
    answers = _three_rounds(kept_collector, tls_grace_served, _pipelined,
                            "short" + "x" * (DECLARED - 5))
    assert all(answer.count(b"HTTP/1.1 200") == 2 for answer in answers), answers


def test_records_of_a_pipelined_request_are_not_past_the_body(tmp_path: Path) -> None:
    """Real TLS 1.3 records: the body's rest with a GET in the same record, or in a record
    of its own, is not past the body; a close_notify behind either still is."""
    from readme_metrics.capture.tls_records import _beyond
    from tests.test_delivery75_tls_end_behind_data import _records

    certificates = make_certificates(tmp_path)
    rest, get = b"x" * 95, b"GET /next HTTP/1.1\r\nHost: localhost\r\n\r\n"
    tls13 = ssl.TLSVersion.TLSv1_3
    assert _beyond(_records(certificates, tls13, rest + get, False), 95, True) is False
    assert _beyond(_records(certificates, tls13, rest + get, True), 95, True) is True
    two = _records(certificates, tls13, rest, False)
    assert _beyond(two + _records(certificates, tls13, get, False), 95, True) is False


def _chunked(port: int, context: ssl.SSLContext, route: str) -> bytes:
    """The decrypted answer to a chunked POST: its head and a 5-byte chunk, 0.2 s later
    (the app answered, the capture waits) a size line, 2 bytes and the last chunk, each
    in a record of its own 50 ms apart; read until the answer's 2-byte body came."""
    with connected(port, context) as client:
        client.send(f"POST /wrap/{route} HTTP/1.1\r\nHost: localhost:{port}\r\n"
                    "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5\r\nshort\r\n".encode())
        time.sleep(0.2)
        for part in (b"2\r\n", b"ab", b"\r\n0\r\n\r\n"):
            client.send(part)
            time.sleep(0.05)
        return client.read_until(lambda got: got.endswith(b"\r\n\r\nok"))


@pytest.mark.parametrize("server", [
    "uvicorn", pytest.param("uvicorn-uvloop", marks=NO_UVLOOP),
    "hypercorn"], scope="module")
def test_two_bytes_of_a_chunked_body_are_not_a_close_notify(
        kept_collector: Collector,
        tls_grace_served: tuple[Served, ssl.SSLContext],  # noqa: F811 - the fixture
        server: str) -> None:
    answers = _three_rounds(kept_collector, tls_grace_served, _chunked, "shortab")
    assert all(answer.startswith(b"HTTP/1.1 200") for answer in answers), answers


def _three_rounds(collector: Collector, tls_served: tuple[Served, ssl.SSLContext],
                  client: Callable[[int, ssl.SSLContext, str], bytes], body: str
                  ) -> list[bytes]:
    """Three rounds of ``client`` over TLS 1.3 (a route of its own each); every round's
    log must hold the whole ``body``. The answers, for the caller to check."""
    served, context = tls_served
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    routes = _tagged(3)
    with telling(served):
        answers = [client(served.port, context, route) for route in routes]
        logs = [collector.wait_for_log(partial(_of_url, route)) for route in routes]
    posts = [log["request"]["log"]["entries"][0]["request"]["postData"] for log in logs]
    short = [post for post in posts if post["text"] != body]
    assert not short, (f"{len(short)} of {len(posts)} logged short", short)
    return answers
