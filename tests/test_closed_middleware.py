"""A middleware after close(): its logs are dropped, so no x-documentation-url is sent.

SPEC 5: requests that are not logged get no x-documentation-url header. After close()
(or the exit hook) a log is dropped (counted in ``dropped_shutdown``), so a header sent
then would point at a log that never exists.
"""

from __future__ import annotations

import asyncio
from typing import Any

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware
from tests.support.asgi import http_scope, run
from tests.support.fake_api import Collector
from tests.support.wsgi import run_wsgi, wsgi_environ


def _config(collector: Collector) -> MetricsApiConfig:
    return MetricsApiConfig(
        api_key="rdme_closed_test_key", metrics_api=collector.url,
        base_log_url="https://docs.example.test", buffer_length=1,
        grouping_function=lambda request: {"api_key": "owlbert-api-key"})


def _plain(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


async def _plain_asgi(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def test_a_closed_wsgi_middleware_sends_no_documentation_url(collector: Collector) -> None:
    middleware = MetricsMiddleware(_plain, _config(collector))
    try:
        before = run_wsgi(middleware, wsgi_environ())
        assert before.header("x-documentation-url")  # the base is known: header sent
        assert middleware.flush(10.0) is True
        middleware.close()
        after = run_wsgi(middleware, wsgi_environ())
        assert (after.status, after.body) == ("200 OK", b"ok")
        assert after.header("x-documentation-url") == []
        assert middleware.stats["dropped_shutdown"] == 1
        assert len(collector.logs) == 1
    finally:
        middleware.close()


def test_a_closed_asgi_middleware_sends_no_documentation_url(collector: Collector) -> None:
    middleware = AsgiMetricsMiddleware(_plain_asgi, _config(collector))
    try:
        before = asyncio.run(run(middleware, http_scope()))
        assert b"x-documentation-url" in before.headers
        assert middleware.flush(10.0) is True
        middleware.close()
        after = asyncio.run(run(middleware, http_scope()))
        assert (after.start["status"], after.body) == (200, b"ok")
        assert b"x-documentation-url" not in after.headers
        assert middleware.stats["dropped_shutdown"] == 1
        assert len(collector.logs) == 1
    finally:
        middleware.close()
