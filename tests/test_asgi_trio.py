"""The ASGI middleware under trio's event loop, in process (``hypercorn -k trio`` runs it so).

No asyncio loop runs there: the library must neither raise into the app nor lose logs
for that (SPEC 5 and 7), and must not depend on trio. Apps are driven as a server drives
them, inside ``trio.run``; logs go over real HTTP to the collector. The server itself is
in tests/test_asgi_servers.py (``hypercorn-trio``).
"""

from __future__ import annotations

import asyncio
import gc
import threading
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import MetricsMiddleware
from tests.support.asgi import DOCS, GROUP, LifespanShutdown, body_messages, http_scope
from tests.support.fake_api import Collector
from tests.support.har_check import assert_valid_log

trio = pytest.importorskip("trio")

API_KEY = "rdme_abcdefghijklmnopqrstuvwxyz"


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


def test_unread_body_is_logged_incomplete_and_leaves_no_asyncio_task(
        collector: Collector) -> None:
    """The drain cannot stop waiting on trio's receive(): nothing is read, the log says
    so, and no asyncio task is parked on a loop that never runs (one per request)."""
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
        assert request["postData"] == {
            "mimeType": "application/json", "text": "",
            "comment": f"incomplete: 0 of {len(body)} bytes could be read without waiting"}


def test_inline_mode_delivers_every_log_off_the_loop(collector: Collector) -> None:
    """background_worker_mode=False: each full batch is sent, never on trio's thread."""
    senders: list[str] = []
    app = middleware(noread, collector, background_worker_mode=False, buffer_length=1)
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
