"""One project's middleware stacked twice: the outermost layer decides (SPEC 5, 6).

capture/nesting.py gives one log per exchange when one project's middleware is stacked
(Flask's extension and a hand wrap; Django's setting and a wrapped handler; FastAPI's
add_middleware run twice). The outer layer marks the request before its grouping
function has run (that runs when the response starts, after the app: it may read what
the app set, and the inner layer's decision to pass the request through was made long
before). So the outermost layer owns the exchange for its project, whatever it decides:
its grouping function returning None ("do not log", SPEC 6) is the project's answer, as
are its skip rules (skip_methods, allowed_http_hosts). The skip rules did not mark: an
OPTIONS the outer layer skipped was logged by an inner layer of the same project, while
a None from the outer grouping function hid the request from it; one rule now holds.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware
from tests.support.contract import API_KEY, hit, inline_options, json_app
from tests.support.fake_api import Collector, describe

OUTER_SAYS_NO = [
    pytest.param({"grouping_function": lambda request: None}, "GET", id="grouping-none"),
    pytest.param({"skip_methods": ["GET"]}, "GET", id="skip-methods"),
    pytest.param({"allowed_http_hosts": ["elsewhere.test"]}, "GET", id="allowed-hosts"),
    pytest.param({}, "OPTIONS", id="default-skip-options"),
]


def _config(collector: Collector, **options: Any) -> MetricsApiConfig:
    options.setdefault("api_key", API_KEY)
    return MetricsApiConfig(metrics_api=collector.url, **inline_options(options))


@pytest.mark.parametrize(("outer_options", "method"), OUTER_SAYS_NO)
def test_wsgi_the_outer_layer_decides_for_its_project(
        collector: Collector, outer_options: dict[str, Any], method: str) -> None:
    # The inner layer logs everything (OPTIONS too) for a caller it always finds.
    inner = MetricsMiddleware(json_app, _config(collector, skip_methods=[]))
    outer = MetricsMiddleware(inner, _config(collector, **outer_options))
    try:
        result = hit(outer, "/decided", method=method)
        assert result.status == "200 OK"
        assert result.header("x-documentation-url") == []
        outer.flush(5.0)
        inner.flush(5.0)
        time.sleep(0.3)  # a log would be on its way
        assert collector.logs == [], describe(collector.logs)
        assert outer.stats["skipped"] == 1 and inner.stats["captured"] == 0
    finally:
        inner.close()
        outer.close()


async def _asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.mark.parametrize(("outer_options", "method"), OUTER_SAYS_NO)
def test_asgi_the_outer_layer_decides_for_its_project(
        collector: Collector, outer_options: dict[str, Any], method: str) -> None:
    inner = AsgiMetricsMiddleware(_asgi_app, _config(collector, skip_methods=[]))
    outer = AsgiMetricsMiddleware(inner, _config(collector, **outer_options))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": "/decided",
             "raw_path": b"/decided", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"api.test")], "client": ("127.0.0.1", 5000),
             "server": ("api.test", 80)}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    try:
        asyncio.run(outer(scope, receive, send))
        assert sent[0]["status"] == 200
        assert all(name != b"x-documentation-url" for name, _ in sent[0]["headers"])
        outer.flush(5.0)
        inner.flush(5.0)
        time.sleep(0.3)
        assert collector.logs == [], describe(collector.logs)
        assert outer.stats["skipped"] == 1 and inner.stats["captured"] == 0
    finally:
        inner.close()
        outer.close()


def test_the_inner_layer_still_logs_what_the_outer_one_logs_for_another_project(
        collector: Collector) -> None:
    # Different projects are not nested layers of one: each decides for its own.
    inner = MetricsMiddleware(json_app, _config(collector, api_key="rdme_inner_project_1"))
    outer = MetricsMiddleware(inner, _config(collector, api_key="rdme_outer_project_2",
                                             grouping_function=lambda request: None))
    try:
        hit(outer, "/other-project")
        inner.flush(5.0)
        assert len(collector.wait_for_logs(1)) == 1
        assert inner.stats["captured"] == 1 and outer.stats["skipped"] == 1
    finally:
        inner.close()
        outer.close()
