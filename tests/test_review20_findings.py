"""review20's items (an adversarial read of d4145a4..main): each test failed on main at
c414234 and passes with its fix, under real parts (the collector on 127.0.0.1, the public
middleware)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any, Callable

import pytest

from readme_metrics import MetricsMiddleware
from tests.support.asgi_stack import BRIDGES, layer_config
from tests.support.contract import json_app, run_python
from tests.support.fake_api import Collector, Reply
from tests.support.wsgi import run_wsgi, wsgi_environ
from tests.test_review19_findings import DJANGO_BRIDGED

# -- 1. flush(): a drop answered for once, also when it settled before an older log --------


def test_flush_answers_for_a_drop_once_when_an_older_log_was_still_on_its_way(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    """Two senders: log 1's POST is slow, log 2's is rejected (400) meanwhile. A flush
    that runs out of time says False (log 1 on its way, log 2 dropped); once log 1 is
    delivered, the next flush has nothing new to answer for. It said False again: the
    drops answered for were counted up to the oldest log unsettled (0), not up to the
    flush's own logs, so a drop of a newer log was reported by every flush until the
    older one settled, and by the first one after."""
    gate = threading.Event()
    collector.replies.extend([Reply(gate=gate), Reply(status=400)])
    middleware = inline_wrap(json_app, background_worker_mode=True, flush_interval=0,
                             timeout=30)
    try:
        run_wsgi(middleware, wsgi_environ(path="/slow"))
        deadline = time.monotonic() + 10
        while not collector.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        run_wsgi(middleware, wsgi_environ(path="/rejected"))
        # The flush starts a second sender for log 2 (the first is held in log 1's POST),
        # which the API rejects; log 1 is still on its way when the flush gives up.
        assert middleware.flush(1.0) is False
        assert middleware.stats["dropped_rejected"] == 1
    finally:
        gate.set()
    collector.wait_for_logs(1)
    assert middleware.flush(5.0) is True  # log 2's drop was answered for
    run_wsgi(middleware, wsgi_environ(path="/later"))
    assert middleware.flush(5.0) is True
    stats: dict[str, Any] = middleware.stats
    assert (stats["sent"], stats["dropped"], stats["queued"]) == (2, 1, 0)


# -- 2. the bridge check under a root_path the scope's path does not hold ------------------


@pytest.mark.parametrize("bridge", BRIDGES)
def test_a_bridged_wsgi_layer_under_a_root_path_outside_the_path_gives_one_log(
        collector: Collector, bridge: Any) -> None:
    """hypercorn's ``--root-path /api`` (as httpx's ASGITransport's root_path) gives a
    scope whose path does not start with root_path ("/x", root_path "/api"; uvicorn puts
    it in the path): the bridges then keep the whole path in PATH_INFO, with SCRIPT_NAME
    "/api". nesting.asgi_records compared SCRIPT_NAME + PATH_INFO ("/api/x") with the
    path and took the WSGI request for another exchange: the ASGI layer and the WSGI layer
    of one project (and Django's middleware, which asks the same since 618575f) both
    logged every request (4 logs for 2)."""
    httpx = pytest.importorskip("httpx")
    from readme_metrics.asgi import MetricsMiddleware as AsgiLayer

    key = "rdme_review20_root_path_7777"

    def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["SCRIPT_NAME"].encode() + b"|" + environ["PATH_INFO"].encode()]

    inner = MetricsMiddleware(wsgi_app, layer_config(collector, key))
    outer = AsgiLayer(bridge(inner), layer_config(collector, key))

    async def calls() -> list[Any]:
        transport = httpx.ASGITransport(app=outer, root_path="/api")
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as c:
            return [await c.get(path) for path in ("/x/0", "/x/1")]

    try:
        responses = asyncio.run(calls())
        assert [r.content for r in responses] == [b"/api|/x/0", b"/api|/x/1"]
        outer.flush(5.0)
        inner.flush(5.0)
        collector.wait_for_only(2, 0.5)  # more logs would be on their way
        assert outer.stats["captured"] == 2 and inner.stats["captured"] == 0
    finally:
        outer.close()
        inner.close()


def test_django_middleware_behind_a_bridge_under_a_root_path_gives_one_log(
        collector: Collector) -> None:
    """The same under Django's middleware (618575f made it ask nesting.asgi_records),
    the Django app mounted at /dj of a Starlette app (SCRIPT_NAME "/api/dj", PATH_INFO
    the whole path): 4 logs for 2 before."""
    pytest.importorskip("django")
    pytest.importorskip("httpx")
    script = DJANGO_BRIDGED.replace("httpx.ASGITransport(app=outer)",
                                    'httpx.ASGITransport(app=outer, root_path="/api")')
    assert script != DJANGO_BRIDGED
    done = run_python(script, collector.url, "asgiref", "/dj/hello", "/dj/hello")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["captured"] == 2
    collector.wait_for_only(2, 0.5)  # more logs would be on their way
