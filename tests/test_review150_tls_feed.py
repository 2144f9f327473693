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
import struct
import time
from pathlib import Path

import pytest

from tests.support.fake_api import Collector
from tests.support.polling import PATIENCE
from tests.support.tls_asgi_thread import LOOPS, SERVERS, served
from tests.support.tls_bio import connected
from tests.support.tls_rest import (  # noqa: F401 (the fixture)
    WAIT,
    answered,
    head,
    logged_body_size,
    long_grace,
    rest_with_notify,
)

pytestmark = pytest.mark.usefixtures("long_grace")


@SERVERS
@LOOPS
@pytest.mark.parametrize("split", ["records", "bytes"])
def test_a_rest_dripped_in_tiny_records_or_bytes(
        server: str, loop: str, split: str, collector: Collector, tmp_path: Path) -> None:
    """The rest as 40 one-byte records (``records``), or its ciphertext one byte a write
    (``bytes``: records split across segments), then close_notify: the answer whole,
    the log's body whole."""
    rest = bytes(range(65, 65 + 40))
    with served(server, loop, collector, tmp_path, "review150") as (port, context), \
            connected(port, context) as client:
        client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client.send(head(port, 5 + len(rest)) + b"short")
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
    assert answered(got), got
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
    with served(server, loop, collector, tmp_path, "review150") as (port, context), \
            connected(port, context) as client:
        got = rest_with_notify(client, port, rest)
        logged = logged_body_size(collector)
    assert answered(got), got[:200]
    assert logged == 5 + len(rest), logged


@SERVERS
@LOOPS
@pytest.mark.parametrize("together", [True, False], ids=["one-record", "own-records"])
def test_a_pipelined_request_behind_the_rest(
        server: str, loop: str, together: bool, collector: Collector,
        tmp_path: Path) -> None:
    """The rest and a second request (in one record, or records of their own) in one
    write: both answered, in order, each logged with its own body, each byte once."""
    rest = b"z" * 60
    with served(server, loop, collector, tmp_path, "review150") as (port, context), \
            connected(port, context) as client:
        client.send(head(port, 5 + len(rest)) + b"short")
        time.sleep(WAIT)
        second = head(port, 6, "/second") + b"second"
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
    with served(server, loop, collector, tmp_path, "review150") as (port, context):
        with connected(port, context) as client:
            client.send(head(port, 5 + len(rest)) + b"short")
            time.sleep(WAIT)
            sealed = client.sealed(rest)
            client.sock.sendall(sealed[: len(sealed) // 2])
            time.sleep(0.1)
            client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        with connected(port, context) as other:
            other.send(head(port, 2) + b"hi")
            got = other.read_until(answered)
        log = collector.wait_for_log(lambda log: True)
    assert answered(got), got
    assert log["request"]["log"]["entries"]
