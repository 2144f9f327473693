"""Inline sends under an event loop (capture/asgi_inline.py) when no thread can start.

With ``background_worker_mode=False`` the send of a full batch runs in the loop's
executor, or in a thread of the library's own; where no thread can start (a process at
its thread limit; Python 3.12+ at interpreter exit) the send ran in place, on the event
loop, which then waited on the Metrics API (SPEC 7: never). The log is queued instead,
and sent by a later turn or a flush. Logs go over real HTTP to the collector.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Callable, Iterator

import pytest

from readme_metrics import MetricsApiConfig
from readme_metrics.asgi import MetricsMiddleware
from readme_metrics.capture.asgi_inline import InlineSends
from tests.support.asgi import http_scope, run
from tests.support.contract import API_KEY, inline_options
from tests.support.fake_api import Collector

#: The threads the inline sends start: the asyncio loop's default executor's, and the
#: library's own.
SENDING_THREADS = ("asyncio", "readme-metrics-inline")


@pytest.fixture
def no_sending_thread(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[bool], None]]:
    """``allow(False)``: the sending threads fail to start, as at a thread limit (the
    collector's own threads still start); ``allow(True)`` ends it."""
    start = threading.Thread.start
    allowed = [True]

    def failing_start(thread: threading.Thread) -> None:
        if not allowed[0] and thread.name.startswith(SENDING_THREADS):
            raise RuntimeError("can't start new thread")
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", failing_start)

    def allow(yes: bool) -> None:
        allowed[0] = yes

    yield allow


def _app(raises: bool) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if raises:
            raise ValueError("boom")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
    return app


@pytest.mark.parametrize("loop", ["asyncio", "trio"])
@pytest.mark.parametrize("raises", [False, True], ids=["answered", "app-raised"])
def test_with_no_thread_to_send_from_the_log_is_queued_not_sent_on_the_loop(
        collector: Collector, no_sending_thread: Callable[[bool], None],
        loop: str, raises: bool) -> None:
    if loop == "trio":
        trio = pytest.importorskip("trio")
    middleware = MetricsMiddleware(_app(raises), MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url, **inline_options({})))
    # then="disconnect": the scripted server needs no asyncio (under trio).
    serve = lambda path: run(middleware, http_scope(path=path), then="disconnect")  # noqa: E731
    seen: list[tuple[Any, int, int]] = []

    async def two_requests() -> None:
        for path in ("/1", "/2"):
            done = await serve(path)
            # POSTs made by now were made on the loop (old code: 1, then 2).
            seen.append((done.error.__class__, len(collector.received),
                         middleware.stats["queued"]))

    try:
        no_sending_thread(False)
        trio.run(two_requests) if loop == "trio" else asyncio.run(two_requests())
        no_sending_thread(True)
        # Threads start again: the next turn sends what was queued, in order.
        trio.run(serve, "/3") if loop == "trio" else asyncio.run(serve("/3"))
        assert middleware.flush(10)
    finally:
        middleware.close()
    error = ValueError if raises else type(None)
    assert seen == [(error, 0, 1), (error, 0, 2)]
    urls = [log["request"]["log"]["entries"][0]["request"]["url"] for log in collector.logs]
    assert urls == [f"http://api.example.com/{n}" for n in (1, 2, 3)]
    assert (middleware.stats["sent"], middleware.stats["dropped"]) == (3, 0)


def test_a_drain_left_behind_by_a_thread_that_did_not_start_never_runs_beside_the_next(
        no_sending_thread: Callable[[bool], None]) -> None:
    """A thread that fails to start leaves its drain in the executor's queue, run once a
    busy thread of that executor is free: the sends must still take turns."""
    sends: list[tuple[str, bool]] = []
    at_once = [0, 0]  # now, most
    lock = threading.Lock()
    second_sending = threading.Event()
    let_second_finish = threading.Event()

    def submit(item: str, send: bool = True) -> None:
        with lock:
            sends.append((item, send))
            at_once[0] += 1
            at_once[1] = max(at_once)
        if item == "second":
            second_sending.set()
            let_second_finish.wait(10)
        with lock:
            at_once[0] -= 1

    inline = InlineSends(submit, limit=10)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        busy = threading.Event()
        # The executor's one thread is busy; the next job needs a thread of its own.
        occupied = loop.run_in_executor(None, busy.wait, 10)
        no_sending_thread(False)
        first = inline.send("first", loop)  # its drain stays in the executor's queue
        no_sending_thread(True)
        await asyncio.wrap_future(first)
        second = inline.send("second", loop)  # a new thread: the stale drain, then this
        # Waited on the loop, not in the executor: its only free thread may be the one
        # the stale drain holds, and this wait would sit queued until busy.wait timed out.
        for _ in range(2000):
            if second_sending.is_set():
                break
            await asyncio.sleep(0.005)
        assert second_sending.is_set()
        busy.set()  # the busy thread is free: it takes the next job in the queue
        await occupied
        third = inline.send("third", loop)
        await asyncio.sleep(0.2)  # room for a third drain to run beside the second
        let_second_finish.set()
        await asyncio.wrap_future(second)
        await asyncio.wrap_future(third)

    asyncio.run(main())
    assert sends == [("first", False), ("second", True), ("third", True)]
    assert at_once[1] == 1

