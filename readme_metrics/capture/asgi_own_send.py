"""The ASGI server's own ``send`` behind the one the app was given, under the wrappers
of the middlewares outside this one.

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
- :func:`is_daphne_send`: whether a ``partial`` is daphne's ``send``.

Never raises: a ``send`` that leads to no server's reads as itself.
"""

from __future__ import annotations

from functools import partial
from types import BuiltinMethodType, FunctionType, MethodType
from typing import Any

__all__ = ["SERVER_CLASSES", "is_daphne_send", "own_send", "server_send"]

# Closures to look into before giving up (a FastAPI app has one: ServerErrorMiddleware's;
# two with a body size limit).
_DEPTH = 4
# A server's send is a bound method: of a Python class, or of a native one (granian's).
_METHODS = (MethodType, BuiltinMethodType)
_WRAPPERS = (FunctionType, *_METHODS, partial)
# The modules of the servers whose ``send`` is read (see asgi_messages): a bound method
# of another class is some middleware's, and not looked into.
_SERVERS = ("uvicorn.", "hypercorn.", "granian.", "daphne.")


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
