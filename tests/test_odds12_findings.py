"""odds12's items (older leftovers of NOTE20/NOTE21, mostly ASGI): each test failed on
main at c359a53 and passes with its fix, under real parts (real middlewares and bridges,
the collector on 127.0.0.1)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from readme_metrics import MetricsMiddleware
from tests.support.asgi_stack import BRIDGES, httpx_get, httpx_gets, layer_config
from tests.support.fake_api import Collector
from tests.support.wsgi import run_wsgi, wsgi_environ

# -- 1. a layer between the ASGI layer and a bridge rewrites the scope's path -------------


def _path_rewriting(app: Any) -> Any:
    """A middleware of another project that strips a version prefix on a copy of the
    scope (as API gateways and mount helpers do) before the app it wraps."""
    async def rewrite(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            scope = {**scope, "path": scope["path"][3:], "raw_path": scope["raw_path"][3:]}
        await app(scope, receive, send)
    return rewrite


@pytest.mark.parametrize("bridge", BRIDGES)
def test_a_path_rewritten_between_the_asgi_layer_and_a_bridge_gives_one_log(
        collector: Collector, bridge: Any) -> None:
    """The ASGI layer of a project, a middleware rewriting the path on a scope copy, an
    ASGI-to-WSGI bridge, the WSGI app wrapped for the same project: the bridged environ
    did not have the recorded scope's path, so the WSGI layer took it for another
    exchange and both logged each request (4 logs for 2)."""
    pytest.importorskip("httpx")
    from readme_metrics.asgi import MetricsMiddleware as AsgiLayer

    key = "rdme_odds12_rewritten_1111"

    def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["PATH_INFO"].encode()]

    inner = MetricsMiddleware(wsgi_app, layer_config(collector, key))
    outer = AsgiLayer(_path_rewriting(bridge(inner)), layer_config(collector, key))

    try:
        responses = httpx_gets(outer, ["/v1/items/0", "/v1/items/1"])
        assert [r.content for r in responses] == [b"/items/0", b"/items/1"]
        outer.flush(5.0)
        inner.flush(5.0)
        collector.wait_for_only(2, 0.5)  # more logs would be on their way
        assert outer.stats["captured"] == 2 and inner.stats["captured"] == 0
    finally:
        outer.close()
        inner.close()


def test_a_wsgi_app_called_in_process_from_the_same_address_is_still_logged(
        collector: Collector) -> None:
    """The other side of that rule (review17's in-process case, with the client's
    address): an endpoint calling a WSGI app of the project in process for another path,
    with an environ of its own (its own headers), makes an exchange of its own."""
    pytest.importorskip("httpx")
    from readme_metrics.asgi import MetricsMiddleware as AsgiLayer

    key = "rdme_odds12_in_process_2222"

    def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"inner"]

    inner = MetricsMiddleware(wsgi_app, layer_config(collector, key))

    async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
        environ = wsgi_environ("GET", "/inner", {"Host": "api.test"})
        environ["REMOTE_ADDR"] = scope["client"][0]
        result = await asyncio.to_thread(run_wsgi, inner, environ)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": result.body})

    outer = AsgiLayer(asgi_app, layer_config(collector, key))

    try:
        assert httpx_get(outer, "/outer").content == b"inner"
        outer.flush(5.0)
        inner.flush(5.0)
        collector.wait_for_only(2, 0.5)
        assert outer.stats["captured"] == 1 and inner.stats["captured"] == 1
    finally:
        outer.close()
        inner.close()
