"""Reading a connection without waiting, for the unread-rest readers (``rest*.py``):
whether a socket has something to read, whether the client has shut its side, what it
has received (left in place), and the socket under a ``socket.makefile`` reader."""

from __future__ import annotations

import errno
import fcntl
import io
import math
import select
import socket
import ssl
import struct
import termios
import time
from typing import Any, Optional

#: What a read of a non-blocking socket raises when nothing can be read yet: a plain
#: socket's BlockingIOError, a TLS socket's SSLWantReadError (SSLWantWriteError during a
#: renegotiation), which are no BlockingIOError. Nothing was taken by such a read.
WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError,
               ssl.SSLWantWriteError)


def readable(sock: socket.socket, timeout: float) -> bool:
    """True when ``sock`` has data (or its end of stream) within ``timeout`` seconds.

    ``poll``, not ``select``: ``select`` refuses a descriptor numbered 1024 or above
    (FD_SETSIZE), which a server with many connections or files open reaches.
    """
    if not hasattr(select, "poll"):  # pragma: no cover - Windows, where select has no cap
        return bool(select.select([sock], [], [], max(timeout, 0.0))[0])
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(max(math.ceil(timeout * 1000), 0)))


def peer_done(sock: socket.socket, wait: float = 0.0) -> bool:
    """True when the client has shut its side of the connection (or reset it), or does
    within ``wait`` seconds: no more bytes will come. False where that cannot be told
    (no ``POLLRDHUP``: not Linux; ``wait`` is then slept).

    Bytes it sent before still wait to be read; a copy that is short stops waiting here.
    The copies taken again every few milliseconds wait here between two looks, so a
    client that gives up frees the worker at once, not at the next look.
    """
    rdhup = getattr(select, "POLLRDHUP", 0)
    if not rdhup:  # pragma: no cover - Linux has it
        if wait > 0:
            time.sleep(wait)
        return False
    poller = select.poll()
    poller.register(sock, rdhup)
    return bool(poller.poll(max(math.ceil(wait * 1000), 0)))


def peek(sock: socket.socket, want: int) -> bytes:
    """What the socket has received, left in place; b"" when nothing has arrived, and
    over TLS, whose received bytes are ciphertext (and whose recv takes no flags: it
    raised ValueError)."""
    if isinstance(sock, ssl.SSLSocket) or not readable(sock, 0):  # recv waits first
        return b""
    flags = socket.MSG_PEEK | getattr(socket, "MSG_DONTWAIT", 0)
    try:
        return sock.recv(want, flags)
    except (BlockingIOError, InterruptedError):
        return b""


def peek_copy(sock: Any, want: int) -> bytes:
    """:func:`peek` through a duplicate of ``sock``'s descriptor, closed after: the
    socket an asyncio transport hands out (a ``TransportSocket``) has no ``recv``."""
    with socket.fromfd(sock.fileno(), sock.family, sock.type) as copy:
        return peek(copy, want)


class Held:
    """A socket stand-in whose reads would block: a reader over it (``rest_chunked``'s
    ``reader_only``) gives what it has buffered, and reads nothing off the connection,
    ``sock``, which :func:`socket_of` still finds."""

    __slots__ = ("sock",)

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def recv_into(self, *args: Any) -> int:
        raise BlockingIOError(errno.EAGAIN, "what the reader holds only")


def socket_of(stream: Any) -> Optional[socket.socket]:
    """The socket under a ``socket.makefile`` reader (werkzeug, wsgiref, runserver)."""
    if not isinstance(stream, io.BufferedReader):
        return None
    sock = getattr(stream.raw, "_sock", None)  # socket.SocketIO keeps it there
    if type(sock) is Held:
        sock = sock.sock
    return sock if isinstance(sock, socket.socket) else None


def unread_bytes(fd: int) -> int:
    """Bytes the socket ``fd`` has received and nobody has read yet (``FIONREAD``)."""
    return int(struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0])
