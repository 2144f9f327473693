"""review104: adversarial review of newcomer22's served-bare watches (served_bare.py).

1. A test client that runs the app in a task of its own said "served a request ... give
   the server the wrapped app" and used the watch up: Falcon's ``ASGIConductor`` (its
   documented async client, which starts a task per request), and httpx's ASGITransport
   before a Starlette ``BaseHTTPMiddleware`` (``call_next`` runs the rest of the app in
   a task group), under asyncio and trio. The stack walk that tells a test client ended
   at the task. A test client's request now says nothing there too, and the next request
   a server makes still warns.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import anyio
import pytest

from tests.support.fake_api import Collector
from tests.test_newcomer22_findings import _falcon, _said, _served_asgi, _starlette, _wrap


async def _conductor(app: Any) -> Any:
    import falcon.testing

    async with falcon.testing.ASGIConductor(app) as conductor:
        return (await conductor.simulate_get("/")).json


async def _httpx(app: Any) -> Any:
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        return (await client.get("/")).json()


def _falcon_asgi() -> Any:
    return _falcon(asgi=True)


def _starlette_with_base_middleware() -> Any:
    """A Starlette app with a ``BaseHTTPMiddleware`` (FastAPI's ``@app.middleware``)."""
    from starlette.middleware.base import BaseHTTPMiddleware

    async def passthrough(request: Any, call_next: Any) -> Any:
        return await call_next(request)

    app = _starlette()
    app.add_middleware(BaseHTTPMiddleware, dispatch=passthrough)
    return app


@pytest.mark.parametrize(("make", "client", "backend", "framework"), [
    pytest.param(_falcon_asgi, _conductor, "asyncio", "Falcon", id="falcon-conductor"),
    pytest.param(_starlette_with_base_middleware, _httpx, "asyncio", "Starlette",
                 id="starlette-base-middleware-httpx-asyncio"),
    pytest.param(_starlette_with_base_middleware, _httpx, "trio", "Starlette",
                 id="starlette-base-middleware-httpx-trio"),
])
def test_a_test_client_running_the_app_in_its_own_task_says_nothing(
        make: Callable[[], Any], client: Callable[[Any], Any], backend: str,
        framework: str, collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    """Two test-client requests to the bare app (its module wraps it for the server):
    nothing said; then a request as a server makes it warns, once. Fails on 77c3f15:
    the first test-client request warned (and a served one then said nothing)."""
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    app = make()
    middleware = _wrap("asgi", app, collector)
    try:
        for _ in range(2):
            assert anyio.run(client, app, backend=backend) == {"hello": "world"}
        assert _said(caplog, framework) == []
        for _ in range(2):
            assert _served_asgi(app) == {"hello": "world"}
        assert len(_said(caplog, framework)) == 1
    finally:
        middleware.close()
