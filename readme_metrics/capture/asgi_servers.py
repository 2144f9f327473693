"""What an ASGI server's own objects say that its messages do not (for :mod:`.asgi_messages`).

Some of what the client got is known to the server and never told to the app: that
hypercorn answered 400 itself, that the client's connection is dead. These helpers read
it from the objects behind the ``send`` the server gave, and never raise: a server that
is not the one looked for, or a version built otherwise, reads as "nothing known".

- :func:`own_send`: the server's own ``send`` under the closures a middleware wraps it
  in (Starlette's ``ServerErrorMiddleware``, outside every middleware a FastAPI or
  Starlette app adds with ``app.add_middleware``), or in a ``functools.partial``'s
  function, arguments and keyword arguments (Starlette's ``CORSMiddleware``), or in the
  instance dict of the object a bound method given is of (Starlette's
  ``GZipMiddleware``'s responder keeps the ``send`` it was given). Looked for once per
  exchange, never per message, and only when the ``send`` given is such a closure,
  partial or method: down the cell learned for the closure's code, or the attribute
  learned for the object's class (a walk the first time).
- :func:`server_send`: that ``send``, if it is of the server named.
- :func:`hypercorn_connection`: hypercorn's connection protocol and TCP server behind
  one of its streams' ``send``.
- :func:`hypercorn_dead`: whether a hypercorn stream's TCP connection is dead.
- :func:`uvicorn_half_closed`: whether uvicorn's client has shut its side, which
  uvicorn takes for a disconnect at its next read.
- :func:`hypercorn_half_closed`: whether hypercorn's HTTP/1 client has shut its side,
  which hypercorn, at its next read, answers with its own 400 when the body is short.
- :func:`uvicorn_unread`: what uvicorn's client sent that uvicorn has not read yet,
  left in place.
- :func:`server_transport`: the asyncio transport uvicorn or hypercorn reads the
  exchange's HTTP/1 connection through.
- :func:`trio_ready`: the message hypercorn's trio worker has for the app, taken
  without a checkpoint.
"""

from __future__ import annotations

import socket
from functools import partial
from types import BuiltinMethodType, FunctionType, MethodType
from typing import Any, Optional

__all__ = ["SERVER_CLASSES", "hypercorn_connection", "hypercorn_dead",
           "hypercorn_half_closed", "is_daphne_send", "own_send", "server_send",
           "server_transport", "trio_ready", "uvicorn_half_closed", "uvicorn_unread"]

# Closures to look into before giving up (a FastAPI app has one: ServerErrorMiddleware's;
# two with a body size limit).
_DEPTH = 4
# A server's send is a bound method: of a Python class, or of a native one (granian's).
_METHODS = (MethodType, BuiltinMethodType)
_WRAPPERS = (FunctionType, *_METHODS, partial)
# The modules of the servers whose ``send`` is read (see asgi_messages): a bound method
# of another class is some middleware's, and not looked into.
_SERVERS = ("uvicorn.", "hypercorn.", "granian.", "daphne.")
# Linux's TCP_INFO: its first byte is the connection's state; TCP_CLOSE once a reset
# came in. Elsewhere unknown (None): nothing is read.
_TCP_INFO: Optional[int] = getattr(socket, "TCP_INFO", None)
_TCP_CLOSE = 7
# The HTTP versions whose streams share a connection (see hypercorn_dead).
_MULTIPLEXED = ("2", "3")


def own_send(send: Any) -> Any:
    """The server's own ``send`` behind ``send``: ``send`` itself when it is a bound
    method of a server's class seen before, a native one, or daphne's ``partial`` (no
    walk), else the first bound method of a server's class (not its ``receive``), or
    daphne's ``partial``, found in the closures (``functools.partial``, its arguments
    too; a bound method of another class, its instance dict) that wrap it, at most
    :data:`_DEPTH` deep; ``send`` itself when none is found. Only functions, partials,
    bound methods and the instance dicts of bound methods' objects (read with
    ``object.__getattribute__``: no ``__getattr__`` or property runs) are looked at: no
    attribute of any other object is read. Never raises.

    Which cell of a closure, or attribute of a method's object, leads on is learned once
    per code object or class (:data:`_NEXT`): the next exchange through the same
    middlewares follows them (a dict look-up each) rather than walking again, and walks
    only if they lead elsewhere."""
    try:
        if send.__class__ is not FunctionType:
            if send.__class__ is MethodType:  # a server's, or a middleware object's
                if send.__self__.__class__ in SERVER_CLASSES:
                    return send
                found = _follow(send)
                return _walk(send) if found is None else found
            if send.__class__ is not partial or is_daphne_send(send):
                return send  # the usual case: no walk
            return _walk(send)
        if send.__closure__ is None:  # a plain function: nothing wrapped in it
            return send
        # A closure: the cells learned lead on (to the server's send, under
        # ServerErrorMiddleware's: one hop); else walk.
        found = _follow(send)
        return _walk(send) if found is None else found
    except Exception:  # noqa: BLE001 - an odd class (a __module__ no str)
        return send


