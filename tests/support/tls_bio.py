"""A TLS client over memory BIOs: the test decides which bytes go in each write, and
when close_notify goes (tests/test_delivery75_tls_end_behind_data.py,
tests/test_review147_findings.py, tests/test_review150_tls_feed.py, delivery78's and
delivery83's). :func:`tests.test_half_close_late.tls_in_parts` is the client that sends
over an ``ssl`` socket instead (a FIN with no close_notify)."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Callable


class BioClient:
    """A TLS session of ``context`` (checking the name ``localhost``) over ``sock``."""

    def __init__(self, sock: socket.socket, context: ssl.SSLContext) -> None:
        self.sock = sock
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing,
                                    server_hostname="localhost")

    def pump(self) -> None:
        """Send what the session has written and not yet sent."""
        data = self.outgoing.read()
        if data:
            self.sock.sendall(data)

    def handshake(self) -> None:
        """The handshake, to its last bytes sent."""
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.pump()
                data = self.sock.recv(65536)
                if not data:
                    raise ConnectionError("closed in the handshake") from None
                self.incoming.write(data)
        self.pump()

    def send(self, data: bytes) -> None:
        """``data`` in a record (or records) of its own, sent at once."""
        self.tls.write(data)
        self.pump()

    def sealed(self, data: bytes) -> bytes:
        """The records of ``data``, not sent: the caller sends them."""
        self.tls.write(data)
        return self.outgoing.read()

    def close_notify(self) -> bytes:
        """The client's close_notify record, not sent (its answer never waited for)."""
        try:
            self.tls.unwrap()
        except ssl.SSLWantReadError:
            pass
        return self.outgoing.read()

    def read_until(self, done: Callable[[bytearray], bool], seconds: float = 10) -> bytes:
        """What the server sent, decrypted, read until ``done`` says so (or ``seconds``
        passed, or the end)."""
        got = bytearray()
        until = time.monotonic() + seconds
        while not done(got) and time.monotonic() < until:
            try:
                data = self.sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            self.incoming.write(data)
            try:
                while chunk := self.tls.read(65536):
                    got += chunk
            except ssl.SSLWantReadError:
                pass
            except (ssl.SSLError, ssl.SSLZeroReturnError):
                break
        return bytes(got)

    def read_to_end(self) -> bytes:
        """Every byte the server sent until it closed (or the socket's timeout), then
        decrypted as far as the session reads them."""
        raw = bytearray()
        try:
            while chunk := self.sock.recv(65536):
                raw += chunk
        except OSError:
            pass
        self.incoming.write(bytes(raw))
        got = bytearray()
        try:
            while chunk := self.tls.read(65536):
                got += chunk
        except (ssl.SSLError, ssl.SSLZeroReturnError):
            pass
        return bytes(got)


@contextmanager
def connected(port: int, context: ssl.SSLContext, timeout: float = 10
              ) -> Iterator[BioClient]:
    """A :class:`BioClient` to 127.0.0.1:``port`` (a socket timeout of ``timeout``
    seconds), its handshake done; the socket closed after."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        client = BioClient(sock, context)
        client.handshake()
        yield client
