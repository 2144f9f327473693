"""The app given to a middleware when it is no app yet: a framework's class, or a helper
that gives the app, named without its call. Each was taken as it was and failed on every
request instead, in the server's words ("AppStack.__call__() takes 1 positional argument
but 3 were given" for ``MetricsMiddleware(bottle.default_app, config)``); each is now a
``TypeError`` at construction, saying what to pass.

Only what no server can call is refused: a signature that cannot be read (a builtin),
``*args``, or a class that PEP 3333 or ASGI 2 allows as an app is left as it is.
"""

from __future__ import annotations

import inspect
from typing import Any, Optional

from readme_metrics.asgi_single import VARIADIC  # what says nothing of a callable's arguments

__all__ = ["asgi_server_call", "is_asgi_app", "not_an_app", "not_callable_hint",
           "other_kind", "rsgi_server_call", "wsgi_app_name"]

#: What each kind of server passes the app: WSGI (environ, start_response); ASGI 3
#: (scope, receive, send), or ASGI 2's class, made with the scope alone.
_ARGUMENTS = {"WSGI": ("environ", "start_response"), "ASGI": ("scope", "receive", "send")}


def _takes(call: Any, count: int, meant: bool = False) -> Optional[bool]:
    """Whether ``call`` can be called with ``count`` positional arguments; None when its
    signature cannot be read. Its own signature: a wrapper made with ``functools.wraps``
    is called with what it takes, not with what it wraps takes; with ``meant``, the one
    it wraps when its own is only ``(*args, **kwargs)`` (a decorator's, which says
    nothing of what it is meant to be called with)."""
    try:
        if call.__class__ is not type(call):
            return None  # a proxy (wrapt's, a Mock's spec): the signature is of what it
            # stands for, not of what it takes (a wrapper passing it one argument more)
        signature = inspect.signature(call, follow_wrapped=False)
        if meant and all(parameter.kind in VARIADIC
                         for parameter in signature.parameters.values()):
            signature = inspect.signature(call)
    except Exception:  # no signature (a builtin, a C type, a __call__ in __slots__: its
        return None    # TypeError is inspect's, not a call's), or attributes that raise
    try:
        signature.bind(*[None] * count)
    except TypeError:
        return False
    return True


def _own_call(cls: type) -> Any:
    """The ``__call__`` a class gives its instances (None when only ``object``'s)."""
    for klass in cls.__mro__[:-1]:
        if "__call__" in vars(klass):
            return vars(klass)["__call__"]
    return None


def _name(app: Any) -> str:
    return f"{getattr(app, '__module__', None) or '?'}.{getattr(app, '__qualname__', '?')}"


def _a_class(cls: type, kind: str) -> Optional[str]:
    """The refusal for an app class given in place of its instance (``falcon.App``,
    ``bottle.Bottle``, ``falcon.asgi.App``): its instances take what a server passes, and
    the class itself does not make an answer. PEP 3333's application class (its
    instance is the response: it has ``__iter__``) and ASGI's classes (``__await__``,
    or ASGI 2's, whose instances take ``(receive, send)``) are apps, and pass; so does a
    class whose call is not only the making of an instance (a metaclass's ``__call__``,
    its own ``__new__``), which may answer the request itself."""
    if hasattr(cls, "__iter__") or hasattr(cls, "__await__"):
        return None
    if type(cls).__call__ is not type.__call__ or any(
            "__new__" in vars(klass) for klass in cls.__mro__[:-1]):
        return None  # its metaclass's __call__ or its own __new__ says what a call gives
    call = _own_call(cls)  # an ASGI 2 class's __call__(self, receive, send) decorated: passes
    if call is None or not _takes(call, len(_ARGUMENTS[kind]) + 1, meant=True):
        return None
    name = _name(cls)
    return (f"app is the class {name}, not an app: make the app and wrap it "
            f"(app = {cls.__qualname__}(), its routes added to it)")


