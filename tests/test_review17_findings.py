"""review17's findings (an adversarial read of what landed between 50a6a35 and 55f6597:
the ASGI companions and CORS, the caller's key masking, the unclosed-response thread,
nesting): each test failed on main at 55f6597 and passes with its fix. Real middleware,
real apps, the real collector on 127.0.0.1 (tests/support/fake_api.py).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig
from tests.support.contract import inline_options
from tests.support.fake_api import Collector, describe

# -- nesting: a middleware between two layers of one project copies the scope ----------


def _asgi_config(collector: Collector, api_key: str) -> MetricsApiConfig:
    return MetricsApiConfig(metrics_api=collector.url, api_key=api_key,
                            **inline_options({"background_worker_mode": True}))


def test_a_lazily_made_layer_behind_a_scope_copy_gives_one_log_on_the_first_request(
        collector: Collector) -> None:
    """Starlette makes add_middleware's layers at its first request, inside the call of
    an outer layer of the same project, which could not know to mark the scope: the inner
    layer passed through only the very scope the outer one records. Its companion
    readme_metrics.asgi.RequestIdMiddleware, added after it (outside it, as its docstring
    says), hands on a copy of the scope: the first request was logged twice (3 logs for
    2 requests)."""
    fastapi = pytest.importorskip("fastapi")
    httpx = pytest.importorskip("httpx")
    from readme_metrics.asgi import MetricsMiddleware, RequestIdMiddleware
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    key = "rdme_review17_lazy_copy_7777"
    app = fastapi.FastAPI()
    app.add_api_route("/hello", lambda: {"hello": 1})
    app.add_middleware(ReadMeMetricsMiddleware, config=_asgi_config(collector, key))
    app.add_middleware(RequestIdMiddleware)
    outer = MetricsMiddleware(app, _asgi_config(collector, key))

    async def two_requests() -> list[Any]:
        transport = httpx.ASGITransport(app=outer)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as c:
            return [await c.get("/hello") for _ in range(2)]

    try:
        for response in asyncio.run(two_requests()):
            assert response.json() == {"hello": 1}
            assert len(response.headers.get_list("x-request-id")) == 1
        outer.flush(5.0)
        layer = app.middleware_stack
        while layer is not None:
            getattr(layer, "flush", lambda timeout: None)(5.0)
            layer = getattr(layer, "app", None)
        collector.wait_for_logs(2)
        time.sleep(0.5)  # a third log would be on its way
        assert len(collector.logs) == 2, describe(collector.logs)
        assert outer.stats["captured"] == 2
    finally:
        outer.close()
        layer = app.middleware_stack
        while layer is not None:
            getattr(layer, "close", lambda: None)()
            layer = getattr(layer, "app", None)
