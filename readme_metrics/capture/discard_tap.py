"""werkzeug's development server: its own discard of an unread body, recorded as it reads.

Behind ``flask run`` and ``app.run()`` werkzeug writes the end of the answer (the last
chunk of a streamed one) once the app's iterable is exhausted, then reads and throws
away what the client still sends (for about 10 ms of quiet, or to the client's end),
and only then calls the iterable's ``close()``. Waiting for a body still in flight before
that (``GRACE``) held back the end of the answer; waiting in ``close()`` found the body
thrown away. So, for a body read through werkzeug's connection reader (a chunked one
through its dechunking reader over it: framed), the socket under that reader
(``socket.SocketIO._sock``) is stood in for by a :class:`Tap` while werkzeug discards:
each byte it receives is handed to a sink (the capture's record) and to werkzeug as
before. Nothing is read that werkzeug would not read, nor waited for
that it would not wait for; ``untap`` puts the socket back, in ``close()``.
"""

from __future__ import annotations

import io
import socket
from typing import Any, Callable, Optional

__all__ = ["Tap", "tap", "untap"]


class Tap:
    """The connection's socket, as werkzeug's reader sees it while it discards: what
    ``recv_into`` receives goes to ``sink`` too. Anything else is the socket's own."""

    __slots__ = ("sock", "_sink")

    def __init__(self, sock: socket.socket, sink: Callable[[memoryview], None]) -> None:
        self.sock = sock
        self._sink = sink

    def recv_into(self, buffer: Any, *args: Any) -> int:
        n = self.sock.recv_into(buffer, *args)
        if n is not None:  # 0 too: werkzeug's read found the client's end
            try:
                with memoryview(buffer) as whole, whole.cast("B") as view, view[:n] as data:
                    self._sink(data)
            except Exception:  # noqa: BLE001 - never break the server's read
                pass
        return n

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


def tap(stream: Any, sink: Callable[[memoryview], None]) -> Optional[Any]:
    """Tap the socket under ``stream``, werkzeug's connection reader; returns the reader's
    raw stream to :func:`untap`, or None when ``stream`` is no such reader."""
    if type(stream) is not io.BufferedReader:
        return None
    raw = stream.raw
    sock = getattr(raw, "_sock", None)
    if not isinstance(raw, socket.SocketIO) or not isinstance(sock, socket.socket):
        return None
    raw._sock = Tap(sock, sink)  # type: ignore[attr-defined]
    return raw


def untap(raw: Any) -> None:
    """Put back the socket :func:`tap` stood in for."""
    tapped = getattr(raw, "_sock", None)
    if isinstance(tapped, Tap):
        raw._sock = tapped.sock
