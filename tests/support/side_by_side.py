"""One server process serving an app twice: bare under ``/bare/...``, wrapped under
``/wrap/...``.

The first path segment is moved into ``root_path`` (``SCRIPT_NAME`` under WSGI), so the
app sees the same path either way, and a test compares the two answers of one server.
Used by the conformance apps (tests/support/asgi_cases.py), the misbehaving ones
(tests/support/hostile_apps.py) and the input readers (tests/support/input_apps.py).
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

App = Callable[[Any, Any, Any], Any]
WsgiApp = Callable[[Any, Any], Any]
T = TypeVar("T")


def built_once(build: Callable[[], T]) -> Callable[[], T]:
    """A getter that builds the app on its first call (in the server process that needs
    it, with that process's environment) and returns the same app after."""
    made: list[T] = []

    def get() -> T:
        if not made:
            made.append(build())
        return made[0]

    return get


async def lifespan(receive: Any, send: Any) -> None:
    """Answer a lifespan scope for an app that needs none: each ``lifespan.startup``
    complete, then ``lifespan.shutdown`` complete, and return. (The app texts that
    server tests write import it too: gunicorn_apps, blackbox11, exit14, asgi_cancelled.)"""
    while (await receive())["type"] != "lifespan.shutdown":
        await send({"type": "lifespan.startup.complete"})
    await send({"type": "lifespan.shutdown.complete"})


async def bare_or_wrapped(scope: Any, receive: Any, send: Any, bare: App,
                          wrapped: Callable[[], App], trace: Callable[[Any], None]) -> None:
    """``/wrap/...`` to ``wrapped()`` after ``trace(scope)``; anything else to ``bare``."""
    prefix = scope["path"].lstrip("/").partition("/")[0]
    scope = {**scope, "root_path": scope.get("root_path", "") + "/" + prefix}
    if prefix != "wrap":
        await bare(scope, receive, send)
        return
    trace(scope)
    await wrapped()(scope, receive, send)


def wsgi_bare_or_wrapped(environ: Any, start_response: Any, bare: WsgiApp,
                         wrapped: Callable[[], WsgiApp],
                         trace: Callable[[Any], None] = lambda environ: None) -> Any:
    """The WSGI side of :func:`bare_or_wrapped`: ``/wrap/...`` to ``wrapped()`` after
    ``trace(environ)``; anything else to ``bare``."""
    prefix, _, rest = environ.get("PATH_INFO", "").lstrip("/").partition("/")
    environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + "/" + prefix
    environ["PATH_INFO"] = "/" + rest
    if prefix != "wrap":
        return bare(environ, start_response)
    trace(environ)
    return wrapped()(environ, start_response)
