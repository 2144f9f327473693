"""gunicorn: the unread rest of a request body, read or copied, never waiting.

Used by :mod:`readme_metrics.capture.rest`. gunicorn's ``wsgi.input`` reads the socket
through its own buffers.

- :func:`gunicorn_read`: a body with a Content-Length the app left unread, once the
  response is out: read through gunicorn's own ``wsgi.input``, so its bookkeeping of the
  connection (where the body ends, where a next request on a kept-alive or pipelined
  connection starts) stays its own, but only as many bytes at a time as are known to be
  there: what its reader holds plus what the socket has received (``FIONREAD``), taken
  again as more arrives until the deadline. A copy (below) stops at what the socket's
  receive buffer holds (about 128 KiB), as the copied bytes stay there. Before its
  gthread worker keeps a connection alive, gunicorn drains an unread body, and closes
  the connection instead when it is long (``_DRAIN_MAX_BYTES``, 64 KiB, in gunicorn 27):
  of such a body that many bytes are left to it, copied, not taken, so the client's
  connection is kept or closed as bare (a pipelined request answered or not). gunicorn's
  ``Body.read`` asks its reader for at least 1 KiB and at most ``MAX_READ_STEP`` at a
  time, and its reader waits until it has what it was asked for: a read is made only when
  that much is there (or the rest of the body is, or the client has shut its side, when
  a read ends at once). The socket is non-blocking during these reads all the same: a
  read that would wait raises instead, gunicorn marks the body failed and closes that
  connection rather than reuse it. Over TLS the socket's count is of encrypted bytes:
  there the copy below is kept.
- :func:`gunicorn_peek`: a body with a Content-Length, as far as it has arrived, copied
  (``MSG_PEEK``, after a zero-timeout readiness check) without consuming anything, for a
  grouping function reading ahead of the app, which reads on from there. Over TLS what
  the socket received is ciphertext, which no copy reads (and an SSL socket's recv takes
  no flags: the copy raised ValueError, and nothing was logged): the body's bytes that
  arrived are decrypted into gunicorn's own buffer, behind what it holds, by reads that
  cannot wait, and copied from there; gunicorn's reads take them next, as they would
  from the socket (``_decrypt_arrived``).
- :func:`gunicorn_chunks`: a chunked body the app has not started reading: its chunks
  are read out of the copied bytes (``chunked.py``), as far as they have arrived, and
  the last chunk tells that the body is whole.
"""

from __future__ import annotations

import inspect
import os
import socket
import ssl
import time
from typing import Any, Mapping, Optional

from readme_metrics.capture.chunked import copied_chunks
from readme_metrics.capture.sockets import WOULD_BLOCK, peek, peer_done, unread_bytes

__all__ = ["gunicorn_chunks", "gunicorn_peek", "gunicorn_read"]


def gunicorn_read(stream: Any, base: Any, environ: Mapping[str, Any], want: int,
                  deadline: float) -> Optional[tuple[bytes, int]]:
    """gunicorn: up to ``want`` bytes of the unread body, read from ``stream`` (the app's
    view of ``base``, gunicorn's ``wsgi.input``) only as far as they are there, and how
    many of them were read: the last few that arrived but could not be read without a
    wait (gunicorn's reader asks for 1 KiB at least) are copied, and stay in the stream.

    None when ``base`` is not gunicorn's or its socket not a plain one (TLS: see
    :func:`gunicorn_peek`); ``(b"", 0)`` for a chunked body (see
    :func:`gunicorn_chunks`). Bytes still in flight are waited for until ``deadline``, and
    not once the client has shut its side.
    """
    if type(base).__module__ != "gunicorn.http.body":
        return None
    from gunicorn.http import body as gunicorn_body

    reader = getattr(base, "reader", None)
    if not isinstance(base, gunicorn_body.Body) or not isinstance(
            reader, gunicorn_body.LengthReader):
        return b"", 0
    sock = environ.get("gunicorn.socket")
    if type(sock) is not socket.socket:  # TLS (or unknown): only a copy is safe
        return None
    drains = _drain_cap()
    if drains is None:  # a gunicorn without that cap (23): its drain is its own, copied
        return None
    most = getattr(gunicorn_body, "MAX_READ_STEP", 1024)
    left = len(base.buf.getvalue()) + reader.length  # what gunicorn would drain
    # Leave gunicorn as much to drain as decides its keep-alive as it would bare.
    room = want if left < drains else min(want, left - drains)
    parts: list[bytes] = []
    got = 0
    timeout = sock.gettimeout()
    sock.settimeout(0.0)  # a read that would wait raises (see the module's docstring)
    try:
        while got < room:
            ended = peer_done(sock)  # asked first: what came before the end is read
            size = _takeable(base, reader, sock, room - got, most, ended)
            if size:
                try:
                    data = stream.read(size)
                except OSError:  # the client reset, or a read that would wait: see above
                    break
                if not data:
                    break
                parts.append(data)
                got += len(data)
                continue
            if ended or time.monotonic() >= deadline:
                break
            peer_done(sock, 0.002)
    finally:
        sock.settimeout(timeout)
    if got < want:  # what is left to gunicorn, or too short to read without a wait
        parts.append(gunicorn_peek(base, environ, want - got, deadline) or b"")
    return b"".join(parts), got


