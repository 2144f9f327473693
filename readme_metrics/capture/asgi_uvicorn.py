"""What uvicorn's request cycle says that its messages do not (for :mod:`.asgi_receive`).

Read from the cycle behind the ``receive`` uvicorn gave, never raising: another server,
or a uvicorn built otherwise, reads as "nothing known". Moved from :mod:`.asgi_servers`,
as is (importable from there as before).

- :func:`uvicorn_transport`: the cycle's transport, unless closing.
- :func:`uvicorn_half_closed`: whether uvicorn's client has shut its side, which
  uvicorn takes for a disconnect at its next read.
- :func:`uvicorn_unread`: what uvicorn's client sent that uvicorn has not read yet,
  left in place.
"""

from __future__ import annotations

from typing import Any

__all__ = ["uvicorn_half_closed", "uvicorn_transport", "uvicorn_unread"]


def uvicorn_transport(receive: Any) -> Any:
    """The transport of the uvicorn request cycle whose ``receive`` this is; None for
    another server, a uvicorn built otherwise, or once the transport is closing."""
    if not type(getattr(receive, "__self__", None)).__module__.startswith("uvicorn."):
        return None
    transport = getattr(receive.__self__, "transport", None)
    if transport is None or transport.is_closing():
        return None
    return transport


def uvicorn_half_closed(receive: Any) -> bool:
    """Whether the client of the uvicorn request cycle whose ``receive`` this is has
    shut its side of the connection (``shutdown(SHUT_WR)``) or reset it, before uvicorn
    read that: at its next read (the event loop's next turn) uvicorn takes it for a
    disconnect and drops whatever the app sends after, though a half-closed client
    still reads the answer (the bare app's, sent without a wait, reached it). False
    once uvicorn is closing the connection itself, for any other server, or a uvicorn
    built otherwise."""
    try:
        # (No transport while closing already: uvicorn answered the request itself, a
        # malformed body's 400, or is done with it; its disconnect comes at the next
        # turn, and tells the log what the client got.)
        transport = uvicorn_transport(receive)
        if transport is None:
            return False
        from readme_metrics.capture.sockets import peer_done  # a rare path: lazily

        sock = transport.get_extra_info("socket")
        return sock is not None and sock.fileno() >= 0 and peer_done(sock)
    except Exception:  # noqa: BLE001 - another version's insides: nothing known
        return False


def uvicorn_unread(receive: Any, want: int, keep: int) -> tuple[bytes, int]:
    """What the client of the uvicorn request cycle whose ``receive`` this is sent and
    uvicorn has not read yet, left in place (uvicorn reads it itself, or drops it at the
    disconnect): (its first ``keep`` bytes at most, how many of ``want`` bytes are
    there). Read through a duplicate of the socket's descriptor, without a turn of the
    event loop. (b"", 0) over TLS (the socket holds ciphertext), for another server, a
    uvicorn built otherwise, or when the socket is gone."""
    from readme_metrics.capture.sockets import peek_copy, unread_bytes  # rare: lazily

    try:
        transport = uvicorn_transport(receive)
        if transport is None or transport.get_extra_info("sslcontext") is not None:
            return b"", 0
        sock = transport.get_extra_info("socket")
        if sock is None or sock.fileno() < 0:
            return b"", 0
        there = min(unread_bytes(sock.fileno()), want)
        if there <= 0:
            return b"", 0
        if keep <= 0:
            return b"", there
        kept = peek_copy(sock, min(keep, there))
        return kept, max(there, len(kept))
    except Exception:  # noqa: BLE001 - another version's insides: nothing known
        return b"", 0