def _follow(send: Any) -> Any:
    """The server's ``send`` down the cells (and attributes) learned from ``send``, a
    closure or a method of a middleware's object; None where they lead nowhere known (no
    cell learned for a code, an empty cell, another ``send`` wrapped)."""
    try:
        found = send
        for _ in range(_DEPTH - 1):  # as deep as the walk: a hop less than its levels
            if found.__class__ is FunctionType:
                code = found.__code__
                known = _NEXT.get(id(code))  # a code's hash reads all of it: its id
                if known is None or known[0] is not code:
                    return None
                found = found.__closure__[known[1]].cell_contents  # type: ignore[index]
                if (found.__class__ in _METHODS
                        and found.__self__.__class__ in SERVER_CLASSES):
                    return found
            elif found.__class__ is MethodType:
                owner = found.__self__
                kind = owner.__class__
                known = _NEXT.get(id(kind))
                if known is None or known[0] is not kind:
                    return None
                found = object.__getattribute__(owner, "__dict__")[known[1]]
                if (found.__class__ in _METHODS
                        and found.__self__.__class__ in SERVER_CLASSES):
                    return found
            elif found.__class__ is partial:
                if found.args and found.args[0].__class__ in SERVER_CLASSES:
                    return found  # daphne's
                found = found.func
            else:
                return None
    except Exception:  # noqa: BLE001 - an empty cell: the caller walks
        pass
    return None


#: A closure's code (by id; the code is kept, and compared) -> the index of its cell
#: that leads to the server's ``send`` (the next wrapper, or the server's own); a
#: middleware object's class -> the name of its attribute that does: learned by
#: :func:`_walk`, a few middlewares per process (the bound keeps code or classes made
#: per request, which no framework does, from growing it).
_NEXT: dict[int, tuple[Any, Any]] = {}
_NEXT_KEPT = 32
#: The server classes whose bound methods (or daphne's protocol, in its ``partial``)
#: were found: a look-up, not a module's name.
SERVER_CLASSES: set[type] = set()


def _walk(send: Any) -> Any:
    """:func:`own_send`'s walk, breadth first; the cells that led to the server's
    ``send`` are kept in :data:`_NEXT`."""
    todo: list[tuple[Any, tuple[tuple[Any, Any], ...]]] = [(send, ())]
    for _ in range(_DEPTH):
        found: list[tuple[Any, tuple[tuple[Any, Any], ...]]] = []
        for candidate, way in todo:
            kind = candidate.__class__
            if kind in _METHODS:
                owner = type(candidate.__self__)
                if owner.__module__.startswith(_SERVERS):
                    if "receive" in candidate.__name__:  # kept beside the send: not it
                        continue
                    SERVER_CLASSES.add(owner)
                    return _learned(way, candidate)
                if kind is MethodType:
                    # A method of a middleware's object (Starlette's GZipMiddleware hands
                    # on its responder's send_with_compression): the send it was given
                    # is an attribute of that object. Its instance dict is read as it
                    # is (object.__getattribute__: no __getattr__ or property of the
                    # class runs), and only its functions, partials and bound methods
                    # are looked at further.
                    for name, value in _attributes(candidate.__self__):
                        if value.__class__ in _WRAPPERS:
                            found.append((value, (*way, (owner, name))))
            elif kind is partial:
                if is_daphne_send(candidate):
                    SERVER_CLASSES.add(type(candidate.args[0]))
                    return _learned(way, candidate)
                found.append((candidate.func, way))
                # The send it was given may be an argument of its own: Starlette's
                # CORSMiddleware hands on partial(self.send, send=send, ...) for a
                # request with an Origin.
                for value in (*candidate.args, *candidate.keywords.values()):
                    if value.__class__ in _WRAPPERS:
                        found.append((value, way))
            elif kind is FunctionType:
                for index, cell in enumerate(candidate.__closure__ or ()):
                    try:
                        contents = cell.cell_contents
                    except ValueError:  # an empty cell
                        continue
                    if contents.__class__ in _WRAPPERS:
                        found.append((contents, (*way, (candidate.__code__, index))))
        todo = found
        if not todo:
            break
    return send


