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

werkzeug discards the same way when its write of the answer fails (the client left):
it stops iterating and goes to its discard at once, with no code of the capture's in
between. So, while the answer goes out, the handler's ``wfile`` is stood in for by a
:class:`WriteWatch` (``watch``), whose failing write first has the discard tapped as at
the iterable's end; ``unwatch`` puts it back.
"""

from __future__ import annotations

import io
import socket
from typing import Any, Callable, Optional

__all__ = ["Tap", "WriteWatch", "tap", "untap", "unwatch", "watch"]


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


class WriteWatch:
    """werkzeug's handler's ``wfile`` while the answer goes out: a write that raises calls
    ``failed`` first (once; what it raises is dropped), then raises on. Anything else is
    the ``wfile``'s own."""

    __slots__ = ("wfile", "_failed")

    def __init__(self, wfile: Any, failed: Callable[[], None]) -> None:
        self.wfile = wfile
        self._failed: Optional[Callable[[], None]] = failed

    def write(self, data: Any) -> Any:
        try:
            return self.wfile.write(data)
        except BaseException:
            failed, self._failed = self._failed, None
            if failed is not None:
                try:
                    failed()
                except Exception:  # noqa: BLE001 - never hide the server's own error
                    pass
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wfile, name)


def watch(handler: Any, failed: Callable[[], None]) -> Optional[Any]:
    """Stand a :class:`WriteWatch` in for ``handler``'s ``wfile`` (werkzeug's request
    handler); returns the handler, for :func:`unwatch`, or None when it has no
    ``wfile``. Never raises."""
    try:
        wfile = handler.__dict__["wfile"]
        if type(wfile) is not WriteWatch:
            handler.wfile = WriteWatch(wfile, failed)
            return handler
    except Exception:  # noqa: BLE001 - built otherwise: left as it is
        pass
    return None


def unwatch(handler: Any) -> None:
    """Put back the ``wfile`` :func:`watch` stood in for."""
    watching = handler.__dict__.get("wfile")
    if type(watching) is WriteWatch:
        handler.wfile = watching.wfile
