"""review150: tls_feed (delivery78) under odd record splits, a slow drip, pipelining, a
huge body and a client that aborts mid-record, over uvicorn and hypercorn's asyncio
worker on asyncio and uvloop (the server in a thread, as delivery78's test).

The app answers without reading the body, so the capture waits for the body's rest
(``GRACE`` made long) and the rest's records come while it waits: each is handed to the
server's TLS protocol by :func:`readme_metrics.capture.tls_feed.feed`. The client's answer
and the log's body must be whole and each byte once; nothing may hang.
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import MetricsMiddleware
from readme_metrics.capture import asgi_receive
from tests.support.fake_api import Collector, free_port
from tests.support.polling import PATIENCE, wait_until
from tests.support.tls import make_certificates
from tests.support.tls_bio import connected
from tests.test_asgi_servers import NO_UVLOOP
from tests.test_delivery78_close_notify_in_the_window import _hypercorn, _uvicorn

WAIT = 0.3  # seconds the client lets the capture start its wait before the rest


async def _noread(scope: Any, receive: Any, send: Any) -> None:
    """Answers "ok" without reading the body."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


@contextmanager
def _served(server: str, loop: str, collector: Collector, tmp_path: Path
            ) -> Iterator[tuple[int, ssl.SSLContext]]:
    certificates = make_certificates(tmp_path)
    wrapped = MetricsMiddleware(_noread, MetricsApiConfig(
        api_key="review150-key", grouping_function=lambda request: {"api_key": "r150"},
        metrics_api=collector.url, buffer_length=1))

    async def app(scope: Any, receive: Any, send: Any) -> None:
        bare = scope.get("path", "").startswith("/bare")
        await (_noread if bare else wrapped)(scope, receive, send)

    port = free_port()
    run, listening, ended = (_uvicorn if server == "uvicorn" else _hypercorn)(
        app, port, loop, certificates)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        wait_until(listening)
        yield port, ssl.create_default_context(cafile=str(certificates.ca))
    finally:
        ended()
        thread.join(PATIENCE)
        wrapped.close()


def _head(port: int, declared: int, path: str = "/r150") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: localhost:{port}\r\n"
            f"Content-Type: text/plain\r\nContent-Length: {declared}\r\n\r\n").encode()


SERVERS = pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
LOOPS = pytest.mark.parametrize("loop", ["asyncio", pytest.param("uvloop", marks=NO_UVLOOP)])


@pytest.fixture(autouse=True)
def _long_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asgi_receive, "GRACE", 5.0)


def _answered(got: bytes) -> bool:
    return got.startswith(b"HTTP/1.1 200") and got.endswith(b"\r\n\r\nok")


@SERVERS
@LOOPS
@pytest.mark.parametrize("split", ["records", "bytes"])
def test_a_rest_dripped_in_tiny_records_or_bytes(
        server: str, loop: str, split: str, collector: Collector, tmp_path: Path) -> None:
    """The rest as 40 one-byte records (``records``), or its ciphertext one byte a write
    (``bytes``: records split across segments), then close_notify: the answer whole,
    the log's body whole."""
    rest = bytes(range(65, 65 + 40))
    with _served(server, loop, collector, tmp_path) as (port, context), \
            connected(port, context) as client:
        client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client.send(_head(port, 5 + len(rest)) + b"short")
        time.sleep(WAIT)
        if split == "records":
            for byte in rest:
                client.send(bytes([byte]))
                time.sleep(0.005)
        else:
            sealed = client.sealed(rest)
            for at in range(len(sealed)):
                client.sock.sendall(sealed[at:at + 1])
                time.sleep(0.002)
        time.sleep(WAIT)  # (a close_notify with the rest's last bytes ends the wait)
        client.sock.sendall(client.close_notify())
        got = client.read_to_end()
        log = collector.wait_for_log(lambda log: True)
    assert _answered(got), got
    entry = log["request"]["log"]["entries"][0]
    assert entry["request"]["postData"]["text"] == "short" + rest.decode(), entry["request"]


@SERVERS
@LOOPS
def test_a_huge_rest_then_close_notify(
        server: str, loop: str, collector: Collector, tmp_path: Path) -> None:
    """1 MiB of rest in one write with close_notify behind it (more than LOOK, and more
    than the servers' flow control lets wait): the answer whole, the body's size told.
    On asyncio (uvicorn and hypercorn) from delivery78 to delivery83: 147,461 bytes
    logged (8 of 8 runs; 82eb50ac logged it whole): the feed read whole records only, and
    one not whole at the socket's head kept the receive buffer full (its segments'
    memory), the client's window shut, the wait spinning to its end."""
    rest = b"y" * (1 << 20)
    with _served(server, loop, collector, tmp_path) as (port, context), \
            connected(port, context) as client:
        client.send(_head(port, 5 + len(rest)) + b"short")
        time.sleep(WAIT)
        client.sock.sendall(client.sealed(rest) + client.close_notify())
        got = client.read_to_end()
        log = collector.wait_for_log(lambda log: True)
    assert _answered(got), got[:200]
    entry = log["request"]["log"]["entries"][0]
    assert entry["request"]["bodySize"] == 5 + len(rest), entry["request"]["bodySize"]


@SERVERS
@LOOPS
@pytest.mark.parametrize("together", [True, False], ids=["one-record", "own-records"])
def test_a_pipelined_request_behind_the_rest(
        server: str, loop: str, together: bool, collector: Collector,
        tmp_path: Path) -> None:
    """The rest and a second request (in one record, or records of their own) in one
    write: both answered, in order, each logged with its own body, each byte once."""
    rest = b"z" * 60
    with _served(server, loop, collector, tmp_path) as (port, context), \
            connected(port, context) as client:
        client.send(_head(port, 5 + len(rest)) + b"short")
        time.sleep(WAIT)
        second = _head(port, 6, "/second") + b"second"
        sealed = client.sealed(rest + second) if together else (
            client.sealed(rest) + client.sealed(second))
        client.sock.sendall(sealed)
        got = client.read_until(lambda got: got.count(b"\r\n\r\nok") == 2, PATIENCE)
        logs = collector.wait_for_logs(2)
    assert got.count(b"HTTP/1.1 200") == 2 and got.endswith(b"\r\n\r\nok"), got
    bodies = [log["request"]["log"]["entries"][0]["request"]["postData"]["text"]
              for log in logs]
    assert sorted(bodies) == sorted(["short" + rest.decode(), "second"]), bodies


@SERVERS
@LOOPS
def test_a_client_that_resets_mid_record_hangs_nothing(
        server: str, loop: str, collector: Collector, tmp_path: Path) -> None:
    """Half of the rest's record, then a reset: the server serves the next client at once
    and the first exchange is logged."""
    rest = b"w" * 200
    with _served(server, loop, collector, tmp_path) as (port, context):
        with connected(port, context) as client:
            client.send(_head(port, 5 + len(rest)) + b"short")
            time.sleep(WAIT)
            sealed = client.sealed(rest)
            client.sock.sendall(sealed[: len(sealed) // 2])
            time.sleep(0.1)
            client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        with connected(port, context) as other:
            other.send(_head(port, 2) + b"hi")
            got = other.read_until(_answered)
        log = collector.wait_for_log(lambda log: True)
    assert _answered(got), got
    assert log["request"]["log"]["entries"]
