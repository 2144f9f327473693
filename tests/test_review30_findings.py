"""review30's findings on odds12's landing (9926957..cffa64b): each test failed on main
at 3287fed and passes with its fix, under real parts (the collector on 127.0.0.1)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.asgi_stack import httpx_get, layer_config
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
    """_Exchange looked the bound method's class up in SERVER_CLASSES outside own_send's
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

