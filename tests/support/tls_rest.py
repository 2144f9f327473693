"""The client's side of a body whose rest comes over TLS while the capture waits for it
(tests/test_review150_tls_feed.py, tests/test_delivery83_tls_rest_with_notify.py): the
request's head, its answer told whole, and the rest sent with close_notify behind it.

The server is :mod:`tests.support.tls_asgi_thread`'s, the client
:class:`tests.support.tls_bio.BioClient`.
"""

from __future__ import annotations

import time

from tests.support.tls_bio import BioClient

WAIT = 0.3  # seconds the client lets the capture start its wait before the rest


def head(port: int, declared: int, path: str = "/r150") -> bytes:
    """A POST's head to ``path`` declaring ``declared`` bytes of text."""
    return (f"POST {path} HTTP/1.1\r\nHost: localhost:{port}\r\n"
            f"Content-Type: text/plain\r\nContent-Length: {declared}\r\n\r\n").encode()


def answered(got: bytes) -> bool:
    """Whether ``got`` is the no-read app's whole answer."""
    return got.startswith(b"HTTP/1.1 200") and got.endswith(b"\r\n\r\nok")


def rest_with_notify(client: BioClient, port: int, rest: bytes) -> bytes:
    """The head and "short" in a record, then (after :data:`WAIT`) ``rest``'s records and
    close_notify in one write: what the server sent until it closed, decrypted."""
    client.send(head(port, 5 + len(rest)) + b"short")
    time.sleep(WAIT)
    client.sock.sendall(client.sealed(rest) + client.close_notify())
    return client.read_to_end()
