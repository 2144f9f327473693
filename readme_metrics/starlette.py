"""Starlette and FastAPI: ``app.add_middleware(ReadMeMetricsMiddleware, config=config)``.

The same pure ASGI middleware as :mod:`readme_metrics.asgi` (never Starlette's
``BaseHTTPMiddleware``); the grouping function receives Starlette's ``Request``. This is
the only module that imports Starlette (the ``fastapi`` extra; FastAPI itself is not
needed). :mod:`readme_metrics.fastapi`, the official package's import path, gives this
very class.

.. code-block:: python

    from fastapi import FastAPI, Request
    from readme_metrics import MetricsApiConfig
    from readme_metrics.fastapi import ReadMeMetricsMiddleware  # or readme_metrics.starlette

    async def grouping(request: Request):
        key = request.headers.get("x-api-key")
        return {"api_key": key} if key else None  # None: the call is not logged

    app = FastAPI()
    app.add_middleware(ReadMeMetricsMiddleware, config=MetricsApiConfig(
        grouping_function=grouping))  # your ReadMe API key from README_API_KEY
"""

from __future__ import annotations

import logging
from typing import Any, Optional

try:
    from starlette.requests import Request
except ImportError as exc:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        # Starlette itself, not the extra by name: until this package is on PyPI, "pip
        # install readme-metrics[fastapi]" would fetch the official 3.x package instead.
        'readme_metrics.starlette and readme_metrics.fastapi need Starlette 0.20 or '
        'later (the "fastapi" extra; FastAPI brings it): pip install "starlette>=0.20"'
    ) from exc

from readme_metrics._logging import LogLimiter, QuietLogger
from readme_metrics.asgi_types import ASGIApp, Message, Scope
from readme_metrics.capture.asgi import MetricsMiddleware
from readme_metrics.config import MetricsApiConfig

__all__ = ["ReadMeMetricsMiddleware"]

# A configuration from the environment that fails: said once per message, as Starlette
# tries again to build its middleware at every request.
_REFUSED_SAID = LogLimiter(QuietLogger(logging.getLogger("readme_metrics")), interval=None)


def _from_the_environment() -> MetricsApiConfig:
    """``MetricsApiConfig()``, its error also logged: Starlette makes the middleware when
    the app is first called, at the lifespan's start under uvicorn, which then says only
    "ASGI 'lifespan' protocol appears unsupported" and drops the error (then every request
    fails with it, a 500)."""
    try:
        return MetricsApiConfig()
    except ValueError as exc:
        _REFUSED_SAID.log(
            logging.ERROR, str(exc),
            "%s; ReadMeMetricsMiddleware, added without config=, reads its options from the "
            "environment when Starlette first builds its middleware, so every request "
            "fails with this error (a 500): correct the value, or give it "
            "config=MetricsApiConfig(), which fails at start-up instead: "
            "app.add_middleware(ReadMeMetricsMiddleware, config=...) or "
            "Middleware(ReadMeMetricsMiddleware, config=...) in middleware=[...]",
            exc)
        raise


class _Replay:
    """A ``receive`` that gives ``body`` whole, then empty end-of-body messages."""

    __slots__ = ("body",)

    def __init__(self, body: bytes) -> None:
        self.body = body

    async def __call__(self) -> Message:
        body, self.body = self.body, b""
        return {"type": "http.request", "body": body, "more_body": False}


class ReadMeMetricsMiddleware(MetricsMiddleware):
    """The ASGI metrics middleware for FastAPI/Starlette apps.

    The grouping function (plain or ``async``) receives a ``starlette.requests.Request``
    on the request's own scope, so ``request.state`` set by the app's dependencies is
    there: it runs once, when the app starts its response. ``await request.body()``
    (``json()``, ``form()``) gives the body as far as it has arrived, from the copy the
    middleware kept (the app's own reads are not disturbed).
    """

    def __init__(self, app: ASGIApp, config: Optional[MetricsApiConfig] = None) -> None:
        # Without ``config=``, every option comes from the environment (README_API_KEY,
        # README_GROUPING_FUNCTION as a "module.attribute" path, ...), as Django's adapter
        # does. Starlette builds its middleware at the first request: a missing option is
        # the ValueError naming it, there, rather than a TypeError about an argument.
        super().__init__(app, config if config is not None else _from_the_environment())

    def grouping_request(self, scope: Scope, body: bytes) -> Any:
        """Starlette's ``Request`` over the app's scope, reading the recorded body."""
        return Request(scope, _Replay(body))
