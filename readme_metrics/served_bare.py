"""A framework's own app served in place of the middleware made around it.

``api = falcon.App()``, ``app = MetricsMiddleware(api, config)``, then ``gunicorn
mod:api``: the server calls the framework's object, and every request went unlogged
without a word (newcomer22). So did Pyramid's router served instead of the wrapped one
(``serve(app)`` beside ``application = MetricsMiddleware(app, config)``, or
``config.make_wsgi_app()`` called again), and a FastAPI or Starlette app under ``uvicorn
mod:api`` while ``app`` is the wrapped one. Bottle's and Flask's checks are in
:mod:`readme_metrics.unwrapped`; Django's settings say whether its middleware is there.

Each watch looks at the first request the framework's object serves (a test client's
request says nothing of how the app is served: the next one looks), warns once if no
middleware records it, and takes itself away: the wrapped path pays for one look, at its
first request, and nothing after. Where the framework gives no such hook (a version
without the attribute used), nothing is watched. The hook per framework:

- Falcon (``falcon.App``, ``falcon.asgi.App``): the app's request class, which its call
  makes each request's ``Request`` with, stands in for one request;
- Pyramid: a ``NewRequest`` subscriber of the router's registry (a router made again from
  the same configuration shares it), removed after, the registry's ``has_listeners``
  put back as it was (Pyramid's router sends no event where it is false);
- Starlette 0.33 or newer (FastAPI): the router's ``middleware_stack``, for one ``http``
  request (lifespan and websocket scopes pass it by: the ASGI middleware records
  neither).

Litestar, Quart and Sanic are not watched: README's rows for them say which object to
serve.

A first request served bare, before any through the middleware, warns even where the
bare app is served beside the wrapped one on purpose: once a process, and true then (no
request had been logged). Waiting for a second request to be sure would leave the
newcomer who tries one ``curl`` without a word.
"""

from __future__ import annotations

import sys
import threading
import weakref
from typing import Any, Callable, Optional

from readme_metrics._logging import QuietLogger
from readme_metrics.unwrapped import from_test_client, recorded_outside

__all__ = ["SERVED_BARE", "watch_served"]

#: The warning: the framework, then what to serve (README's Troubleshooting quotes it).
SERVED_BARE = (
    "readme_metrics: the %s app served a request, and the MetricsMiddleware made around "
    "it in this process does not serve it, so no request is logged: %s")

_lock = threading.Lock()


def _serve_advice(middleware: Any, app: Any, framework: str) -> str:
    """What to give the server: the names the module holding both gives them
    (``falcon_app:app``, not ``falcon_app:api``), looked up once, at the warning, in the
    modules' own dicts (review104: a lazy module was loaded, and its ImportError lost
    the warning)."""
    for name, module in list(sys.modules.items()):
        try:  # (not getattr: a lazy module, LazyLoader's, would be loaded, even raise)
            found = object.__getattribute__(module, "__dict__")
        except AttributeError:
            continue
        if not isinstance(found, dict) or not any(v is app for v in list(found.values())):
            continue
        wrapped = [key for key, value in list(found.items()) if value is middleware]
        bare = [key for key, value in list(found.items()) if value is app]
        if wrapped and bare:
            prefix = "" if name == "__main__" else f"{name}:"
            return (f"give the server {prefix}{wrapped[0]}, the wrapped app, not "
                    f"{prefix}{bare[0]}")
    return (f"give the server the wrapped app (gunicorn module:app, uvicorn module:app, "
            f"where app = MetricsMiddleware(...)), not the {framework} app itself")


class _Watch:
    """One framework object's watch: looked once, by the first request not a test
    client's; ``restore`` takes the hook away. Never raises into the request."""

    def __init__(self, framework: str, app: Any, middleware: Any,
                 restore: Callable[[], None]) -> None:
        self.framework = framework
        self.app = app  # (a cycle through the app's hook: Falcon's app takes no weakref)
        # Weak: a middleware dropped (one a test made) goes, with its sender thread.
        self.middleware = weakref.ref(middleware)
        config = middleware.config
        self.logger = QuietLogger(config.logger, secrets=(config.api_key,))
        self.restore = restore
        self.pending = True

    def look(self, scope: Any = None) -> None:
        """At a request the framework's object serves, in its thread or task (an ASGI
        app's: with the request's scope)."""
        try:
            if _test_client_scope(scope) or from_test_client():
                return  # the next request looks
            with _lock:
                if not self.pending:
                    return  # another thread's request looked
                self.pending = False
            self.restore()
            if recorded_outside():
                return
            middleware = self.middleware()
            if middleware is None:
                return
            self.logger.warning(SERVED_BARE, self.framework,
                                _serve_advice(middleware, self.app, self.framework))
        except Exception:  # noqa: BLE001 - the app's own request goes on, whatever this did
            pass


