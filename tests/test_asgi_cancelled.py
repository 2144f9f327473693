"""A cancelled ASGI exchange still shows up as one log (SPEC sections 5 and 7).

An anyio cancel scope around this middleware on asyncio (a timeout middleware using
``anyio.fail_after`` or ``move_on_after``, a task group) cancels every await of the
cancelled task, not only the first: the middleware's own awaits after the app's
cancellation (draining an unread body, an ``async`` grouping function, an inline send)
were cancelled too, and the log was lost without a trace (``captured`` stayed 0). trio
does the same to every checkpoint (hypercorn --worker-class trio): an ``async`` grouping
function called after a cancellation lost the log there. The cancellation still reaches
the server unchanged.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable

import anyio
import pytest

from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import MetricsMiddleware
from readme_metrics.cli.collector.validation import validate_log
from tests.support.asgi import http_scope
from tests.support.fake_api import Collector


async def _streams_then_waits(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"first", "more_body": True})
    await anyio.sleep(30)


async def _waits_before_answering(scope: Any, receive: Any, send: Any) -> None:
    await anyio.sleep(30)


async def _async_grouping(request: Any) -> dict[str, str]:
    await anyio.sleep(0)
    return {"api_key": "cancelled-caller"}


def _grouping(request: Any) -> dict[str, str]:
    return {"api_key": "cancelled-caller"}


def _the_log(middleware: MetricsMiddleware, collector: Collector,
             serve: Callable[[], Any]) -> dict[str, Any]:
    """Run ``serve`` (its cancellation must go through) and give the one log's entry, a
    valid log with the 3 bytes of the body that arrived."""
    try:
        assert anyio.run(serve, backend="asyncio")  # the cancellation went through
        assert middleware.flush(10)
        logs = collector.wait_for_logs(1)
    finally:
        middleware.close()
    assert len(logs) == 1 and validate_log(logs[0]) == []
    entry: dict[str, Any] = logs[0]["request"]["log"]["entries"][0]
    assert entry["request"]["postData"]["text"] == "abc"
    return entry


@pytest.mark.parametrize(("app", "grouping"), [
    pytest.param(_streams_then_waits, _grouping, id="mid-stream"),
    pytest.param(_waits_before_answering, _grouping, id="before-the-answer"),
    pytest.param(_waits_before_answering, _async_grouping, id="async-grouping"),
])
@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_a_cancelled_exchange_is_logged(collector: Collector, app: Callable[..., Any],
                                        grouping: Callable[..., Any],
                                        background: bool) -> None:
    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key="rdme_cancel_key", metrics_api=collector.url, grouping_function=grouping,
        background_worker_mode=background, buffer_length=1))
    # Three bytes of a declared ten: the body is unread and incomplete when cancelled.
    messages = [{"type": "http.request", "body": b"abc", "more_body": True}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await anyio.sleep(60)
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        pass

    async def serve() -> bool:
        with anyio.move_on_after(0.2) as scope:
            await middleware(http_scope("POST", headers=[(b"content-length", b"10")]),
                             receive, send)
        # A server's loop runs on: give the finish the loop until the log is queued.
        with anyio.move_on_after(10):
            while middleware.stats["captured"] < 1:
                await anyio.sleep(0.01)
        return scope.cancelled_caught

    entry = _the_log(middleware, collector, serve)
    assert entry["response"]["status"] == (200 if app is _streams_then_waits else 500)


async def _answers_without_reading(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_an_exchange_cancelled_while_its_log_is_made_is_logged(
        collector: Collector, background: bool) -> None:
    """The log is made when the response's last message has gone out, reading what
    arrived of an unread body first: a cancellation then (the timeout of a cancel scope
    around the app) went through that one finish, and the log was lost (captured 0)."""
    middleware = MetricsMiddleware(_answers_without_reading, MetricsApiConfig(
        api_key="rdme_cancel_key", metrics_api=collector.url, grouping_function=_grouping,
        background_worker_mode=background, buffer_length=1))
    messages = [{"type": "http.request", "body": b"abc", "more_body": True}]
    answered: list[bool] = []
    scopes: list[anyio.CancelScope] = []  # made on the loop

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        if answered:  # the log's read of the rest: the timeout fires now
            scopes[0].cancel()
        await anyio.sleep(60)
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body"):
            answered.append(True)

    async def serve() -> bool:
        with anyio.CancelScope() as scope:
            scopes.append(scope)
            await middleware(http_scope("POST", headers=[(b"content-length", b"10")]),
                             receive, send)
        return scope.cancelled_caught

    assert _the_log(middleware, collector, serve)["response"]["status"] == 200


def test_the_cancellation_reaches_the_caller_unchanged(collector: Collector) -> None:
    middleware = MetricsMiddleware(_waits_before_answering, MetricsApiConfig(
        api_key="rdme_cancel_key", metrics_api=collector.url, grouping_function=_grouping,
        background_worker_mode=False, buffer_length=1))

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        pass

    async def serve() -> None:
        task = asyncio.ensure_future(middleware(http_scope(), receive, send))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        asyncio.run(serve())
        assert len(collector.wait_for_logs(1)) == 1
    finally:
        middleware.close()


@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_a_cancelled_exchange_is_logged_under_trio(collector: Collector,
                                                   background: bool) -> None:
    """No response started: the ``async`` grouping function is awaited after the cancel."""
    trio = pytest.importorskip("trio")
    middleware = MetricsMiddleware(_waits_before_answering, MetricsApiConfig(
        api_key="rdme_cancel_key", metrics_api=collector.url,
        grouping_function=_async_grouping, background_worker_mode=background,
        buffer_length=1))

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        pass

    async def serve() -> bool:
        with trio.move_on_after(0.2) as scope:
            await middleware(http_scope(), receive, send)
        with trio.move_on_after(10):
            while middleware.stats["captured"] < 1:
                await trio.sleep(0.01)
        return bool(scope.cancelled_caught)

    try:
        assert trio.run(serve)
        assert middleware.flush(10)
        logs = collector.wait_for_logs(1)
    finally:
        middleware.close()
    assert len(logs) == 1 and validate_log(logs[0]) == []
    assert logs[0]["request"]["log"]["entries"][0]["response"]["status"] == 500
