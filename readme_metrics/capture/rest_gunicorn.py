"""gunicorn: the unread rest of a request body, copied without consuming anything.

Used by :mod:`readme_metrics.capture.rest`. gunicorn's ``wsgi.input`` reads the socket
through its own buffers; what is in them and what the socket has received is copied
(``MSG_PEEK``, after a zero-timeout readiness check), so the server's bookkeeping of the
connection is untouched and nothing ever waits for the client.

- :func:`gunicorn_peek`: a body with a Content-Length, as far as it has arrived.
- :func:`gunicorn_chunks`: a chunked body the app has not started reading: its chunks
  are read out of the copied bytes (RFC 9112 7.1), as far as they have arrived, and the
  last chunk tells that the body is whole.
"""

from __future__ import annotations

import inspect
import re
import socket
import time
from typing import Any, Mapping, Optional

from readme_metrics.capture.sockets import readable

__all__ = ["gunicorn_chunks", "gunicorn_peek"]

# A chunk-size line: hex digits, then extensions (ignored here) up to CRLF.
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?\r\n")
# Framing is small next to the data: how much more than the wanted data is copied.
_FRAMING_ROOM = 8192


def gunicorn_peek(stream: Any, environ: Mapping[str, Any], want: int, deadline: float
                  ) -> Optional[bytes]:
    """gunicorn: copy what its reader buffered and the socket received, consuming nothing.

    None when ``stream`` is not gunicorn's; b"" for a chunked body (see
    :func:`gunicorn_chunks`). Until ``deadline`` the copy is taken again every few
    milliseconds while it is short (peeked bytes stay readable, so waiting for
    readability would not tell of new ones).
    """
    if type(stream).__module__ != "gunicorn.http.body":
        return None
    from gunicorn.http.body import Body, LengthReader

    sock = environ.get("gunicorn.socket")
    if not isinstance(stream, Body) or not isinstance(stream.reader, LengthReader):
        return b""
    # The stream in order: Body's own buffer, the unreader's, then the socket's.
    held = stream.buf.getvalue() + stream.reader.unreader.buf.getvalue()
    data = held
    while len(data) < want and isinstance(sock, socket.socket):
        data = held + _peek_socket(sock, want - len(held))
        if len(data) >= want or time.monotonic() >= deadline:
            break
        time.sleep(0.002)
    return data[:want]


def gunicorn_chunks(stream: Any, environ: Mapping[str, Any], want: int, deadline: float
                    ) -> Optional[tuple[bytes, bool]]:
    """(the data of a chunked body gunicorn holds, True when its last chunk is there).

    None when ``stream`` is not a gunicorn chunked body the app has left untouched (once
    the app has read some, where the next chunk starts is gunicorn's own state).
    """
    if type(stream).__module__ != "gunicorn.http.body":
        return None
    from gunicorn.http.body import Body, ChunkedReader

    reader = getattr(stream, "reader", None)
    if not isinstance(stream, Body) or not isinstance(reader, ChunkedReader):
        return None
    parser = reader.parser
    if (stream.buf.tell() or reader.buf.tell() or parser is None
            or inspect.getgeneratorstate(parser) != inspect.GEN_CREATED):
        return None
    held = reader.req.unreader.buf.getvalue()
    sock = environ.get("gunicorn.socket")
    while True:
        raw = held
        if isinstance(sock, socket.socket):
            raw += _peek_socket(sock, want + _FRAMING_ROOM)
        data, whole = _dechunk(raw, want)
        if whole or len(data) >= want or time.monotonic() >= deadline:
            return data, whole
        time.sleep(0.002)


def _dechunk(raw: bytes, want: int) -> tuple[bytes, bool]:
    """The data of the chunks in ``raw`` (at most ``want`` bytes), and True once the last
    chunk (size 0) is in it. Stops at anything that is not chunked framing."""
    parts: list[bytes] = []
    got = 0
    at = 0
    while got < want:
        size_line = _CHUNK_SIZE.match(raw, at)
        if size_line is None:
            break
        size = int(size_line.group(1), 16)
        at = size_line.end()
        if size == 0:
            return b"".join(parts), True
        data = raw[at:at + min(size, want - got)]
        parts.append(data)
        got += len(data)
        if len(data) < size or raw[at + size:at + size + 2] != b"\r\n":
            break  # the rest of this chunk has not arrived (or the framing is broken)
        at += size + 2
    return b"".join(parts), False


def _peek_socket(sock: socket.socket, want: int) -> bytes:
    """What the socket has received, left in place; b"" when nothing has arrived."""
    if not readable(sock, 0):  # recv waits first on a socket with a timeout
        return b""
    flags = socket.MSG_PEEK | getattr(socket, "MSG_DONTWAIT", 0)
    try:
        return sock.recv(want, flags)
    except (BlockingIOError, InterruptedError):
        return b""
