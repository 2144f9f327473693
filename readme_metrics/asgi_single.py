"""An ASGI 2 app (a "double callable") called as ASGI 3, as uvicorn and daphne call one.

ASGI 2's app is called with the scope alone and returns the coroutine function that
takes ``(receive, send)``: a class whose instances are made from the scope, or a plain
function of the scope. uvicorn and daphne tell it from ASGI 3 and serve it bare; behind
one of this library's ASGI middlewares, which they take for ASGI 3, it was called with
``(scope, receive, send)``, and every request and lifespan failed with "takes 2
positional arguments but 4 were given". (hypercorn 0.18 and granian 2.8 call any app as
ASGI 3 and answer 500 to the bare ASGI 2 app: wrapped, it is served under them too.)
"""

from __future__ import annotations

import inspect
from typing import Any

from readme_metrics.asgi_types import ASGIApp, Receive, Scope, Send

__all__ = ["VARIADIC", "single_callable"]


# Parameters that say nothing of how many arguments a callable means to take.
VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def _asgi2_app(app: Any) -> bool:
    """Whether ``app`` is an ASGI 2 app: its signature takes one argument and not
    three (anything else is called as ASGI 3); not an ``async`` callable, nor an
    awaitable class. Its own signature, not that of what it keeps as ``__wrapped__``
    (an ASGI 3 layer adapting an ASGI 2 app, made its wrapper by ``functools.wraps`` or
    ``update_wrapper``, takes three), unless its own is only ``(*args, **kwargs)``."""
    try:
        if not isinstance(app, type) and (inspect.iscoroutinefunction(app) or
                inspect.iscoroutinefunction(getattr(app, "__call__", None))):  # noqa: B004
            return False
        if isinstance(app, type) and hasattr(app, "__await__"):
            return False  # an awaitable class: servers call it as ASGI 3
        signature = inspect.signature(app, follow_wrapped=False)
        if all(parameter.kind in VARIADIC for parameter in signature.parameters.values()):
            # (*args, **kwargs): a decorator's; the function it wraps tells.
            signature = inspect.signature(app)
    except Exception:  # no signature (a builtin), or attributes that raise: left alone
        return False
    try:
        signature.bind(None, None, None)
        return False
    except TypeError:
        pass
    try:
        signature.bind(None)
    except TypeError:
        return False
    return True


class _Asgi2:
    """An ASGI 2 app called as ASGI 3, as uvicorn and daphne call one (asgiref's
    ``guarantee_single_callable``)."""

    __slots__ = ("app", "__wrapped__")

    def __init__(self, app: Any) -> None:
        self.app = self.__wrapped__ = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope)(receive, send)


def single_callable(app: Any) -> ASGIApp:
    """``app`` itself when it is an ASGI 3 app (or cannot be told), else an ASGI 3 app
    that calls it as ASGI 2 (asgiref's ``guarantee_single_callable``)."""
    return _Asgi2(app) if _asgi2_app(app) else app
