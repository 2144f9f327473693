"""Helpers for the nesting tests that stack ASGI layers of one project: the config each
layer gets, one GET through httpx's ASGITransport, and the lazily built layers of a
Starlette/FastAPI app flushed or closed from the outermost.

.. code-block:: python

    app.add_middleware(ReadMeMetricsMiddleware, config=layer_config(collector, key))
    outer = MetricsMiddleware(app, layer_config(collector, key))
    try:
        assert httpx_get(outer, "/hello").status_code == 200
    finally:
        outer.close()
        close_stack(app)
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any, Callable

import pytest

from readme_metrics import MetricsApiConfig
from tests.support.contract import inline_options
from tests.support.fake_api import Collector


def layer_config(collector: Collector, api_key: str, **options: Any) -> MetricsApiConfig:
    """A layer's config: background mode unless ``options`` say otherwise, sending to
    ``collector`` (see :func:`tests.support.contract.inline_options`)."""
    options.setdefault("background_worker_mode", True)
    return MetricsApiConfig(metrics_api=collector.url, api_key=api_key,
                            **inline_options(options))


def httpx_gets(app: Any, paths: list[str]) -> list[Any]:
    """``GET`` each of ``paths`` on ``app`` in turn, one httpx client over its
    ASGITransport on one event loop (skipped without httpx); the responses."""
    httpx = pytest.importorskip("httpx")

    async def calls() -> list[Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as c:
            return [await c.get(path) for path in paths]

    return asyncio.run(calls())


def httpx_get(app: Any, path: str) -> Any:
    """:func:`httpx_gets` for one path: its response."""
    return httpx_gets(app, [path])[0]


def _layers(app: Any) -> Any:
    layer = app.middleware_stack
    while layer is not None:
        yield layer
        layer = getattr(layer, "app", None)


def flush_stack(app: Any, timeout: float) -> None:
    """Flush each layer of the stack Starlette built for ``app`` that can be flushed."""
    for layer in _layers(app):
        getattr(layer, "flush", lambda timeout: None)(timeout)


def close_stack(app: Any) -> None:
    """Close each layer of the stack Starlette built for ``app`` that can be closed."""
    for layer in _layers(app):
        getattr(layer, "close", lambda: None)()


def asgiref_bridge(app: Any) -> Any:
    """``app`` (WSGI) served as ASGI through asgiref's ``WsgiToAsgi`` (Django's way)."""
    from asgiref.wsgi import WsgiToAsgi
    return WsgiToAsgi(app)


def starlette_bridge(app: Any) -> Any:
    """``app`` (WSGI) served as ASGI through Starlette's ``WSGIMiddleware``."""
    with warnings.catch_warnings():  # deprecated for a2wsgi, still shipped and used
        warnings.simplefilter("ignore")
        from starlette.middleware.wsgi import WSGIMiddleware
        return WSGIMiddleware(app)


#: The two ASGI-to-WSGI bridges, as parameters of a test taking ``bridge``.
BRIDGES = [
    pytest.param(asgiref_bridge, id="asgiref-WsgiToAsgi"),
    pytest.param(starlette_bridge, id="starlette-WSGIMiddleware"),
]


def logged_once_through_a_bridge(
        collector: Collector, key: str, between: Callable[[Any], Any], paths: list[str], *,
        around: Callable[[Any], Any] = lambda app: app,
        body: Callable[[dict[str, Any]], str] = lambda environ: environ["PATH_INFO"],
) -> list[bytes]:
    """The ASGI layer of project ``key`` over ``between(inner)`` (a bridge, and what a
    test puts around it), ``inner`` the WSGI layer of the same project over an app
    answering ``body(environ)``; the stack served ``around`` (a server's scope) for each
    of ``paths``. Asserts each request logged once, by the ASGI layer (the WSGI layer took
    the bridged environ for the recorded exchange); the answers' bodies."""
    from readme_metrics import MetricsMiddleware
    from readme_metrics.asgi import MetricsMiddleware as AsgiLayer

    def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body(environ).encode()]

    inner = MetricsMiddleware(wsgi_app, layer_config(collector, key))
    outer = AsgiLayer(between(inner), layer_config(collector, key))
    try:
        responses = httpx_gets(around(outer), paths)
        outer.flush(5.0)
        inner.flush(5.0)
        collector.wait_for_only(len(paths), 0.5)  # more logs would be on their way
        assert outer.stats["captured"] == len(paths) and inner.stats["captured"] == 0
    finally:
        outer.close()
        inner.close()
    return [response.content for response in responses]
