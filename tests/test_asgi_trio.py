"""The ASGI middleware under trio's event loop, in process (``hypercorn -k trio`` runs it so).

No asyncio loop runs there: the library must neither raise into the app nor lose logs
for that (SPEC 5 and 7), and must not depend on trio. Apps are driven as a server drives
them, inside ``trio.run``; logs go over real HTTP to the collector. The server itself is
in tests/test_asgi_servers.py (``hypercorn-trio``).
"""

from __future__ import annotations

import asyncio
import gc
import math
import threading
from typing import Any, Awaitable, Callable

import pytest

from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import MetricsMiddleware
from tests.support.asgi import DOCS, GROUP, LifespanShutdown, body_messages, http_scope
from tests.support.fake_api import INLINE_TIMEOUT, Collector
from tests.support.har_check import assert_valid_log

trio = pytest.importorskip("trio")

API_KEY = "rdme_abcdefghijklmnopqrstuvwxyz"
SAFETY = 20.0  # seconds: only reached when the middleware waits on the client


def middleware(app: Any, collector: Collector, **options: Any) -> MetricsMiddleware:
    config = MetricsApiConfig(api_key=API_KEY, metrics_api=collector.url,
                              grouping_function=lambda req: dict(GROUP),
                              base_log_url=DOCS, **options)
    return MetricsMiddleware(app, config)


async def noread(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 202,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"accepted"})


async def serve(app: Any, scope: dict[str, Any], messages: list[dict[str, Any]]
                ) -> list[dict[str, Any]]:
    """Call ``app`` as a trio server would: the messages, then a connection that waits."""
    queue = list(messages)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if queue:
            return queue.pop(0)
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def asyncio_tasks() -> int:
    gc.collect()
    # type(), not isinstance(): isinstance asks an object's __class__, and a lazy object
    # among them (Django's staticfiles storage, once another module set Django up)
    # builds itself then, and raises.
    return sum(issubclass(type(o), asyncio.Task) for o in gc.get_objects())


def test_unread_body_is_recorded_and_leaves_no_asyncio_task(collector: Collector) -> None:
    """A body the app never receives is read under trio too (in the exchange's own task,
    within the grace), and no asyncio task is parked on a loop that never runs."""
    app = middleware(noread, collector, background_worker_mode=True, buffer_length=3)
    body = b'{"unread": true}'
    scope = http_scope("POST", "/noread", headers=[
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())])
    before = asyncio_tasks()
    try:
        for _ in range(3):
            sent = trio.run(serve, app, scope, body_messages(body))
            assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
            assert sent[1]["body"] == b"accepted"
        logs = collector.wait_for_logs(3)
    finally:
        app.close()
    assert asyncio_tasks() == before
    assert len(logs) == 3
    for log in logs:
        assert_valid_log(log)
        request = log["request"]["log"]["entries"][0]["request"]
        assert request["bodySize"] == len(body)
        assert request["postData"] == {"mimeType": "application/json",
                                       "text": body.decode()}


async def serve_channel(app: Any, scope: dict[str, Any],
                        feed: Callable[[Any], Awaitable[None]]) -> list[dict[str, Any]]:
    """Call ``app`` as hypercorn's trio worker does: ``receive`` takes from a trio memory
    channel, which ``feed`` fills (then the connection waits: the channel stays open)."""
    into, out = trio.open_memory_channel(math.inf)
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(feed, into)
        with trio.fail_after(SAFETY):  # a drain waiting on the client would hang here
            await app(scope, out.receive, send)
        nursery.cancel_scope.cancel()
    return sent


