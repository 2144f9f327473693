"""A collector connection's time limits: a slow client cannot hold a handler thread.

A slowloris client (a byte now and then) held a handler thread forever. Each read waits
:data:`IDLE_TIMEOUT` at most (a kept-alive connection idle as long is closed; the
library's pool opens another); a request's line and headers, from their first byte, must
all arrive within :data:`HEAD_TIMEOUT`, and its body within :data:`BODY_TIMEOUT` of the
head's end (a batch is a few MiB at most; the library's POST gives up after its timeout,
3 s by default). The server holds them as attributes, so tests can shorten them.
"""

from __future__ import annotations

import io
import socket
import time
from typing import Any, Optional

__all__ = ["BODY_TIMEOUT", "HEAD_TIMEOUT", "IDLE_TIMEOUT", "TimedReader"]

IDLE_TIMEOUT = 30.0
HEAD_TIMEOUT = 60.0
BODY_TIMEOUT = 60.0


class TimedReader(io.RawIOBase):
    """A connection's reads, bounded: each waits ``idle`` seconds at most; between
    :meth:`start_head` (its first byte) and :meth:`end_head` a request's head must arrive
    within ``head`` seconds, and after it its body within ``body`` seconds, however
    slowly their bytes trickle in. Raises TimeoutError, which
    ``BaseHTTPRequestHandler.handle_one_request`` answers by closing."""

    def __init__(self, sock: socket.socket, idle: float, head: float, body: float) -> None:
        super().__init__()
        self._sock = sock
        self._idle = idle
        self._head = head
        self._body = body
        self._in_head = False
        self._deadline: Optional[float] = None

    def readable(self) -> bool:
        return True

    def start_head(self) -> None:
        self._in_head, self._deadline = True, None

    def end_head(self) -> None:
        # Until the next request's start_head: only its body is read meanwhile.
        self._in_head, self._deadline = False, time.monotonic() + self._body

    def readinto(self, buffer: Any) -> int:
        timeout = self._idle
        if self._deadline is not None:
            left = self._deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the request's head or body took too long")
            timeout = min(timeout, left)
        self._sock.settimeout(timeout)
        count = self._sock.recv_into(buffer)
        if self._in_head and self._deadline is None:
            self._deadline = time.monotonic() + self._head
        return count