def not_an_app(app: Any, kind: str) -> Optional[str]:
    """Why ``app`` cannot be what a ``kind`` ("WSGI" or "ASGI") server calls, or None.
    Called after the check of the other kind's app (an ASGI app given to the WSGI
    middleware is refused by it, with its own words)."""
    try:
        if isinstance(app, type):
            return _a_class(app, kind)
        arguments = _ARGUMENTS[kind]
        if _takes(app, len(arguments)) is not False:
            return None
        if kind == "ASGI" and _takes(app, 1) is not False:
            return None  # ASGI 2's instance called with the scope alone
        try:
            shown = str(inspect.signature(app, follow_wrapped=False))
        except Exception:  # noqa: BLE001 - read above: this is a second look
            shown = "(...)"
    except Exception:  # an app whose attributes raise: left to be called as it is
        return None
    hint = ""
    if type(app).__module__ == "bottle" and type(app).__name__ == "AppStack":
        hint = ("; bottle.default_app is Bottle's stack of apps: the app is "
                "bottle.default_app(), with the parentheses")
    return (f"a {kind} server calls the app with ({', '.join(arguments)}), and app "
            f"takes {shown}: every request would fail with a TypeError. A function that "
            f"makes or returns the app is to be called first (MetricsMiddleware(make_app(), "
            f"config)){hint}")


def is_asgi_app(app: Any) -> bool:
    """True for an app no WSGI server can call: an ``async def`` callable (FastAPI,
    Starlette, Django's ASGIHandler, Quart's app), which returns a coroutine, never a
    response. Wrapped with a WSGI middleware it failed only on each request, uvicorn
    saying "MetricsMiddleware.__call__() missing 1 required positional argument".

    A class is called to make an instance: its ``__call__`` attribute is its instances'.
    PEP 3333's application class, which takes ``(environ, start_response)`` and whose
    instance is the response (an iterable), is a WSGI app whatever its instances'
    ``__call__`` is (async, it was refused); ASGI 2's class takes the scope alone, and
    an ASGI middleware's class given by mistake (Starlette's CORSMiddleware: it takes
    ``(app, ...)``) makes no iterable."""
    try:
        if isinstance(app, type) and hasattr(app, "__iter__") and _takes(app, 2):
            return False
        return inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(
            getattr(app, "__call__", None))  # noqa: B004 - its coroutine-ness is asked
    except Exception:  # an app whose attributes raise: left to be called as it is
        return False


def wsgi_app_name(app: Any) -> Optional[str]:
    """The name of ``app`` if it is a WSGI app, which no ASGI server can call: not
    ``async``, and its signature takes ``(environ, start_response)`` but not ``(scope,
    receive, send)`` (Flask, a WSGI function or object, the WSGI middleware). Wrapped
    with an ASGI middleware it failed only on each request, uvicorn saying
    "Flask.__call__() takes 3 positional arguments but 4 were given". None for anything
    else, and for an app whose signature cannot be read."""
    try:
        # (A class's __call__ is its instances': its own call makes one, as a WSGI app
        # class of PEP 3333's does, whatever that is; its signature tells.)
        if not isinstance(app, type) and (inspect.iscoroutinefunction(app) or
                inspect.iscoroutinefunction(getattr(app, "__call__", None))):  # noqa: B004
            return None
        own = inspect.signature(app, follow_wrapped=False)
        signature = inspect.signature(app)
    except Exception:  # no signature (a builtin), or attributes that raise: left alone
        return None
    # Its own parameters first, when it names them: inspect.signature follows __wrapped__,
    # and an ASGI adapter of a WSGI app made with functools.wraps showed the WSGI app's.
    if all(parameter.kind not in VARIADIC for parameter in own.parameters.values()):
        try:
            own.bind(None, None, None)
            return None
        except TypeError:
            pass
    try:
        signature.bind(None, None, None)
        return None  # (scope, receive, send) fits: an ASGI 3 app, or *args
    except TypeError:
        pass
    try:
        signature.bind(None, None)
    except TypeError:
        return None
    if inspect.isfunction(app) or inspect.ismethod(app) or isinstance(app, type):
        return str(app.__name__)
    return type(app).__name__


