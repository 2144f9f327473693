"""odds2's leftovers that lost or duplicated logs: each test failed on main at 55f6597
and passes with its fix, under real parts (the collector on 127.0.0.1, real Starlette
and FastAPI apps, real servers where the server is what matters)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig
from tests.support.contract import inline_options
from tests.support.fake_api import Collector, describe


def _asgi_config(collector: Collector, api_key: str, **options: Any) -> MetricsApiConfig:
    options.setdefault("background_worker_mode", True)
    return MetricsApiConfig(metrics_api=collector.url, api_key=api_key,
                            **inline_options(options))


def _asgi_get(app: Any, path: str) -> Any:
    httpx = pytest.importorskip("httpx")

    async def call() -> Any:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as c:
            return await c.get(path)

    return asyncio.run(call())


def _close_stack(app: Any) -> None:
    layer = app.middleware_stack
    while layer is not None:
        getattr(layer, "close", lambda: None)()
        layer = getattr(layer, "app", None)


# -- 1. a scope-copying middleware between a wrap and Starlette's lazy layer ------------

class _CopyScope:
    """A middleware that hands the app a copy of the scope (a path rewrite, an added
    header: a common way to change a request without touching the server's dict)."""

    def __init__(self, app: Any, headers: bool) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = dict(scope)
            if self.headers:
                scope["headers"] = [*scope["headers"], (b"x-copied", b"1")]
        await self.app(scope, receive, send)


@pytest.mark.parametrize("headers", [pytest.param(False, id="dict-copy"),
                                     pytest.param(True, id="copy-with-new-headers")])
def test_a_scope_copy_between_a_wrap_and_starlettes_lazy_layer_logs_the_first_call_once(
        collector: Collector, headers: bool) -> None:
    """The outer layer marks the scope only while its project has two middlewares: at
    the first request, Starlette had not made its add_middleware layer yet, so the scope
    went unmarked; the inner layer, made then, got a copy, not the scope the outer one
    records (nesting.recorded compares identity): the first call was logged twice."""
    fastapi = pytest.importorskip("fastapi")
    from readme_metrics.asgi import MetricsMiddleware
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    key = f"rdme_odds2_copied_scope_{int(headers)}_7777"
    app = fastapi.FastAPI()
    app.add_api_route("/hello", lambda: {"hello": 1})
    app.add_middleware(ReadMeMetricsMiddleware, config=_asgi_config(collector, key))
    outer = MetricsMiddleware(_CopyScope(app, headers), _asgi_config(collector, key))
    try:
        for _ in range(2):
            response = _asgi_get(outer, "/hello")
            assert response.json() == {"hello": 1}
            assert len(response.headers.get_list("x-documentation-url")) == 1
        outer.flush(5.0)
        collector.wait_for_logs(2)
        time.sleep(0.5)
        assert len(collector.logs) == 2, describe(collector.logs)
        assert outer.stats["captured"] == 2
    finally:
        outer.close()
        _close_stack(app)
