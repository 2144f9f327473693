"""A Metrics API that answers, then hangs up a kept-alive connection without warning.

Servers close idle keep-alive connections whenever they like (a timeout, a deploy, a load
balancer), by a FIN or a RST, and say nothing beforehand: the answer carries no
``Connection: close``. A client must notice before it sends on such a connection, or
fail that POST so it is retried; never lose a log, never send one twice.
"""

from __future__ import annotations

import socket
import struct
import threading

from tests.support.raw_requests import read_request

_ACCEPTED = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"


class HangupServer:
    """Answers each request with ``answer`` (raw bytes: ``202`` and no body by default),
    then closes (``how="close"``: FIN) or resets (``how="reset"``: RST) the connection
    after ``after`` answers on it; with ``on_release``, only once :meth:`release` was
    called for it (a RST right after the answer may destroy the answer before the client
    read it, so a test that wants an idle hangup says when the client is done).

    ``bodies`` lists every request body answered; ``hangups`` counts connections it ended.
    """

    def __init__(self, how: str = "close", after: int = 1, answer: bytes = _ACCEPTED,
                 on_release: bool = False) -> None:
        self.how = how
        self.after = after
        self.answer = answer
        self.on_release = on_release
        self.releases = 0
        self.bodies: list[bytes] = []
        self.hangups = 0
        self.peers: set[tuple[str, int]] = set()
        self._cond = threading.Condition()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, peer = self._sock.accept()
            except OSError:
                return
            with self._cond:
                self.peers.add(peer)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buffered = b""
        try:
            for _ in range(self.after):
                body, buffered = read_request(conn, buffered)
                if body is None:
                    return
                with self._cond:
                    self.bodies.append(body)
                conn.sendall(self.answer)
            if self.on_release:
                with self._cond:
                    self._cond.wait_for(lambda: self.releases > self.hangups, 10.0)
            if self.how == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        finally:
            conn.close()
            with self._cond:
                self.hangups += 1
                self._cond.notify_all()

    def release(self) -> None:
        """Let the server hang up the connection it holds (``on_release``)."""
        with self._cond:
            self.releases += 1
            self._cond.notify_all()

    def wait_hangups(self, count: int, timeout: float = 10.0) -> None:
        """Block until ``count`` connections were ended by the server."""
        with self._cond:
            if not self._cond.wait_for(lambda: self.hangups >= count, timeout):
                raise AssertionError(f"{self.hangups} hangups, expected {count}")

    def close(self) -> None:
        self._sock.close()

