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

__all__ = ["least_length"]


def least_length(start_response: Any) -> Optional[int]:
    """The smallest of the lengths a request werkzeug's server served gave in two or more
    differing Content-Length lines (an unreadable one counts as 0: nothing after the
    framing is trusted); None when it gave one, or the same length on each line, or
    when ``start_response`` is not werkzeug's. Never raises."""
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


#: How many wrappers deep werkzeug's ``start_response`` is looked for, and how many
#: objects are looked at in all (a wrapper holding much is not searched through).
_DEPTH = 3
_LOOKS = 24


def _werkzeugs(start_response: Any) -> Any:
    """werkzeug's own ``start_response`` (a function of ``werkzeug.serving``): the one
    given, or one a wrapper holds, :data:`_DEPTH` layers deep at most, :data:`_LOOKS`
    objects looked at at most; None when none is found."""
    layer = [start_response]
    looks = 0
    for _ in range(_DEPTH + 1):
        inner: list[Any] = []
        for candidate in layer:
            looks += 1
            if looks > _LOOKS:
                return None
            if getattr(candidate, "__module__", None) == "werkzeug.serving" and hasattr(
                    candidate, "__code__"):
                return candidate
            closure = getattr(candidate, "__closure__", None)
            if closure:  # a function closing over it (an empty cell raises: none known)
                inner.extend(cell.cell_contents for cell in closure)
            if isinstance(candidate, functools.partial):
                inner.append(candidate.func)
                inner.extend(candidate.args)
            # A wrapper object's attributes (a bound method's object's); not a module's
            # nor a class's, whose names are no wrapped call.
            owner = getattr(candidate, "__self__", candidate)
            if not isinstance(owner, (types.ModuleType, type)):
                state = getattr(owner, "__dict__", None)
                if isinstance(state, dict):
                    inner.extend(state.values())
        layer = [item for item in inner if callable(item)]
        if not layer:
            return None
    return None
