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
One the app has started reading is copied on from where it is: werkzeug's reader says
where in a chunk; under wsgiref the framed bytes the app read do, and the rest is copied
framed, as the app would read it there.
"""

from __future__ import annotations

import contextlib
import io
import socket
from typing import Any, Iterator, Optional

from readme_metrics.capture.chunked import copied_chunks
from readme_metrics.capture.sockets import WOULD_BLOCK, Held, socket_of

__all__ = ["dechunked_all", "held", "is_dechunking", "reader_only", "socket_chunks",
           "untouched"]


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


def socket_chunks(stream: Any, framed: bool, want: int, deadline: float,
                  read: Optional[bytes] = None) -> Optional[tuple[bytes, bool]]:
    """(the data of a chunked body not read yet, True when its last chunk is there);
    None when ``stream`` is neither werkzeug's dechunking reader (at a chunk's start, or
    in a chunk the app read part of: werkzeug's own state says how much of it is left,
    read as that chunk's own) nor, with ``framed`` (the server left the chunks as sent:
    no ``wsgi.input_terminated``), a reader over a socket. ``read``: the framed bytes
    the app read of such a body (wsgiref gives it the chunks as sent): the rest is
    copied framed, from where they stop in the framing (``copied_chunks``)."""
    lead = b""
    if is_dechunking(stream):
        left = getattr(stream, "_len", None)
        if not untouched(stream):
            if getattr(stream, "_done", True) or left.__class__ is not int or left <= 0:
                return None
            lead = b"%x\r\n" % left  # the rest of the chunk the app is in
        stream = getattr(stream, "_rfile", None)
        read = None  # werkzeug's reader is where the app is: read out of the chunks
    elif not framed:
        return None  # a reader that de-chunks in a way not known here
    sock = socket_of(stream)
    if sock is None or not isinstance(stream, io.BufferedReader):
        return None
    return copied_chunks(held(stream, sock), sock, want, deadline, lead, read)


@contextlib.contextmanager
def reader_only(stream: Any) -> Iterator[bool]:
    """While in it, reads of the socket reader ``stream`` (``socket.makefile``'s) give
    what it has buffered and read nothing off the connection (a read that would need the
    socket finds it would block: ``read1`` gives b"", ``peek`` what is buffered). Gives
    False, and changes nothing, for another stream."""
    raw = getattr(stream, "raw", None)
    sock = getattr(raw, "_sock", None)
    if not (isinstance(stream, io.BufferedReader) and isinstance(raw, socket.SocketIO)
            and isinstance(sock, socket.socket)):
        yield False
        return
    raw._sock = Held(sock)  # type: ignore[attr-defined]
    try:
        yield True
    finally:
        raw._sock = sock  # type: ignore[attr-defined]


def held(stream: io.BufferedReader, sock: socket.socket) -> bytes:
    """What the socket reader ``stream`` has buffered, without waiting and without
    consuming it. Nothing is read off the connection into that buffer (``peek()`` reads
    the socket when its buffer is empty): there werkzeug's discard would no longer see
    it, and leave it to the app's close(), where bare it throws it away."""
    if socket_of(stream) is sock:
        with reader_only(stream) as only:
            if only:
                try:
                    return stream.peek()
                except WOULD_BLOCK:
                    return b""
    timeout = sock.gettimeout()
    sock.settimeout(0.0)  # peek() reads the socket when its buffer is empty: never wait
    try:
        return stream.peek()
    except WOULD_BLOCK:
        return b""
    finally:
        sock.settimeout(timeout)
