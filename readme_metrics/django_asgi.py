"""Django's ASGI application with a lifespan, so that a stop sends the last logs.

Django's ASGI handler does not speak the ``lifespan`` protocol, so an ASGI server never
tells it that it stops; the logs still queued then go out only in the exit hooks, which
uvicorn skips: it ends on SIGTERM (a redeploy, ``docker stop``) by raising the signal
again with its default action. README's SIGTERM lines in ``settings.py`` make that an
exit where Django is imported before uvicorn takes SIGTERM (one ``uvicorn`` process),
but not under ``uvicorn --workers N``, ``uvicorn --reload`` or ``gunicorn --preload -k
uvicorn_worker.UvicornWorker``. Wrapped here, the application answers the lifespan
itself (started at once: Django has nothing to start) and, at the server's shutdown,
sends what every :class:`readme_metrics.django.MetricsMiddleware` of the process has
queued, before the server ends::

    # mysite/asgi.py
    from django.core.asgi import get_asgi_application

    from readme_metrics.django_asgi import with_lifespan

    application = with_lifespan(get_asgi_application())

Every other scope (``http``, ``websocket``) goes to Django untouched.

Served by uvicorn without it, :func:`check_lifespan` warns once, at the first request
Django's middleware sees under ASGI: the loss it tells of comes only at the stop.
"""

from __future__ import annotations

import sys
from typing import Any

from readme_metrics.asgi_types import ASGIApp, Receive, Scope, Send
from readme_metrics.capture.asgi_receive import running_asyncio_loop

__all__ = ["WITHOUT_LIFESPAN", "check_lifespan", "checked", "with_lifespan"]

#: The warning, and README's Troubleshooting row quotes it.
WITHOUT_LIFESPAN = (
    "readme_metrics: Django's ASGI application is served by uvicorn without a lifespan "
    "(uvicorn said \"ASGI 'lifespan' protocol appears unsupported\"): at a stop (SIGTERM: "
    "kill, docker stop, a reload) uvicorn ends Python without its exit hooks, and the "
    "logs still queued then are lost. In asgi.py, application = "
    "with_lifespan(get_asgi_application()) (from readme_metrics.django_asgi import "
    "with_lifespan) sends them before it ends")

#: uvicorn's lifespan classes, one of which its ``Config.load()`` imports (``--lifespan``
#: auto or on, off): uvicorn serves in this process. Not "uvicorn" alone, which a
#: project's asgi.py may import for a ``__main__`` block and be served by hypercorn,
#: whose scope has a ``state`` too and whose exit sends the logs.
_UVICORN_SERVES = ("uvicorn.lifespan.on", "uvicorn.lifespan.off")

#: The extension Starlette's ``TestClient`` puts in every HTTP scope, beside a ``state``
#: as a server's: no server's (uvicorn's scope has none), in a test process that has
#: served with uvicorn before.
_TEST_CLIENT = "http.response.debug"

#: Not empty once a server started the lifespan of an application wrapped here, and
#: once :func:`check_lifespan` has run (each once per process).
_started: list[bool] = []
checked: list[bool] = []


def check_lifespan(logger: Any, scope: Any) -> None:
    """Warn, once per process, when uvicorn serves Django's ASGI application without
    :func:`with_lifespan`. Called at the first request of Django's middleware chain
    under ASGI (async, or sync when a sync-only middleware is in ``MIDDLEWARE``), with
    its ``scope``: uvicorn runs the lifespan before it serves any, so by
    then ``_started`` says whether it reached one. A scope without the lifespan's
    ``state`` is no server's (Django's ``AsyncClient``, in a test process that imported
    uvicorn), nor is Starlette's ``TestClient``'s (``_TEST_CLIENT``). Other servers
    are left alone, uvicorn imported or not (``_UVICORN_SERVES``): daphne and hypercorn
    end through Python's exit, which sends the logs."""
    if checked:
        return
    checked.append(True)
    if (not _started and "state" in (scope or ())
            and _TEST_CLIENT not in (scope.get("extensions") or ())
            and _uvicorn_serves()):
        logger.warning(WITHOUT_LIFESPAN)


def _uvicorn_serves() -> bool:
    return any(name in sys.modules for name in _UVICORN_SERVES)


class _WithLifespan:
    """``app`` for every scope but ``lifespan``, which it answers itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        if scope.get("type") != "lifespan":
            return await self.app(scope, receive, send)
        while True:
            message = await receive()
            if message.get("type") == "lifespan.startup":
                _started.append(True)
                await send({"type": "lifespan.startup.complete"})
            elif message.get("type") == "lifespan.shutdown":
                # Nothing is served any more (ASGI sends it once every connection is
                # closed); the flush posts, so under asyncio it runs off the event loop
                # (under trio in the loop's thread, as the ASGI middleware's does).
                from readme_metrics.capture import unclosed
                from readme_metrics.django import flush_all

                loop = running_asyncio_loop()
                try:
                    # A response still being sent reaches no client now (uvicorn
                    # cancelled it at its graceful timeout, and Django's handler left its
                    # task running): logged as far as it went, as the exit would.
                    # (the requests in Django's call only under uvicorn, which ends
                    # without the exit hooks: delivery54)
                    unclosed.cut_at_shutdown(calls=_uvicorn_serves())
                    if loop is None:
                        flush_all()
                    else:
                        await loop.run_in_executor(None, flush_all)
                except Exception:  # noqa: BLE001 - the stop goes on: what was not sent
                    pass  # is counted and said by the delivery itself
                await send({"type": "lifespan.shutdown.complete"})
                return


def with_lifespan(application: ASGIApp) -> ASGIApp:
    """Django's ASGI ``application`` (``get_asgi_application()``), answering the
    lifespan protocol: at the server's shutdown the logs still queued are sent."""
    return _WithLifespan(application)
