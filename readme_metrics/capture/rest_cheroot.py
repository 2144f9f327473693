"""cheroot's unread request body, recorded (SPEC 5): its own read of it, or what arrived.

cheroot (CherryPy's server) reads the unread rest of a body with a length itself when it
sends the response's head on a connection it keeps alive (``HTTPRequest.send_headers``),
through the very ``wsgi.input`` it gave the app (its ``KnownLengthRFile``), not through
the middleware's tee: that rest went unseen, and the log said "incomplete: 0 of N
bytes". :func:`tap` has that read recorded as cheroot makes it: no read of the
capture's own, and no wait of its own (cheroot's read waits for the client, bare too).
On a connection cheroot closes it reads nothing: there the rest is read as the socket
readers' is (``rest.py``), what has arrived, through cheroot's input (so that its count
of what is left stays right), over the socket under it (:func:`socket_of_input`).
A chunked body (cheroot's ``ChunkedRFile``, which cheroot never reads on) the app has not
started reading is copied, without consuming it, out of its chunks (:func:`chunks_of`):
what cheroot's reader holds, then what the socket has received, as under werkzeug's
server (``rest_chunked.py``); over TLS only what the reader holds (decrypted).
Over TLS a body with a length is read as far as cheroot's reader holds it (decrypted with
the head, in the TLS records read then: :func:`read_held`), never from the socket.
"""

from __future__ import annotations

import socket
import sys
import weakref
from typing import Any, Optional

from readme_metrics.capture.body import BodyRecord
from readme_metrics.capture.chunked import copied_chunks

__all__ = ["chunks_of", "is_cheroot_input", "read_held", "socket_of_input", "tap",
           "unread_chunked"]

_OWN = "readme_metrics."


def is_cheroot_input(stream: Any) -> bool:
    """True for cheroot's ``wsgi.input`` of a body with a length."""
    cls = type(stream)
    return cls.__name__ == "KnownLengthRFile" and cls.__module__ == "cheroot.server"


def unread_chunked(stream: Any) -> bool:
    """True for cheroot's ``wsgi.input`` of a chunked body none of which was read yet
    (its ``ChunkedRFile``: no chunk fetched, nothing buffered, not at its end)."""
    cls = type(stream)
    return (cls.__name__ == "ChunkedRFile" and cls.__module__ == "cheroot.server"
            and getattr(stream, "bytes_read", None) == 0 and not getattr(stream, "buffer", 1)
            and getattr(stream, "closed", True) is False)


def chunks_of(stream: Any, want: int, deadline: float) -> Optional[tuple[bytes, bool]]:
    """(the data of the chunked body of cheroot's ``stream``, True when its last chunk is
    there), copied from where the app left it, untouched (:func:`unread_chunked`); None
    for any other stream. Nothing is consumed: what cheroot's reader (``_pyio``'s
    BufferedReader) buffered, then what its socket received (``MSG_PEEK``), with bytes in
    flight until ``deadline``; over TLS the reader's buffer only (no wait)."""
    if not unread_chunked(stream):
        return None
    reader = getattr(stream, "rfile", None)
    held = _held(reader)
    if held is None:
        return None
    sock = getattr(getattr(reader, "raw", None), "_sock", None)
    return copied_chunks(held, sock if isinstance(sock, socket.socket) else None, want,
                         deadline)


def _held(reader: Any) -> Optional[bytes]:
    """What cheroot's connection reader (``_pyio``'s BufferedReader) has buffered and
    not handed out yet; None for a reader not built so."""
    buffered = getattr(reader, "_read_buf", None)
    position = getattr(reader, "_read_pos", None)
    if buffered.__class__ is not bytes or position.__class__ is not int:
        return None
    return buffered[position:]


def socket_of_input(stream: Any) -> Optional[socket.socket]:
    """The socket under cheroot's ``wsgi.input`` (None for any other input, and over
    TLS). Its reader is ``_pyio``'s BufferedReader (no ``io.BufferedReader`` for
    :func:`~readme_metrics.capture.sockets.socket_of`), over ``socket.SocketIO``; a
    non-blocking read of it gives what has arrived, or None (an SSLSocket's raises, and
    ``_pyio`` drops what it had read by then: not read there)."""
    if not is_cheroot_input(stream):
        return None
    sock = getattr(getattr(getattr(stream, "rfile", None), "raw", None), "_sock", None)
    return sock if type(sock) is socket.socket else None


def read_held(stream: Any, base: Any, want: int) -> bytes:
    """Of the body of cheroot's input ``base`` (read through ``stream``, the app's view of
    it), what its reader holds already, up to ``want``: no read of the socket, no wait.
    b"" for any other input. For TLS, where :func:`socket_of_input` gives no socket: the
    reader (``_pyio``'s) drops what it read when a non-blocking TLS read raises."""
    if not is_cheroot_input(base):
        return b""
    held = _held(getattr(base, "rfile", None))
    left = getattr(base, "remaining", None)
    if held is None or left.__class__ is not int:
        return b""
    size = min(want, len(held), left)
    return stream.read(size) if size > 0 else b""


def tap(stream: Any, record: BodyRecord) -> None:
    """Have what cheroot itself reads of ``stream`` (its ``KnownLengthRFile``, the app's
    ``wsgi.input`` under the tee) fed to ``record``: every read made by code other than
    this library's (the tee's and the rest's reads record their own). Weakly: the input
    is not kept alive by its own read. Never raises."""
    try:
        read = type(stream).read
        ref = weakref.ref(stream)

        def tapped(size: Optional[int] = None) -> Any:
            data = read(ref(), size)
            try:
                if not sys._getframe(1).f_globals.get("__name__", "").startswith(_OWN):
                    record.feed(data)  # cheroot's read of the rest, for its keep-alive
            except Exception:  # noqa: BLE001,S110 - never into cheroot: not recorded
                pass
            return data

        stream.read = tapped
    except Exception:  # noqa: BLE001,S110 - an input that takes no attribute: as before
        pass
