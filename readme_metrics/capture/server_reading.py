"""Pausing the server's reading of a connection's socket (for ``asgi_watch``).

A plain transport pauses itself. Over TLS the TLS transport's own ``pause_reading`` only
stops handing the app what is decrypted: the socket is still read. So the transport
under it is paused (asyncio's), or, where that one cannot be reached (uvloop's: a C
attribute), the TLS transport's read buffer limits are made 0 (:class:`_LimitsPause`).

:func:`watching` gives what pauses it and a duplicate of the descriptor to watch;
:func:`reading`, :func:`pause` and :func:`resume` never raise (a transport closed
meanwhile raises from every call: a plain wait then); :class:`Hold` keeps the reading
paused for a while after a wait, the socket watched. Split out of ``asgi_watch``, whose
wait decides when (house53).
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any, Callable, Optional

__all__ = ["CLOSED_LOOK", "Hold", "pause", "reading", "resume", "socket_reader",
           "watching"]


class _LimitsPause:
    """Pauses the socket's reading under a TLS transport whose transport under it cannot
    be reached (uvloop's: a C attribute) through its read buffer limits: a high water
    of 0 has the TLS layer pause the transport under it (its flow control: what waits
    decrypted is at or over it), the limits put back resume it."""

    def __init__(self, transport: Any) -> None:
        self._transport = transport
        self._limits: Optional[tuple[int, int]] = None

    def is_reading(self) -> bool:
        # Limits already 0: paused by another wait's hold on this connection (a
        # _LimitsPause of its own, since each wait asks socket_reader anew). Paused
        # again here, it would save those 0s and put them back at its end, after the
        # hold had put the real ones back: the socket never read again.
        return self._limits is None and self._transport.get_read_buffer_limits()[1] > 0

    def pause_reading(self) -> None:
        if self._limits is None:
            self._limits = self._transport.get_read_buffer_limits()  # (low, high)
        # (again when paused: the TLS layer, handed records, resumed the socket's reading
        # once it had taken them, what waits being at the low water of 0: delivery78.
        # Only then: limits set look at them again, and of a paused socket with nothing
        # waiting that look resumes it, uvloop's _control_ssl_reading: review151)
        self._transport.set_read_buffer_limits(high=0, low=0)

    def resume_reading(self) -> None:
        if self._limits is not None:
            low, high = self._limits
            self._limits = None
            self._transport.set_read_buffer_limits(high=high, low=low)


def socket_reader(transport: Any) -> Any:
    """The transport that reads the socket for ``transport``: itself, or over TLS
    (asyncio's, uvicorn's and hypercorn's) the one under it, or (uvloop's TLS, whose one
    under it is a C attribute) its read buffer limits made 0 (:class:`_LimitsPause`);
    None over a TLS transport with neither (a plain wait). The TLS transport's own
    ``pause_reading`` only stops handing the app protocol what is decrypted: the socket
    is still read, and a client's end read so turns asyncio's and uvloop's TLS to
    flushing, after which it writes nothing more (the app's answer dropped, as a turn of
    the loop did)."""
    raw = getattr(getattr(transport, "_ssl_protocol", None), "_transport", None)
    if raw is not None:
        return raw
    if transport.get_extra_info("sslcontext") is None:
        return transport
    if hasattr(transport, "get_read_buffer_limits") \
            and hasattr(transport, "set_read_buffer_limits"):
        return _LimitsPause(transport)
    return None



#: Seconds between two looks of a hold (:class:`Hold`) at whether the server closed the
#: transport meanwhile.
CLOSED_LOOK = 0.005
#: Seconds between two looks at a socket whose bytes hold no whole record of the body yet

def watching(transport: Any) -> tuple[Any, Optional[socket.socket]]:
    """(what pauses the server's reading (:func:`socket_reader`), a duplicate of the
    socket's descriptor to watch), or (None, None): a plain wait, the server reading
    meanwhile (as :func:`.receive_within`'s). So when the transport is closing (it reads
    no more), when there is no reading to pause, no descriptor to spare (EMFILE) or
    none to copy (a socket closed: -1; uvloop's closed transport gives None), and
    whatever a transport closed meanwhile raises: asyncio's TLS transport closed twice
    has dropped its protocol, and every call on it (``get_extra_info`` too) raises
    AttributeError (Python 3.11 to 3.13's sslproto)."""
    try:
        if transport.is_closing():
            return None, None
        reader = socket_reader(transport)
        if reader is None:
            return None, None
        sock = transport.get_extra_info("socket")
        return reader, socket.fromfd(sock.fileno(), sock.family, sock.type)
    except Exception:  # noqa: BLE001 - see above: nothing watched
        return None, None


def reading(transport: Any, reader: Any) -> bool:
    """Whether the server reads the connection now (not paused by its flow control);
    False once the transport was closed meanwhile (asyncio's TLS one, closed twice,
    raises): a plain wait then."""
    try:
        return bool(transport.is_reading() and reader.is_reading())
    except Exception:  # noqa: BLE001
        return False


def pause(reader: Any) -> bool:
    """Pause the server's reading; False when the transport was closed meanwhile (uvloop's
    TLS one, its connection lost, raises AttributeError from its limits' setter): a
    plain wait then."""
    try:
        reader.pause_reading()
        return True
    except Exception:  # noqa: BLE001
        return False


def resume(reader: Any) -> bool:
    """Resume the server's reading; False when the transport was closed meanwhile (as
    :func:`pause`): nothing more to read."""
    try:
        reader.resume_reading()
        return True
    except Exception:  # noqa: BLE001 - a transport closed meanwhile: nothing to read
        return False


class Hold:
    """The server's reading, paused by :func:`watched_within`, kept paused for a while
    (see there), the socket watched meanwhile: data resumes it at once (not over TLS),
    the client's end keeps it paused to the end of the while. Callbacks of the loop
    only, no task; the copy of the descriptor is closed at the end."""

    __slots__ = ("_loop", "_reader", "_copy", "_half_closed", "_timer", "_transport",
                 "_look")

    def __init__(self, loop: asyncio.AbstractEventLoop, reader: Any, copy: socket.socket,
                 half_closed: Callable[[], bool], seconds: float,
                 transport: Any = None, tls: bool = False) -> None:
        self._loop = loop
        self._reader = reader
        self._copy: Optional[socket.socket] = copy
        self._half_closed = half_closed
        self._timer: Optional[asyncio.TimerHandle] = None
        self._transport = transport
        self._look: Optional[asyncio.TimerHandle] = None
        try:
            if not (tls or half_closed()):  # (over TLS data may be close_notify)
                loop.add_reader(copy.fileno(), self._woke)
            self._timer = loop.call_later(seconds, self.end)
            if transport is not None:
                self._look = loop.call_later(CLOSED_LOOK, self._closed)
        except BaseException:
            self.end()
            raise

    def _closed(self) -> None:
        """Ends the hold once the server closes the transport: the copy of the descriptor
        keeps the connection open, and the client saw the server's close (a
        ``Connection: close`` answer's end, read to the close) only when the hold
        ended, as long after as the app was held back (a second after a loop stalled
        that long). Looked at every :data:`CLOSED_LOOK` seconds while it lasts."""
        try:
            closing = self._transport.is_closing()
        except Exception:  # noqa: BLE001 - closed meanwhile (asyncio's TLS one raises)
            closing = True
        if closing:
            self.end()
        elif self._copy is not None:
            self._look = self._loop.call_later(CLOSED_LOOK, self._closed)

    def _woke(self) -> None:
        copy = self._copy
        if copy is not None:
            self._loop.remove_reader(copy.fileno())
            if not self._half_closed():
                self.end()  # data: the server reads it now

    def end(self) -> None:
        copy = self._copy
        if copy is None:
            return
        self._copy = None
        if self._timer is not None:
            self._timer.cancel()
        if self._look is not None:
            self._look.cancel()
        try:
            self._loop.remove_reader(copy.fileno())
        finally:
            copy.close()
            resume(self._reader)