def _drain_cap() -> Optional[int]:
    """How many unread body bytes gunicorn's gthread worker drains at most before it keeps
    a connection alive (``finish_body``: it closes the connection once it drained that
    many); None where it has no such cap or it is not known (gunicorn 23, on Python 3.9:
    a body read there kept a pipelined request behind it from being answered, so the
    body is copied there, as before)."""
    try:
        from gunicorn.http import parser
    except ImportError:  # pragma: no cover - gunicorn's body without its parser
        return None
    cap = getattr(parser, "_DRAIN_MAX_BYTES", None)
    return cap if isinstance(cap, int) and cap > 0 else None


def _takeable(base: Any, reader: Any, sock: socket.socket, want: int, most: int,
              ended: bool) -> int:
    """How much ``base.read`` may be asked for now without a wait, ``want`` at most."""
    held = len(base.buf.getvalue())  # gunicorn's Body gives these first
    if want <= held:
        return want
    there = len(reader.unreader.buf.getvalue()) + unread_bytes(sock.fileno())
    step = min(want - held, reader.length, there, most)
    if step <= 0:
        return held
    # Body.read asks the reader for at least 1 KiB, the reader waits until it has it.
    if not ended and min(reader.length, max(1024, step)) > there:
        return held
    return held + step


def gunicorn_peek(stream: Any, environ: Mapping[str, Any], want: int, deadline: float
                  ) -> Optional[bytes]:
    """gunicorn: copy what its reader buffered and the socket received, consuming nothing.

    None when ``stream`` is not gunicorn's; b"" for a chunked body (see
    :func:`gunicorn_chunks`). Until ``deadline`` the copy is taken again every few
    milliseconds while it is short (peeked bytes stay readable, so waiting for
    readability would not tell of new ones), and not once the client has shut its side.
    """
    if type(stream).__module__ != "gunicorn.http.body":
        return None
    from gunicorn.http.body import Body, LengthReader

    sock = environ.get("gunicorn.socket")
    if not isinstance(stream, Body) or not isinstance(stream.reader, LengthReader):
        return b""
    if isinstance(sock, ssl.SSLSocket):
        # What the socket received is ciphertext: a copy of it reads nothing. The body's
        # bytes that arrived are decrypted into gunicorn's own buffer instead, where its
        # reads take them next, as they would from the socket; not under a gunicorn
        # that keeps a connection alive before it drains a body (23, see _drain_cap):
        # its gthread waits for the socket to be readable, and would wait for a next
        # request taken from the socket by then. There only what it holds is copied.
        if _drain_cap() is not None:
            _decrypt_arrived(stream.reader, sock, want, deadline)
        held = stream.buf.getvalue() + stream.reader.unreader.buf.getvalue()
        return held[:want]
    # The stream in order: Body's own buffer, the unreader's, then the socket's.
    held = stream.buf.getvalue() + stream.reader.unreader.buf.getvalue()
    data = held
    while len(data) < want and isinstance(sock, socket.socket):
        ended = peer_done(sock)  # asked first: what came before the end is copied
        data = held + peek(sock, want - len(held))
        if len(data) >= want or time.monotonic() >= deadline or ended:
            break
        peer_done(sock, 0.002)
    return data[:want]


def _decrypt_arrived(reader: Any, sock: ssl.SSLSocket, want: int, deadline: float
                     ) -> None:
    """Over TLS: move the body's bytes the client has sent (``want`` at most) from the
    socket into the buffer of gunicorn's reader, behind what it holds, by reads that
    cannot wait (a TLS record not whole yet is kept by the TLS layer, nothing is lost);
    bytes in flight until ``deadline``, not once the client has shut its side.

    Each read asks for what gunicorn's own would (``SocketUnreader.chunk``: 8 KiB at
    least, else the rest of the body): the last one takes what the TLS layer decrypted
    past the body (the next request, on a kept-alive connection) exactly when gunicorn's
    would, so the connection goes on as it would bare (gthread polls the socket for a
    next request unless gunicorn's buffer holds one)."""
    unreader = reader.unreader
    buffer = unreader.buf
    least = getattr(unreader, "mxchunk", 8192)
    most = getattr(unreader, "max_body_chunk", None)  # None: gunicorn 23, 8 KiB reads
    got = 0
    timeout = sock.gettimeout()
    sock.settimeout(0.0)
    try:
        while got < want:
            end = buffer.seek(0, os.SEEK_END)
            missing = reader.length - end  # of the body, neither taken nor held
            if missing <= 0:
                return
            size = least if most is None or missing <= least else min(missing, most)
            try:
                data = sock.recv(size)
            except WOULD_BLOCK:
                data = None
            except OSError:  # a reset, a TLS error: gunicorn's own read will meet it
                return
            if data == b"":  # the client's end
                return
            if data:
                buffer.write(data)
                got += len(data)
                continue
            if time.monotonic() >= deadline or peer_done(sock):
                return
            peer_done(sock, 0.002)
    finally:
        sock.settimeout(timeout)


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
    sock = environ.get("gunicorn.socket")
    return copied_chunks(reader.req.unreader.buf.getvalue(),
                         sock if isinstance(sock, socket.socket) else None, want, deadline)