def other_kind(middleware: str, app: Any, kind: str, twin: str) -> None:
    """Refuse, with a ``TypeError`` naming ``twin`` (the same middleware for the other
    kind), an app of the other kind than ``kind`` ("WSGI" or "ASGI"), which the companion
    ``middleware`` cannot call: a Flask app given to ``readme_metrics.asgi.CORSMiddleware``
    was taken as it was, and uvicorn answered every request with "Flask.__call__() takes
    3 positional arguments but 4 were given" (newcomer21)."""
    if kind == "ASGI":
        name = wsgi_app_name(app)
        shape = None if name is None else f"a WSGI app ({name}: it takes (environ, start_response))"
    else:
        shape = None if not is_asgi_app(app) else (
            f"an ASGI app ({(app if isinstance(app, type) else type(app)).__name__}: "
            f"its __call__ is async)")
    if shape is not None:
        raise TypeError(f"readme_metrics: {middleware}(app): app is {shape}, and this "
                        f"{middleware} is for {kind} apps: every request would fail with "
                        f"a TypeError. Wrap it with {twin}(app)")


def not_callable_hint(app: Any) -> str:
    """What to add to the refusal of an app that cannot be called at all, when what was
    given holds the app: Pyramid's ``Configurator`` makes it with ``make_wsgi_app()``."""
    if callable(getattr(app, "make_wsgi_app", None)):
        return (" (Pyramid's Configurator is not the app: wrap config.make_wsgi_app(), "
                "which makes it)")
    return ""


#: The ASGI scope types a server passes (uvicorn's first call is the lifespan's).
_ASGI_SCOPES = ("http", "websocket", "lifespan")


def asgi_server_call(name: str, environ: Any, three: bool = False) -> Optional[str]:
    """Why the WSGI middleware ``name`` was called with ``environ`` alone (or, ``three``,
    with ``environ`` and two more arguments), when that is an ASGI server's call: uvicorn
    and daphne take an app whose ``__call__`` is not async for an ASGI 2 app, and call it
    with the scope alone: uvicorn first at start-up (the lifespan: it then says only "ASGI
    'lifespan' protocol appears unsupported"), both at each request (a 500, and
    "__call__() missing 1 required positional argument: 'start_response'"). granian
    ``--interface asgi`` calls any app as ASGI 3, ``(scope, receive, send)`` (the lifespan:
    "ASGI Lifespan errored", then "__call__() takes from 2 to 3 positional arguments but
    4 were given" at each request). None for any other call."""
    try:
        if not (isinstance(environ, dict) and environ.get("type") in _ASGI_SCOPES
                and isinstance(environ.get("asgi"), dict)):
            return None
    except Exception:  # noqa: BLE001 - a mapping that raises: no server's scope
        return None
    how = ("with (scope, receive, send) (type {0!r}: granian --interface asgi calls any "
           "app so)" if three else "with a scope alone (type {0!r}: uvicorn and daphne do "
           "so with an app whose __call__ is not async)").format(environ["type"])
    return (f"readme_metrics: {name}(app, config) is a WSGI app, and an ASGI server "
            f"called it {how}: every request fails with a TypeError. Serve it with a WSGI "
            f"server (gunicorn app:app, waitress-serve app:app, granian --interface wsgi "
            f"app:app), or give the ASGI server an ASGI app: app = WsgiToAsgi(app) (from "
            f"asgiref.wsgi import WsgiToAsgi)")


def rsgi_server_call(name: str, environ: Any) -> Optional[str]:
    """Why the WSGI middleware ``name`` could not read ``environ``, when that is granian's
    RSGI scope (``granian --interface rsgi``, granian's default): the request then failed
    with "could not start capturing ... AttributeError" and the app's own error (review93).
    None for anything else."""
    kind = type(environ)
    if not (kind.__module__.startswith("granian") and kind.__name__.startswith("RSGI")):
        return None
    return (f"readme_metrics: {name}(app, config) is a WSGI app, and granian called it as "
            f"an RSGI app (--interface rsgi, granian's default): every request fails. "
            f"Serve it with granian --interface wsgi app:app (or gunicorn app:app, "
            f"waitress-serve app:app)")
