"""What the watchdog cuts: a connection's socket, shut down at its deadline.
"""

from __future__ import annotations

import socket
from typing import Any

__all__ = ["Line", "connected", "cut"]


class Line:
    """What the watchdog cuts: a socket, held apart from the connection that made it
    (``http.client`` hands its socket over to an answer that lasts until the server
    closes, and TLS wrapping replaces it). ``sock`` is None until connected;
    ``connecting`` while its TLS handshake runs (a cut then is a connect timeout)."""

    __slots__ = ("sock", "connecting")

    def __init__(self, sock: Any = None) -> None:
        self.sock = sock
        self.connecting = False


def connected(connection: Any) -> bool:
    """The connection's socket is made (not a TCP connect nor a TLS handshake running)."""
    return (getattr(connection, "sock", None) is not None
            and not getattr(connection, "connecting", False))


def cut(connection: Any) -> bool:
    """Shut ``connection``'s socket down; True if it was connected: False while a TCP
    connect runs (no socket yet, bounded by its own timeout) or a TLS handshake."""
    sock = getattr(connection, "sock", None)
    if sock is None:
        return False
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    return connected(connection)
