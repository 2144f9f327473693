"""Deliveries held where a verdict meets a stop, shared by the honest-lines tests
(tests/test_delivery81_honest_counts.py, tests/test_delivery85_honest_lines.py,
tests/test_delivery86_honest_lines.py).

``head_then_held``: a stand-in Metrics API on 127.0.0.1 that answers each POST's status
line and headers at once and holds the answer's body: the API's verdict is in while the
close's deadline comes. A raw socket server: the collector of :mod:`tests.support.fake_api`
sends an answer whole or not at all. (``paused_with_a_retry_waiting``, here from flaky63
to house57, is in :mod:`tests.support.paused_retry`.)
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any, Callable

import pytest

from readme_metrics.delivery import Delivery
from tests.support.delivery import MakeDelivery, posting
from tests.support.processes import LINE_WAIT


def _read_post(conn: socket.socket) -> bool:
    """Reads one request, head and ``Content-Length`` body; False if the client closed
    before it was whole."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        rest += chunk
    return True


@pytest.fixture(name="head_then_held")
def head_then_held_fixture() -> Iterator[tuple[str, threading.Event]]:
    """(the server's URL, the event its answers' bodies wait for): a server that reads
    each POST in full, answers its status line and headers (``202 Accepted``,
    ``Content-Length: 2``) at once, and its body only once the event is set. A module
    takes it by importing ``head_then_held_fixture``."""
    server = socket.create_server(("127.0.0.1", 0))
    body = threading.Event()

    def one(conn: socket.socket) -> None:
        with conn:
            if not _read_post(conn):
                return
            conn.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n")
            body.wait(LINE_WAIT)
            try:
                conn.sendall(b"ok")
            except OSError:
                pass

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=one, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}", body
    finally:
        body.set()
        server.close()


def closed_as_the_head_came(make_delivery: MakeDelivery, url: str, direct: bool,
                            before_close: Callable[[Delivery], Any] = lambda _: None
                            ) -> Delivery:
    """3 logs posted to ``head_then_held``'s ``url`` in one POST (``timeout`` 60 s),
    its 202's head read, then ``close()`` with ``shutdown_timeout`` 0.5 s: it cuts the
    POST at its deadline, the answer's body still held. ``before_close(delivery)`` runs
    right before the close (a test's held points). The Delivery, closed."""
    delivery = make_delivery(url, buffer_length=3, shutdown_timeout=0.5, timeout=60.0,
                             direct=direct)
    posting(delivery, "a", "b", "c", timeout=LINE_WAIT)
    time.sleep(0.2)  # (its head read: nothing more comes before the deadline)
    before_close(delivery)
    delivery.close()
    return delivery

