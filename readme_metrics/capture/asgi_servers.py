"""What an ASGI server's own objects say that its messages do not (for :mod:`.asgi_messages`).

Some of what the client got is known to the server and never told to the app: that
hypercorn answered 400 itself, that the client's connection is dead. These helpers read
it from the objects behind the ``send`` the server gave, and never raise: a server that
is not the one looked for, or a version built otherwise, reads as "nothing known".

- :func:`server_send`: the server's own ``send`` under the closures a middleware wraps
  it in (Starlette's ``ServerErrorMiddleware``, outside every middleware of a FastAPI or
  Starlette app). Walked only on rare paths, never per message.
- :func:`hypercorn_connection`: hypercorn's connection protocol and TCP server behind
  one of its streams' ``send``.
- :func:`hypercorn_dead`: whether a hypercorn stream's TCP connection is dead.
"""

from __future__ import annotations

import socket
from functools import partial
from types import FunctionType, MethodType
from typing import Any, Optional

__all__ = ["hypercorn_connection", "hypercorn_dead", "server_send"]

# Closures to look into before giving up (a FastAPI app has one: ServerErrorMiddleware's).
_DEPTH = 4
_WRAPPERS = (FunctionType, MethodType, partial)
# Linux's TCP_INFO: its first byte is the connection's state; TCP_CLOSE once a reset
# came in. Elsewhere unknown (None): nothing is read.
_TCP_INFO: Optional[int] = getattr(socket, "TCP_INFO", None)
_TCP_CLOSE = 7


def server_send(send: Any, prefix: str) -> Any:
    """The ``send`` of a server whose module starts with ``prefix`` (a bound method of
    its own), found as is or in the closures (and ``functools.partial``) that wrap it, at
    most :data:`_DEPTH` deep; None if not found. Only functions, partials and bound
    methods are looked at: no attribute of any other object is read."""
    todo = [send]
    for _ in range(_DEPTH):
        found = []
        for candidate in todo:
            if candidate.__class__ is MethodType:
                if type(candidate.__self__).__module__.startswith(prefix):
                    return candidate
            elif candidate.__class__ is partial:
                found.append(candidate.func)
            elif candidate.__class__ is FunctionType:
                for cell in candidate.__closure__ or ():
                    try:
                        contents = cell.cell_contents
                    except ValueError:  # an empty cell
                        continue
                    if contents.__class__ in _WRAPPERS:
                        found.append(contents)
        todo = found
        if not todo:
            break
    return None


def hypercorn_connection(stream: Any) -> tuple[Any, Any]:
    """(protocol, TCP server) behind a hypercorn stream (whose ``app_send`` the app got):
    its ``send`` is the protocol's (h11 or h2), whose ``send`` is the TCP server's."""
    protocol = getattr(getattr(stream, "send", None), "__self__", None)
    server = getattr(getattr(protocol, "send", None), "__self__", None)
    return protocol, server


def hypercorn_dead(stream: Any) -> bool:
    """Whether the TCP connection of a hypercorn stream is dead: what is sent on it now
    goes nowhere. hypercorn marks its stream ``closed`` at the end of the client's data,
    from a client that left or one that only half-closed, and writes on either way; the
    first write to a client that left brings a reset. The asyncio worker's transport is
    closing once a write failed; the trio worker keeps no sign, but the socket's TCP
    state is CLOSE after the reset (read where the system offers it: Linux)."""
    try:
        if getattr(stream, "closed", False) is not True:  # the usual case: one look
            return False
        _, server = hypercorn_connection(stream)
        writer = getattr(server, "writer", None)
        if writer is not None:  # asyncio
            transport = writer.transport
            if transport.is_closing():
                return True
            sock = transport.get_extra_info("socket")
        else:  # trio: a SocketStream, or an SSLStream over one
            trio_stream = getattr(server, "stream", None)
            sock = getattr(trio_stream, "socket", None) or getattr(
                getattr(trio_stream, "transport_stream", None), "socket", None)
        if sock is None or _TCP_INFO is None or sock.fileno() < 0:
            return False
        return bool(sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, 1)[0] == _TCP_CLOSE)
    except Exception:  # noqa: BLE001 - another version's insides: nothing known
        return False
