"""The client's side of a body whose rest comes over TLS while the capture waits for it
(tests/test_review150_tls_feed.py, tests/test_delivery83_tls_rest_with_notify.py,
tests/test_review151_findings.py): the capture's wait made long (:func:`long_grace`), the
request's head, its answer told whole, the rest sent with close_notify behind it, and the
body's size as logged.

The server is :mod:`tests.support.tls_asgi_thread`'s, the client
:class:`tests.support.tls_bio.BioClient`.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from readme_metrics.capture import asgi_receive
from tests.support.fake_api import Collector
from tests.support.tls_bio import BioClient

WAIT = 0.3  # seconds the client lets the capture start its wait before the rest


@pytest.fixture
def long_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ASGI capture waits 5 s for a body's rest (``asgi_receive.GRACE``): the rest
    comes during the wait, however the client is scheduled. A module takes it with
    ``pytestmark = pytest.mark.usefixtures("long_grace")``, the fixture imported."""
    monkeypatch.setattr(asgi_receive, "GRACE", 5.0)


def head(port: int, declared: int, path: str = "/r150") -> bytes:
    """A POST's head to ``path`` declaring ``declared`` bytes of text."""
    return (f"POST {path} HTTP/1.1\r\nHost: localhost:{port}\r\n"
            f"Content-Type: text/plain\r\nContent-Length: {declared}\r\n\r\n").encode()


def answered(got: bytes) -> bool:
    """Whether ``got`` is the no-read app's whole answer."""
    return got.startswith(b"HTTP/1.1 200") and got.endswith(b"\r\n\r\nok")


def rest_with_notify(client: BioClient, port: int, rest: bytes, short_by: int = 0) -> bytes:
    """The head (declaring ``short_by`` bytes more than the client sends) and "short" in
    a record, then (after :data:`WAIT`) ``rest``'s records and close_notify in one
    write: what the server sent until it closed, decrypted."""
    client.send(head(port, 5 + len(rest) + short_by) + b"short")
    time.sleep(WAIT)
    client.sock.sendall(client.sealed(rest) + client.close_notify())
    return client.read_to_end()


def logged_body_size(collector: Collector) -> Any:
    """The ``bodySize`` of the first log's request, once ``collector`` has a log."""
    log = collector.wait_for_log(lambda log: True)
    return log["request"]["log"]["entries"][0]["request"]["bodySize"]