def _attributes(owner: Any) -> tuple[tuple[str, Any], ...]:
    """The items of ``owner``'s instance dict, without running any of its class's code
    (none for an object without one: slots, a native class)."""
    try:
        attributes = object.__getattribute__(owner, "__dict__")
        return tuple(attributes.items()) if attributes.__class__ is dict else ()
    except Exception:  # noqa: BLE001 - no dict
        return ()


def _learned(way: tuple[tuple[Any, Any], ...], found: Any) -> Any:
    """Keep the cells and attributes that led to ``found`` (the first found for each
    code or class)."""
    for anchor, hop in way:
        if len(_NEXT) < _NEXT_KEPT and id(anchor) not in _NEXT:
            _NEXT[id(anchor)] = (anchor, hop)
    return found


def is_daphne_send(send: Any) -> bool:
    """Whether a ``functools.partial`` is daphne's ``send``:
    ``partial(server.handle_reply, protocol)``. Never raises."""
    try:
        args = send.args
        return bool(args.__class__ is tuple and args
                    and type(args[0]).__module__.startswith("daphne."))
    except Exception:  # noqa: BLE001 - an odd class: not daphne's
        return False


def server_send(send: Any, prefix: str) -> Any:
    """The server's own ``send`` (:func:`own_send`) if it is a bound method of a class
    whose module starts with ``prefix``; None otherwise."""
    found = own_send(send)
    try:
        if (found.__class__ in _METHODS
                and type(found.__self__).__module__.startswith(prefix)):
            return found
    except Exception:  # noqa: BLE001 - an odd class: not the server's
        pass
    return None


def hypercorn_connection(stream: Any) -> tuple[Any, Any]:
    """(protocol, TCP server) behind a hypercorn stream (whose ``app_send`` the app got):
    its ``send`` is the protocol's (h11 or h2), whose ``send`` is the TCP server's."""
    protocol = getattr(getattr(stream, "send", None), "__self__", None)
    server = getattr(getattr(protocol, "send", None), "__self__", None)
    return protocol, server


def _hypercorn_socket(server: Any) -> tuple[bool, Any]:
    """(whether the transport is closing, the socket) of hypercorn's TCP server
    ``server``: the asyncio worker's transport's, or the trio worker's SocketStream's
    (over TLS, an SSLStream over one); None when there is none."""
    writer = getattr(server, "writer", None)
    if writer is not None:  # asyncio
        transport = writer.transport
        if transport.is_closing():
            return True, None
        return False, transport.get_extra_info("socket")
    trio_stream = getattr(server, "stream", None)
    return False, getattr(trio_stream, "socket", None) or getattr(
        getattr(trio_stream, "transport_stream", None), "socket", None)


def hypercorn_dead(stream: Any) -> bool:
    """Whether a hypercorn stream is dead: what is sent on it now goes nowhere.

    HTTP/1: whether its TCP connection is dead. hypercorn marks the stream ``closed`` at
    the end of the client's data, from a client that left or one that only half-closed,
    and writes on either way; the first write to a client that left brings a reset. The
    asyncio worker's transport is closing once a write failed; the trio worker keeps no
    sign, but the socket's TCP state is CLOSE after the reset (read where the system
    offers it: Linux).

    HTTP/2 (and 3): an HTTP/2 stream is marked ``closed`` only when the client reset it
    (RST_STREAM: an aborted fetch), the connection ended, or its response ended; then
    hypercorn drops what the app sends on it, while the connection, alive for the
    client's other streams, says nothing."""
    try:
        if getattr(stream, "closed", False) is not True:  # the usual case: one look
            return False
        scope = getattr(stream, "scope", None)
        if scope.__class__ is dict and scope.get("http_version") in _MULTIPLEXED:
            return True
        _, server = hypercorn_connection(stream)
        closing, sock = _hypercorn_socket(server)
        if closing:
            return True
        if sock is None or _TCP_INFO is None or sock.fileno() < 0:
            return False
        return bool(sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, 1)[0] == _TCP_CLOSE)
    except Exception:  # noqa: BLE001 - another version's insides: nothing known
        return False


def _uvicorn_transport(receive: Any) -> Any:
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
        transport = _uvicorn_transport(receive)
        if transport is None:
            return False
        from readme_metrics.capture.sockets import peer_done  # a rare path: lazily

        sock = transport.get_extra_info("socket")
        return sock is not None and sock.fileno() >= 0 and peer_done(sock)
    except Exception:  # noqa: BLE001 - another version's insides: nothing known
        return False


