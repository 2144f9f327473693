"""A server's stop as the ASGI middleware sees it, in-process: calls, then the lifespan's
startup and shutdown (whose flush is bounded by ``shutdown_timeout``), then the exit's
close (tests/test_delivery34_findings.py, tests/test_review114_findings.py)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Callable

from readme_metrics.asgi import MetricsMiddleware
from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery import Delivery
from tests.support.delivery import API_KEY
from tests.support.fake_api import Collector, Reply


async def hello(scope: Any, receive: Any, send: Any) -> None:
    """An ASGI app: ``hello`` to every call; it speaks no lifespan (the middleware
    answers that protocol for it)."""
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


async def call_and_stop(middleware: MetricsMiddleware, calls: int) -> None:
    """``calls`` GETs, then the lifespan as a server runs it: startup, shutdown."""
    for n in range(calls):
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": "GET", "scheme": "http", "path": f"/hello/{n}",
                 "raw_path": f"/hello/{n}".encode(), "query_string": b"",
                 "headers": [(b"host", b"api.example.com")],
                 "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000)}

        async def request() -> Any:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def answer(message: Any) -> None:
            pass

        await middleware(scope, request, answer)
    server = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> Any:
        return next(server)

    async def send(message: Any) -> None:
        pass

    await middleware({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)


def stopped_with_the_api_silent(collector: Collector, never: threading.Event,
                                exiting: Callable[[Delivery], object] = lambda d: None
                                ) -> tuple[Delivery, float]:
    """``hello`` behind the middleware (background mode, nothing sent before the stop)
    given 3 calls and stopped (:func:`call_and_stop`), ``collector`` reading every POST
    and answering none until ``never`` is set (here, once the close is over): the
    lifespan's flush gives up after shutdown_timeout (0.5 s) with the 3 logs queued,
    then the exit's ``close()`` runs, once ``exiting`` (the server's exit between the
    two: given the Delivery) has returned. The middleware's Delivery, and when its close
    began (``time.monotonic()``)."""
    collector.default = Reply(gate=never)
    config = MetricsApiConfig(api_key=API_KEY, grouping_function=lambda req: {
        "api_key": "caller", "label": "caller"}, metrics_api=collector.url,
        shutdown_timeout=0.5, buffer_length=100, flush_interval=600,
        background_worker_mode=True)
    middleware = MetricsMiddleware(hello, config)
    try:
        asyncio.run(call_and_stop(middleware, 3))
        assert middleware.pipeline is not None
        exiting(middleware.pipeline.delivery)
        closing = time.monotonic()
        middleware.close()
    finally:
        never.set()
    assert middleware.pipeline is not None
    return middleware.pipeline.delivery, closing