def watch_served(app: Any, middleware: Any) -> None:
    """Asked by a middleware (metrics on) made around ``app``: watch it when it is a
    Falcon, Pyramid or Starlette app (only frameworks already imported are looked at)."""
    try:
        for module, name, watch in _WATCHES:
            found = sys.modules.get(module)
            if found is not None and isinstance(app, getattr(found, name, ())):
                watch(app, middleware)
                return
    except Exception:  # noqa: BLE001 - the middleware works the same, unwatched
        pass


def _watch_falcon(app: Any, middleware: Any, asgi: bool = False) -> None:
    """Falcon makes each request's ``Request`` with ``app._request_type(...)``: for the
    first request, a function that looks, puts the class back, and makes it. Under ASGI
    a websocket's (no ``first_event``) passes by, unlooked."""
    made = getattr(app, "_request_type", None)
    if not isinstance(made, type):
        return  # watched already, or a Falcon without it

    def restore() -> None:
        if app._request_type is first_request:
            app._request_type = made

    watch = _Watch("Falcon", app, middleware, restore)

    def first_request(*args: Any, **kwargs: Any) -> Any:
        if not asgi:
            watch.look()
        elif "first_event" in kwargs:  # (made with the scope first: Starlette's
            watch.look(args[0] if args else None)  # TestClient may call a Falcon app)
        return made(*args, **kwargs)

    app._request_type = first_request


_PYRAMID_WATCH = "_watch_pyramid.<locals>.first_request"


def _watch_pyramid(app: Any, middleware: Any) -> None:
    """A ``NewRequest`` subscriber of the router's registry, for the first request."""
    from pyramid.interfaces import INewRequest

    registry = app.registry
    if any(getattr(registration.handler, "__qualname__", "") == _PYRAMID_WATCH
           for registration in registry.registeredHandlers()):
        return  # watched already (another middleware made around it)
    had = bool(registry.has_listeners)

    def restore() -> None:
        registry.unregisterHandler(first_request, (INewRequest,))
        if not had and not any(True for _ in registry.registeredHandlers()) and not any(
                True for _ in registry.registeredSubscriptionAdapters()):
            registry.has_listeners = False  # no event sent for each request, as before

    watch = _Watch("Pyramid", app, middleware, restore)

    def first_request(event: Any) -> None:
        watch.look()

    registry.registerHandler(first_request, (INewRequest,))


def _test_client_scope(scope: Any) -> bool:
    """Starlette's TestClient runs the app in a thread of its own (its stack says
    nothing): its scopes carry the extension it alone sets. A Falcon ASGI app's too
    (review104: Starlette's TestClient around one warned)."""
    extensions = scope.get("extensions") if isinstance(scope, dict) else None
    return isinstance(extensions, dict) and "http.response.debug" in extensions


_STARLETTE_WATCH = "_watch_starlette.<locals>.first_request"


def _watch_starlette(app: Any, middleware: Any) -> None:
    """The router's ``middleware_stack`` (Starlette 0.33 or newer: before, the router's
    call did the routing itself, and nothing is watched), for the first ``http``
    request. Set in the router's ``__init__`` and read at each call (the app's own is
    built at its first call, and ``add_middleware`` refuses to run once it is set)."""
    router: Any = getattr(app, "router", None)
    stack: Optional[Callable[..., Any]] = getattr(router, "middleware_stack", None)
    if stack is None or getattr(stack, "__qualname__", "") == _STARLETTE_WATCH:
        return  # not watchable, or watched already

    def restore() -> None:
        if router.middleware_stack is first_request:
            router.middleware_stack = stack

    watch = _Watch("Starlette" if type(app).__name__ == "Starlette" else
                   type(app).__name__, app, middleware, restore)

    async def first_request(scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            watch.look(scope)
        await stack(scope, receive, send)

    router.middleware_stack = first_request


def _watch_falcon_asgi(app: Any, middleware: Any) -> None:
    _watch_falcon(app, middleware, asgi=True)


#: (module, class, its watch): falcon.asgi.App first, a subclass of falcon.App.
_WATCHES: tuple[tuple[str, str, Callable[[Any, Any], None]], ...] = (
    ("falcon.asgi", "App", _watch_falcon_asgi), ("falcon", "App", _watch_falcon),
    ("pyramid.router", "Router", _watch_pyramid),
    ("starlette.applications", "Starlette", _watch_starlette))
