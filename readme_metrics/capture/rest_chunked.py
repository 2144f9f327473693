"""The development servers: an unread chunked body, copied without consuming it.

Used by :mod:`readme_metrics.capture.rest`. Behind ``flask run`` and ``app.run()`` a
chunked request body reaches the app through werkzeug's ``DechunkedInput`` over the
connection's buffered reader, and werkzeug throws the unread rest away once the response
iterable is exhausted; wsgiref (and runserver, built on it) does not de-chunk at all and
hands the app the connection's reader itself. A read there waits for the client, so a
body the app never started reading is copied instead: what the reader has buffered
(``peek``, with the socket non-blocking for that call, so it never waits) followed by
what the socket has received (``MSG_PEEK``), read out of its chunks (``chunked.py``).
Nothing is consumed: the server's own reads, and its discarding, see the same bytes.
"""

from __future__ import annotations

import errno
import io
import socket
from typing import Any, Optional

from readme_metrics.capture.chunked import copied_chunks
from readme_metrics.capture.sockets import WOULD_BLOCK, socket_of

__all__ = ["dechunked_all", "held", "is_dechunking", "socket_chunks", "untouched"]


def is_dechunking(stream: Any) -> bool:
    """True for werkzeug's dechunking reader (a chunked body behind its server)."""
    return type(stream).__name__ == "DechunkedInput" and type(stream).__module__ == (
        "werkzeug.serving")


def dechunked_all(stream: Any) -> bool:
    """True when werkzeug's dechunking reader has read its body's last chunk: the app
    (or a framework's reader over it, Django's LimitedStream by a Content-Length sent
    beside the chunks) read all of it, though no read of it has met its end yet."""
    return getattr(stream, "_done", False) is True


def untouched(stream: Any) -> bool:
    """True when werkzeug's dechunking reader has not read any of its body yet."""
    return not getattr(stream, "_done", True) and getattr(stream, "_len", None) == 0


def socket_chunks(stream: Any, framed: bool, want: int, deadline: float
                  ) -> Optional[tuple[bytes, bool]]:
    """(the data of a chunked body not read yet, True when its last chunk is there);
    None when ``stream`` is neither werkzeug's dechunking reader at its start (once the
    app has read some, where the next chunk starts is werkzeug's own state) nor, with
    ``framed`` (the server left the chunks as sent: no ``wsgi.input_terminated``), a
    reader over a socket."""
    if is_dechunking(stream):
        if not untouched(stream):
            return None
        stream = getattr(stream, "_rfile", None)
    elif not framed:
        return None  # a reader that de-chunks in a way not known here
    sock = socket_of(stream)
    if sock is None or not isinstance(stream, io.BufferedReader):
        return None
    return copied_chunks(held(stream, sock), sock, want, deadline)


class _Held:
    """A socket stand-in whose reads would block: a reader's ``peek()`` over it gives
    what the reader holds, and reads nothing off the connection."""

    __slots__ = ()

    def recv_into(self, *args: Any) -> int:
        raise BlockingIOError(errno.EAGAIN, "what the reader holds only")


_HELD = _Held()


def held(stream: io.BufferedReader, sock: socket.socket) -> bytes:
    """What the socket reader ``stream`` has buffered, without waiting and without
    consuming it. Nothing is read off the connection into that buffer (``peek()`` reads
    the socket when its buffer is empty): there werkzeug's discard would no longer see
    it, and leave it to the app's close(), where bare it throws it away."""
    raw = stream.raw
    if isinstance(raw, socket.SocketIO) and getattr(raw, "_sock", None) is sock:
        raw._sock = _HELD  # type: ignore[attr-defined]
        try:
            return stream.peek()
        except WOULD_BLOCK:
            return b""
        finally:
            raw._sock = sock  # type: ignore[attr-defined]
    timeout = sock.gettimeout()
    sock.settimeout(0.0)  # peek() reads the socket when its buffer is empty: never wait
    try:
        return stream.peek()
    except WOULD_BLOCK:
        return b""
    finally:
        sock.settimeout(timeout)
