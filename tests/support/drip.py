"""A Metrics API stand-in that drips its answer one byte at a time (a slow-read fault)."""

from __future__ import annotations

import socket
import ssl
import threading
from typing import Optional

from tests.support.raw_requests import read_body


class DripServer:
    """A Metrics API that answers one byte every ``interval`` seconds (slowloris in reverse).

    Each connection's request is read in full, then ``HTTP/1.1 202 Accepted`` and an
    endless header are sent a byte at a time until the client closes the connection or
    ``max_bytes`` went out. ``sent`` lists, per connection, how many bytes the client took
    before it hung up: a client that bounds the whole exchange stops it early. With a
    ``prefix`` (say, a whole status line and headers), that goes at once and the dripping
    answer is ``max_bytes`` of body after it. With a server ``context`` it speaks TLS and
    its ``url`` names ``localhost`` (a client that left is then noticed when a byte can
    no longer be sent, a byte or two later).
    """

    def __init__(self, interval: float = 0.4, max_bytes: int = 200,
                 prefix: bytes = b"", context: Optional[ssl.SSLContext] = None) -> None:
        self.interval = interval
        self.context = context
        self.max_bytes = max_bytes
        self.prefix = prefix
        self.sent: list[int] = []
        self.requests = 0
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        port = self._sock.getsockname()[1]
        self.url = (f"https://localhost:{port}" if context else f"http://127.0.0.1:{port}")
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _client_left(self, conn: socket.socket) -> bool:
        if self.context is not None:  # no peeking under TLS: a failed send tells
            return False
        conn.settimeout(0.0)
        try:
            return conn.recv(1, socket.MSG_PEEK) == b""
        except BlockingIOError:
            return False
        finally:
            conn.settimeout(None)

    def _serve(self, conn: socket.socket) -> None:
        answer = (b"a" * self.max_bytes if self.prefix
                  else b"HTTP/1.1 202 Accepted\r\nX-Drip: " + b"a" * self.max_bytes)
        sent = 0
        try:
            if self.context is not None:
                conn = self.context.wrap_socket(conn, server_side=True)
            if read_body(conn) is None:
                return
            with self._lock:
                self.requests += 1
            conn.sendall(self.prefix)
            for byte in answer[: self.max_bytes]:
                conn.sendall(bytes([byte]))
                sent += 1
                if self._stop.wait(self.interval) or self._client_left(conn):
                    break
        except OSError:
            pass
        finally:
            with self._lock:
                self.sent.append(sent)
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
