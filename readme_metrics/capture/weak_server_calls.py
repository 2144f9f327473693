"""A WSGI server's ``start_response`` and ``write`` held weakly once the response's
iterable is exhausted, so that no reference cycle through wsgiref's handler keeps the
response (and its log) for the cyclic GC (``WSGICapture.let_go``; review86, review89).
"""

from __future__ import annotations

import sys
import types
import weakref
from typing import TYPE_CHECKING, Any, Callable

from readme_metrics.capture.wsgi_servers import under_wsgiref

if TYPE_CHECKING:
    from readme_metrics.capture.wsgi_exchange import WSGICapture

__all__ = ["Weakly", "late_write", "let_go", "started", "weakly"]


def let_go(capture: WSGICapture) -> None:
    """``WSGICapture.let_go`` (bound as it is): the app's iterable is exhausted: the
    server's ``start_response`` and ``write`` are held weakly from now on (they are still
    called, as long as the server lives). wsgiref's (Django's runserver) are methods of
    its handler, which holds the response, which holds the capture: a reference cycle.
    runserver drops the response unclosed when its ``close()`` raises reading the rest of
    a body whose client reset the connection; bare, the app's iterable goes with the
    handler at once, wrapped the cycle left it (and its log, in inline mode) to the cyclic
    GC, which an idle server may not run for hours (review86). Under wsgiref's server, a
    middleware outside this one may hand its own callables over the handler's (a
    closure, werkzeug's LintMiddleware's GuardedWrite): those too (review89)."""
    wsgiref = under_wsgiref(capture.environ)
    capture.server_start_response = weakly(capture.server_start_response, wsgiref, started)
    write = getattr(capture, "server_write", None)
    if write is not None:
        capture.server_write = weakly(write, wsgiref, late_write)


def weakly(call: Any, wsgiref: bool, gone: Callable[..., Any]) -> Any:
    """``call``, through a weak reference when it is a method of wsgiref's handler (which
    holds the response: runserver's, wsgiref's), or under wsgiref's server (``wsgiref``)
    any callable a weak reference can hold (an outer middleware's, which holds the
    handler's); any other callable as it is (gunicorn's and waitress's objects hold no
    response: 1.2 us a request saved). Once the callable is gone (nothing but this held
    an outer middleware's), ``gone`` is called in its place."""
    if type(call) is types.MethodType:
        handlers = sys.modules.get("wsgiref.handlers")  # (not imported: no such server)
        if not wsgiref and (handlers is None
                            or not isinstance(call.__self__, handlers.BaseHandler)):
            return call
        held: Callable[[], Any] = weakref.WeakMethod(call)
    elif not wsgiref or call.__class__ is Weakly:
        return call
    else:
        try:
            held = weakref.ref(call)
        except TypeError:  # (no weak reference to it: kept)
            return call
    return Weakly(held, gone)


class Weakly:
    """A server's callable held weakly (:func:`weakly`)."""

    __slots__ = ("held", "gone")

    def __init__(self, held: Callable[[], Any], gone: Callable[..., Any]) -> None:
        self.held = held
        self.gone = gone

    def __call__(self, *args: Any) -> Any:
        call = self.held()
        return (self.gone if call is None else call)(*args)


def started(status: str, headers: Any, exc_info: Any = None) -> Any:
    """wsgiref's ``start_response`` once the headers went out (they have at the
    iterable's end): in place of an outer middleware's, gone (:func:`weakly`)."""
    if exc_info is not None:
        raise exc_info[1].with_traceback(exc_info[2])
    raise AssertionError("Headers already set!")


def late_write(data: bytes) -> None:
    """An outer middleware's ``write`` called after the iterable's end, once gone
    (:func:`weakly`): nothing more goes out (wsgiref would put the bytes on the
    connection after the body's end), and nothing is raised into the app."""
