"""A chunked request body read out of bytes copied from a connection (RFC 9112 7.1).

For the unread-rest readers of servers that hand the app a chunked body through their
own dechunking reader (gunicorn, werkzeug): where a read would wait on the client, the
bytes that have arrived are copied (left in place) and the body's data is taken out of
its chunks here, as far as it has arrived; the last chunk tells that the body is whole.
wsgiref hands the app the chunks as sent: the rest of a body the app read part of is
copied framed, from where the app's bytes stop in the framing (``framing_end``).
"""

from __future__ import annotations

import re
import socket
import ssl
import time
from typing import Optional

from readme_metrics.capture.sockets import peek, peer_done

__all__ = ["broken", "copied_chunks", "dechunk", "framing_end"]

# A chunk-size line: hex digits, then extensions (ignored here) up to CRLF.
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?\r\n")
# Framing is small next to the data: how much more than the wanted data is copied.
_FRAMING_ROOM = 8192


def dechunk(raw: bytes, want: int) -> tuple[bytes, bool]:
    """The data of the chunks in ``raw`` (at most ``want`` bytes), and True once the last
    chunk (size 0) is in it, right after the ``want`` bytes too (a body exactly as long
    as what is kept is whole, not cut). Stops at anything that is not chunked framing."""
    parts: list[bytes] = []
    got = 0
    at = 0
    while True:
        size_line = _CHUNK_SIZE.match(raw, at)
        if size_line is None:
            break
        size = int(size_line.group(1), 16)
        at = size_line.end()
        if size == 0:
            return b"".join(parts), True
        if got >= want:
            break  # more data: a longer body
        data = raw[at:at + min(size, want - got)]
        parts.append(data)
        got += len(data)
        if len(data) < size or raw[at + size:at + size + 2] != b"\r\n":
            break  # the rest of this chunk has not arrived (or the framing is broken)
        at += size + 2
    return b"".join(parts), False


def framing_end(raw: bytes) -> tuple[int, bool]:
    """How far ``raw``, from a chunked body's first byte, is that body's framing (chunks,
    the last chunk, trailer fields and the empty line that ends them), and True when the
    body's end is in it. Stops before anything that is not chunked framing (a size line
    or a CRLF not all there yet): what follows may be the next request's."""
    at = 0
    n = len(raw)
    while True:
        size_line = _CHUNK_SIZE.match(raw, at)
        if size_line is None:
            return at, False
        size = int(size_line.group(1), 16)
        at = size_line.end()
        if size == 0:
            while True:  # trailer fields, then an empty line
                eol = raw.find(b"\r\n", at)
                if eol == at:
                    return at + 2, True
                if eol < 0 or raw[at:at + 1] in b" \t" or b":" not in raw[at:eol]:
                    return at, False
                at = eol + 2
        end = at + size
        if end > n:
            return n, False  # the rest of this chunk's data has not arrived
        if raw[end:end + 2] != b"\r\n":
            return end, False
        at = end + 2


def broken(raw: bytes) -> bool:
    """Whether the chunked framing ``raw`` (from a body's first byte) can never end: a
    whole line stands where a chunk-size line or a trailer field belongs and is neither
    (``zz``, ``-1``), or a chunk's data runs on past its size to a line end. A line not
    all there yet is not broken: the client may still be sending it."""
    end, whole = framing_end(raw)
    return not whole and b"\r\n" in raw[end:]


def _framed_rest(read: bytes, raw: bytes, want: int) -> tuple[bytes, bool]:
    """The framed bytes in ``raw`` that follow ``read`` (the body's first framed bytes) in
    its chunked framing, at most ``want``; True when the body's end is among them."""
    end, whole = framing_end(read + raw)
    rest = raw[:max(end - len(read), 0)]
    return (rest[:want], False) if len(rest) > want else (rest, whole)


def copied_chunks(held: bytes, sock: Optional[socket.socket], want: int, deadline: float,
                  lead: bytes = b"", read: Optional[bytes] = None) -> tuple[bytes, bool]:
    """(the data of a chunked body, True when its last chunk is there), from ``held`` (what
    the server's reader buffered) followed by what ``sock`` has received, copied again
    every few milliseconds until ``deadline`` while the body is short and the client has
    not shut its side (without ``sock``, ``held`` is all there is: no wait; over TLS
    too: the bytes a TLS socket received are ciphertext, which no copy can read), and
    the framing is not :func:`broken` (a bad chunk size: no byte more makes it whole,
    and the wait would only make the answer later than the bare app's).

    ``read``: the framed bytes of the body the app has read already, from a server that
    leaves the chunks framed (wsgiref): the rest is given framed too, as the app would
    read it on, up to the body's end (:func:`framing_end`), not read out of its chunks."""
    if isinstance(sock, ssl.SSLSocket):
        sock = None
    while True:
        raw = lead + held  # lead: a size line for the rest of a chunk read in part
        ended = False
        if isinstance(sock, socket.socket):
            ended = peer_done(sock)  # asked first: what came before the end is copied
            raw += peek(sock, want + _FRAMING_ROOM)
        data, whole = dechunk(raw, want) if read is None else _framed_rest(read, raw, want)
        if (whole or len(data) >= want or time.monotonic() >= deadline or ended
                or not isinstance(sock, socket.socket)  # nothing more can come
                or broken(raw if read is None else read + raw)):  # nor make it whole
            return data, whole
        peer_done(sock, 0.002)
