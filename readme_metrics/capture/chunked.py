"""A chunked request body read out of bytes copied from a connection (RFC 9112 7.1).

For the unread-rest readers of servers that hand the app a chunked body through their
own dechunking reader (gunicorn, werkzeug): where a read would wait on the client, the
bytes that have arrived are copied (left in place) and the body's data is taken out of
its chunks here, as far as it has arrived; the last chunk tells that the body is whole.
"""

from __future__ import annotations

import re
import socket
import ssl
import time
from typing import Optional

from readme_metrics.capture.sockets import peek, peer_done

__all__ = ["copied_chunks", "dechunk"]

# A chunk-size line: hex digits, then extensions (ignored here) up to CRLF.
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?\r\n")
# Framing is small next to the data: how much more than the wanted data is copied.
_FRAMING_ROOM = 8192


def dechunk(raw: bytes, want: int) -> tuple[bytes, bool]:
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


def copied_chunks(held: bytes, sock: Optional[socket.socket], want: int, deadline: float,
                  lead: bytes = b"") -> tuple[bytes, bool]:
    """(the data of a chunked body, True when its last chunk is there), from ``held`` (what
    the server's reader buffered) followed by what ``sock`` has received, copied again
    every few milliseconds until ``deadline`` while the body is short and the client has
    not shut its side (without ``sock``, ``held`` is all there is: no wait; over TLS
    too: the bytes a TLS socket received are ciphertext, which no copy can read)."""
    if isinstance(sock, ssl.SSLSocket):
        sock = None
    while True:
        raw = lead + held  # lead: a size line for the rest of a chunk read in part
        ended = False
        if isinstance(sock, socket.socket):
            ended = peer_done(sock)  # asked first: what came before the end is copied
            raw += peek(sock, want + _FRAMING_ROOM)
        data, whole = dechunk(raw, want)
        if (whole or len(data) >= want or time.monotonic() >= deadline or ended
                or not isinstance(sock, socket.socket)):  # nothing more can come
            return data, whole
        peer_done(sock, 0.002)
