"""review30's findings on odds12's landing (9926957..cffa64b): each test failed on main
at 3287fed and passes with its fix, under real parts (the collector on 127.0.0.1)."""

from __future__ import annotations

from typing import Any

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.asgi_stack import BRIDGES, httpx_get, httpx_gets, layer_config
from tests.support.fake_api import Collector

# -- 1. a send bound to an object whose class cannot be hashed --------------------------


class _EqualByIdentity(type):
    """A metaclass defining ``__eq__`` (as some registries and ORMs do): its classes get
    ``__hash__ = None``, so a class of it cannot be a set's member, or looked up in one."""

    def __eq__(cls, other: object) -> bool:
        return cls is other


class _Responder(metaclass=_EqualByIdentity):
    """A middleware's per-request object handing on one of its methods as ``send``,
    keeping the ``send`` it was given (as Starlette's GZipResponder does)."""

    def __init__(self, send: Any) -> None:
        self.send = send

    async def send_on(self, message: Any) -> None:
        await self.send(message)


def test_a_send_bound_to_an_object_of_an_unhashable_class_is_still_logged(
        collector: Collector) -> None:
    """ASGIExchange looked the bound method's class up in SERVER_CLASSES outside own_send's
    guard (04b03ec): hash(class) raised TypeError, 'could not start capturing' was logged
    with a traceback for every request, and no request was logged (0 logs for 1)."""
    pytest.importorskip("httpx")
    from readme_metrics.asgi import MetricsMiddleware as AsgiLayer

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    layer = AsgiLayer(app, layer_config(collector, "rdme_review30_unhashable_1111"))

    async def outside(scope: Any, receive: Any, send: Any) -> None:
        await layer(scope, receive, _Responder(send).send_on)

    try:
        assert httpx_get(outside, "/items").content == b"ok"
        layer.flush(5.0)
        [log] = collector.wait_for_logs(1)
        assert log["request"]["log"]["entries"][0]["request"]["url"].endswith("/items")
    finally:
        layer.close()


# -- 2. two projects, each with an ASGI layer before a bridge and a WSGI layer after it --


@pytest.mark.parametrize("bridge", BRIDGES)
def test_two_projects_layered_on_both_sides_of_a_bridge_log_once_each(
        collector: Collector, bridge: Any) -> None:
    """ASGI layers of projects P and Q, an ASGI-to-WSGI bridge, WSGI layers of Q and P:
    the WSGI layer of Q found the recording and forgot it for every project of the
    context, so the WSGI layer of P inside took the exchange for another one, and P got
    each request twice (asgi P 2, wsgi P 2: 4 logs for 2 requests)."""
    pytest.importorskip("httpx")
    from readme_metrics.asgi import MetricsMiddleware as AsgiLayer

    def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    p_key, q_key = "rdme_review30_project_p_2222", "rdme_review30_project_q_3333"
    wsgi_p = MetricsMiddleware(wsgi_app, layer_config(collector, p_key))
    wsgi_q = MetricsMiddleware(wsgi_p, layer_config(collector, q_key))
    asgi_q = AsgiLayer(bridge(wsgi_q), layer_config(collector, q_key))
    asgi_p = AsgiLayer(asgi_q, layer_config(collector, p_key))
    layers = (asgi_p, asgi_q, wsgi_q, wsgi_p)
    try:
        responses = httpx_gets(asgi_p, ["/items/0", "/items/1"])
        assert [r.content for r in responses] == [b"ok", b"ok"]
        for each in layers:
            each.flush(5.0)
        collector.wait_for_only(4, 0.5)  # 2 per project; more would be on their way
        assert [each.stats["captured"] for each in layers] == [2, 2, 0, 0]
    finally:
        for each in layers:
            each.close()


# -- 3. an ASGI middleware's class, not an instance, given to the WSGI middleware ----------


def test_an_asgi_middleware_class_given_to_the_wsgi_middleware_is_still_refused() -> None:
    """5122446 took any class that can be called with two arguments for PEP 3333's
    application class: Starlette's CORSMiddleware and GZipMiddleware classes (their
    ``__init__(self, app, ...)`` takes two; their instances' ``__call__`` is async),
    given uninstantiated by mistake, were accepted as WSGI apps, where they had been
    refused at construction with 'app is an ASGI app'; every request then failed. A
    PEP 3333 class's instance is the response, an iterable: these are not."""
    pytest.importorskip("starlette")
    from starlette.middleware.cors import CORSMiddleware
    from starlette.middleware.gzip import GZipMiddleware

    config = MetricsApiConfig(api_key="any-key", grouping_function=lambda request: None)
    for asgi_class in (CORSMiddleware, GZipMiddleware):
        with pytest.raises(TypeError, match=r"app is an ASGI app \("):
            MetricsMiddleware(asgi_class, config)
