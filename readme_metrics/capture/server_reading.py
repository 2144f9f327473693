"""What pauses the server's reading of a connection's socket (for ``asgi_watch``).

A plain transport pauses itself. Over TLS the TLS transport's own ``pause_reading`` only
stops handing the app what is decrypted: the socket is still read. So the transport
under it is paused (asyncio's), or, where that one cannot be reached (uvloop's: a C
attribute), the TLS transport's read buffer limits are made 0 (:class:`_LimitsPause`).
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = ["socket_reader"]


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

