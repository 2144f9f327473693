"""The Content-Length lines of a request werkzeug's development server read, which its
environ does not show.

werkzeug's server (``flask run``, ``werkzeug.serving.run_simple``) puts the last of two
Content-Length lines in CONTENT_LENGTH and reads the body by it. A request that declares
3 bytes, then 80, with 3 bytes of body and the next request pipelined after them, gets a
body of 80 bytes: its own 3 and the start of the next request (its Authorization value
in clear). The app reads that bare as wrapped; the log must not take it in. RFC 9112
(6.3) calls differing lengths a framing error; werkzeug does not refuse them, and closes
the connection after every answer, so the next request is never served.

The lines are in werkzeug's request handler (``self.headers``), which the environ does
not reach. Its ``start_response`` is a closure of the handler's ``run_wsgi`` returning
its ``write``, a closure over the handler: both are found by the names of their free
variables, the handler by its module. A middleware between the server and this one may
have wrapped ``start_response`` (Sentry's, OpenTelemetry's, werkzeug's LintMiddleware):
werkzeug's is then looked for behind it, in the wrapper's closure, a
``functools.partial``'s function and arguments, or an object's attributes, a few layers
deep. Another server, a wrapper that hides it otherwise, or another werkzeug version
built otherwise, reads as "nothing known". Asked only for a request with a body under
werkzeug's server (``werkzeug.socket`` in the environ).
"""

from __future__ import annotations

import functools
import types
from typing import Any, Optional

__all__ = ["handler_of", "least_length"]


def least_length(start_response: Any) -> Optional[int]:
    """The smallest of the lengths a request werkzeug's server served gave in two or more
    differing Content-Length lines (an unreadable one counts as 0: nothing after the
    framing is trusted); None when it gave one, or the same length on each line, or
    when ``start_response`` is not werkzeug's. Never raises."""
    try:
        handler = handler_of(start_response)
        if handler is None:
            return None
        values = handler.headers.get_all("Content-Length")
        if not values or len(values) < 2:
            return None
        lengths = set()
        for value in values:
            text = str(value).strip()
            lengths.add(int(text) if text.isascii() and text.isdigit() else 0)
    except Exception:  # noqa: BLE001 - not werkzeug's, or built otherwise: nothing known
        return None
    return min(lengths) if len(lengths) > 1 else None


def handler_of(start_response: Any) -> Any:
    """werkzeug's request handler serving the request whose ``start_response`` (or a
    wrapper of it) this is; None when it is not werkzeug's. Never raises."""
    try:
        start_response = _werkzeugs(start_response)
        if start_response is None:
            return None
        cells = dict(zip(start_response.__code__.co_freevars, start_response.__closure__))
        write = cells["write"].cell_contents
        handler = dict(zip(write.__code__.co_freevars, write.__closure__))["self"]
        handler = handler.cell_contents
        if not type(handler).__module__.startswith("werkzeug."):
            return None
    except Exception:  # noqa: BLE001 - not werkzeug's, or built otherwise: nothing known
        return None
    return handler


#: How many wrappers deep werkzeug's ``start_response`` is looked for, and how many
#: objects are looked at in all (a wrapper holding much is not searched through).
_DEPTH = 3
_LOOKS = 24


def _werkzeugs(start_response: Any) -> Any:
    """werkzeug's own ``start_response`` (a function of ``werkzeug.serving``): the one
    given, or one a wrapper holds, :data:`_DEPTH` layers deep at most, :data:`_LOOKS`
    objects looked at at most; None when none is found.

    Only what the interpreter holds is read (a function's closure and attributes, a bound
    method's function and object, a partial's function and arguments, an object's
    instance dict through the getter a class statement makes): no attribute is looked up
    by name on an app object, whose ``__getattr__``, properties or proxying (werkzeug's
    ``LocalProxy(get_db)`` calls ``get_db`` at each look-up) would run the app's code."""
    layer = [start_response]
    looks = 0
    for _ in range(_DEPTH + 1):
        inner: list[Any] = []
        for candidate in layer:
            looks += 1
            if looks > _LOOKS:
                return None
            kind = type(candidate)
            owner = candidate
            if kind is types.MethodType or kind is types.BuiltinMethodType:
                owner = candidate.__self__
                if kind is types.MethodType:
                    candidate = candidate.__func__
                    kind = type(candidate)
            if kind is types.FunctionType:
                # The module it was defined in: its __module__ is a copy that
                # functools.wraps gives a wrapper too.
                if dict.get(candidate.__globals__, "__name__") == "werkzeug.serving":
                    return candidate
                closure = candidate.__closure__
                if closure:  # a function closing over it
                    for cell in closure:
                        try:
                            inner.append(cell.cell_contents)
                        except ValueError:  # empty: a nonlocal the wrapper sets later
                            pass
            elif issubclass(kind, functools.partial):
                inner.append(_PARTIAL_FUNC.__get__(candidate, kind))
                inner.extend(_PARTIAL_ARGS.__get__(candidate, kind))
            # A wrapper object's attributes (a bound method's object's, a function's own);
            # not a module's nor a class's, whose names are no wrapped call.
            if not issubclass(type(owner), _NO_WRAPPERS):
                state = _instance_dict(owner)
                if state:
                    inner.extend(dict.values(state))
        layer = [item for item in inner if callable(item)]
        if not layer:
            return None
    return None


_PARTIAL_FUNC: Any = functools.partial.func  # member descriptors: read from the object
_PARTIAL_ARGS: Any = functools.partial.args  # itself, whatever a subclass defines
_NO_WRAPPERS = (types.ModuleType, type)


def _instance_dict(owner: Any) -> Optional[dict[str, Any]]:
    """``owner.__dict__`` as the getter a class statement makes gives it; None where its
    class has none (``__slots__``, a builtin) or defines ``__dict__`` itself (a proxy's
    forwarding it: app code)."""
    for klass in type(owner).__mro__:
        getter = klass.__dict__.get("__dict__")
        if getter is not None:
            if type(getter) is not types.GetSetDescriptorType:
                return None
            state = getter.__get__(owner, type(owner))
            return state if type(state) is dict else None
    return None