def test_a_body_declared_longer_than_sent_does_not_hold_the_answer(
        collector: Collector) -> None:
    """The client declares 10 bytes and sends 3: under trio the drain stops waiting
    (its own cancel scope), the app's answer goes out, and the log says what arrived."""
    app = middleware(noread, collector, background_worker_mode=True, buffer_length=1)
    scope = http_scope("POST", "/noread", headers=[
        (b"content-type", b"text/plain"), (b"content-length", b"10")])

    async def feed(into: Any) -> None:
        await into.send({"type": "http.request", "body": b"abc", "more_body": True})

    try:
        sent = trio.run(serve_channel, app, scope, feed)
        (log,) = collector.wait_for_logs(1)
    finally:
        app.close()
    assert [m.get("body") for m in sent] == [None, b"accepted"]
    request = log["request"]["log"]["entries"][0]["request"]
    assert request["bodySize"] == 3  # SPEC 4: the bytes received, of 10 declared
    assert request["postData"] == {
        "mimeType": "text/plain", "text": "abc",
        "comment": "incomplete: 3 of 10 bytes could be read without waiting"}


def test_a_reader_in_another_task_gets_every_message_in_order(
        collector: Collector) -> None:
    """The app starts a task reading the body and answers at once: the middleware's read
    ahead (for the grouping function) waits on the channel first, then the reader asks.
    The message the read ahead takes is the reader's next: none is lost or overtaken (a
    second reader on the channel would get the one after it). Each part is sent once
    every task waits, on a clock that stands still: the order is the same every run."""
    from trio.testing import MockClock, wait_all_tasks_blocked

    parts = [b"one,", b"two,", b"three"]
    got: list[bytes] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        async def reader() -> None:
            while True:
                message = await receive()
                got.append(message.get("body", b""))
                if not message.get("more_body", False):
                    return

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)  # runs once this task waits, in the read ahead
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})

    async def feed(into: Any) -> None:
        for i, part in enumerate(parts):
            await wait_all_tasks_blocked()
            await into.send({"type": "http.request", "body": part,
                             "more_body": i < len(parts) - 1})

    wrapped = middleware(app, collector, background_worker_mode=True, buffer_length=1,
                         max_body_bytes=100)
    scope = http_scope("POST", "/stream", headers=[(b"content-type", b"text/plain"),
                                                   (b"transfer-encoding", b"chunked")])
    try:
        trio.run(serve_channel, wrapped, scope, feed, clock=MockClock())
        (log,) = collector.wait_for_logs(1)
    finally:
        wrapped.close()
    assert got == parts
    # The log is made when the answer ends, while the reader waits for the second part.
    post = log["request"]["log"]["entries"][0]["request"]["postData"]
    assert post["text"] == "one,"


def test_inline_mode_delivers_every_log_off_the_loop(collector: Collector) -> None:
    """background_worker_mode=False: each full batch is sent, never on trio's thread."""
    senders: list[str] = []
    app = middleware(noread, collector, background_worker_mode=False, buffer_length=1,
                     timeout=INLINE_TIMEOUT)
    original = app.pipeline.submit  # type: ignore[union-attr]

    def submit(pending: Any, send: bool = True) -> bool:
        senders.append(threading.current_thread().name)
        return original(pending, send)

    app.pipeline.submit = submit  # type: ignore[union-attr,method-assign]
    try:
        for i in range(5):
            trio.run(serve, app, http_scope("GET", f"/n/{i}"), body_messages())
        logs = collector.wait_for_logs(5)
    finally:
        app.close()
    assert len(logs) == 5
    assert sorted(log["request"]["log"]["entries"][0]["request"]["url"] for log in logs) == [
        f"http://api.example.com/n/{i}" for i in range(5)]
    assert len(senders) == 5 and threading.main_thread().name not in senders


def test_queue_is_flushed_before_lifespan_shutdown_completes(collector: Collector) -> None:
    """The flush at the lifespan's end runs under trio too (not only at interpreter exit)."""
    app = middleware(noread, collector, background_worker_mode=True, buffer_length=100,
                     flush_interval=600)
    shutdown = LifespanShutdown(lambda: len(collector.logs))
    try:
        for i in range(4):
            trio.run(serve, app, http_scope("GET", f"/n/{i}"), body_messages())
        assert collector.logs == []  # nothing due yet
        app.app = shutdown.app
        trio.run(app, shutdown.scope, shutdown.receive, shutdown.send)
    finally:
        app.close()
    assert shutdown.at_completion == [4]
