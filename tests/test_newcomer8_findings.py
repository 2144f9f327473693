"""A newcomer's first hour, eighth pass: "my calls don't show up", debugged with README's
Troubleshooting section alone, which sends them to the library's debug log.

Under Django and FastAPI there is no ``stats`` to see a call counted as skipped, and a
call the grouping function leaves out (README's quick starts return None without the
``X-Api-Key`` header, and a newcomer's first ``curl`` has none) was said nowhere, even
with DEBUG on: the log showed "logs are posted to ..." and then nothing. Real apps, the
real middleware and a real collector on 127.0.0.1; none of these passed before the fix.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Optional

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.grouping import LEFT_OUT
from tests.support.contract import API_KEY, json_app
from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.support.wsgi import run_wsgi, wsgi_environ

CALLER_KEY = "owlbert-caller-key-1234"


def quick_start_grouping(request: Any) -> Optional[dict[str, str]]:
    """README's quick-start grouping function: no ``X-Api-Key`` header, no log."""
    api_key = request.headers.get("X-Api-Key")
    if not api_key:
        return None
    return {"api_key": api_key, "label": "Customer name", "email": "customer@example.com"}


def left_out_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if LEFT_OUT in r.getMessage()]


def test_fastapi_says_once_at_debug_that_a_call_the_grouping_function_left_out_is_not_logged(
        collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    httpx = pytest.importorskip("httpx")
    fastapi = pytest.importorskip("fastapi")
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    app = fastapi.FastAPI()

    @app.get("/")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    app.add_middleware(ReadMeMetricsMiddleware, config=MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url, grouping_function=quick_start_grouping,
        buffer_length=1, base_log_url="https://docs.example.com"))

    async def calls() -> list[Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as c:
            # the newcomer's first curl, without the header, three times; then with it
            return [await c.get("/") for _ in range(3)] + [
                await c.get("/", headers={"X-Api-Key": CALLER_KEY})]

    assert [r.status_code for r in asyncio.run(calls())] == [200] * 4
    wait_until(lambda: len(collector.logs) == 1, timeout=10)
    [line] = left_out_lines(caplog)
    assert line.levelno == logging.DEBUG and line.name == "readme_metrics"
    assert line.getMessage() == f"readme_metrics: {LEFT_OUT}"
    assert "said once" in line.getMessage() and "returned None" in line.getMessage()
    assert not any(CALLER_KEY in r.getMessage() or API_KEY in r.getMessage()
                   for r in caplog.records)


def test_the_left_out_line_waits_for_debug_to_be_turned_on(
        collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    """A process that ran a while at INFO and then turned DEBUG on to find the missing
    calls still gets the line, once; the plain WSGI middleware counts them too."""
    middleware = MetricsMiddleware(json_app, MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url, grouping_function=quick_start_grouping,
        base_log_url="https://docs.example.com"))
    try:
        caplog.set_level(logging.INFO, logger="readme_metrics")
        for _ in range(2):
            run_wsgi(middleware, wsgi_environ())
        assert left_out_lines(caplog) == []
        caplog.set_level(logging.DEBUG, logger="readme_metrics")
        for _ in range(3):
            run_wsgi(middleware, wsgi_environ())
        [line] = left_out_lines(caplog)
        assert line.levelno == logging.DEBUG
        assert middleware.stats["skipped"] == 5 and middleware.stats["sent"] == 0
    finally:
        middleware.close()