def server_transport(receive: Any, stream: Any) -> Any:
    """The asyncio transport the server reads this exchange's HTTP/1 connection
    through: uvicorn's (found from its ``receive``), or hypercorn's asyncio worker's
    (from the stream whose ``app_send`` the app got); None for another server, HTTP/2
    and 3 (a connection of many streams), hypercorn's trio worker, a server built
    otherwise, a transport with no socket, or once the transport is closing."""
    try:
        transport = _uvicorn_transport(receive)
        if transport is not None:
            return transport if transport.get_extra_info("socket") is not None else None
        if not type(stream).__module__.startswith("hypercorn."):
            return None
        scope = getattr(stream, "scope", None)
        if scope.__class__ is not dict or scope.get("http_version") in _MULTIPLEXED:
            return None
        _, server = hypercorn_connection(stream)
        writer = getattr(server, "writer", None)
        transport = getattr(writer, "transport", None)
        if (transport is None or transport.is_closing()
                or transport.get_extra_info("socket") is None):
            return None
        return transport
    except Exception:  # noqa: BLE001 - another version's insides: nothing known
        return None


def hypercorn_half_closed(stream: Any) -> bool:
    """Whether the client of the hypercorn HTTP/1 stream whose ``app_send`` the app got
    (``stream``, its ``__self__``) has shut its side of the connection or reset it,
    before hypercorn read that: at its next read (the event loop's next turn) hypercorn
    feeds the end to h11, which fails a body short of its Content-Length, and hypercorn
    answers its own 400 if no response head went out yet (the bare app, answering
    without a wait, got its own answer out first). False over HTTP/2 and 3 (the
    connection's end is no stream's), once the transport is closing, for any other
    server, or a hypercorn built otherwise."""
    try:
        if not type(stream).__module__.startswith("hypercorn."):
            return False
        scope = getattr(stream, "scope", None)
        if scope.__class__ is dict and scope.get("http_version") in _MULTIPLEXED:
            return False
        from readme_metrics.capture.sockets import peer_done  # a rare path: lazily

        protocol, server = hypercorn_connection(stream)
        closing, sock = _hypercorn_socket(server)
        if closing:
            return False
        return (sock is not None and sock.fileno() >= 0 and peer_done(sock)
                and not _rest_received(protocol, sock))
    except Exception:  # noqa: BLE001 - another version's insides: nothing known
        return False


# The most of a body's rest looked for in the socket (a peek copies it).
_REST_PEEKED = 1 << 20


def _rest_received(protocol: Any, sock: Any) -> bool:
    """Whether all the body hypercorn's h11 connection still waits for is in the socket,
    unread, before the client's end: a turn of the loop then reads a whole body, which
    h11 takes without the 400 (the body is logged whole, as the bare app's client sent
    it). h11's insides: False (short) when they are not the ones looked for.

    Over TLS only what h11 holds already counts: the socket's bytes are ciphertext, whose
    count says nothing of the body (5 bytes more, in a record of 27, passed for the 15
    missing; a close_notify alert passes for bytes too), and a turn that reads the
    client's end, a FIN with no close_notify, closes asyncio's TLS transport before the
    app answers, whole body or not."""
    connection = getattr(protocol, "connection", None)
    remaining = getattr(getattr(connection, "_reader", None), "_remaining", None)
    buffered = getattr(connection, "_receive_buffer", None)
    if remaining.__class__ is not int or buffered is None:
        return False
    missing = remaining - len(buffered)
    if missing <= 0:
        return True
    if missing > _REST_PEEKED or getattr(protocol, "ssl", True) is not False:
        return False
    from readme_metrics.capture.sockets import peek_copy  # a rare path: lazily

    return len(peek_copy(sock, missing)) >= missing


def trio_ready(receive: Any) -> Any:
    """The message the trio memory channel whose ``receive`` this is (hypercorn's trio
    worker's) holds now, taken without a checkpoint (``receive_nowait``: its
    ``receive`` checkpoints even when a message is there, a turn in which hypercorn
    reads the client's end); None when it holds none, or for another ``receive``."""
    try:
        channel: Any = getattr(receive, "__self__", None)
        if type(channel).__module__.partition(".")[0] != "trio":
            return None
        import trio

        try:
            return channel.receive_nowait()
        except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
            return None
    except Exception:  # noqa: BLE001 - another version's insides: nothing known
        return None


def uvicorn_unread(receive: Any, want: int, keep: int) -> tuple[bytes, int]:
    """What the client of the uvicorn request cycle whose ``receive`` this is sent and
    uvicorn has not read yet, left in place (uvicorn reads it itself, or drops it at the
    disconnect): (its first ``keep`` bytes at most, how many of ``want`` bytes are
    there). Read through a duplicate of the socket's descriptor, without a turn of the
    event loop. (b"", 0) over TLS (the socket holds ciphertext), for another server, a
    uvicorn built otherwise, or when the socket is gone."""
    from readme_metrics.capture.sockets import peek_copy, unread_bytes  # rare: lazily

    try:
        transport = _uvicorn_transport(receive)
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
