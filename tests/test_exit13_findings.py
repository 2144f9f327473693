"""exit13's items: flush(timeout) and close() keep to their bound when a handed-over log
(a WSGI response dropped unclosed) is being finished on the library's own thread.

Before: the wait for that finish (at most FINISH_WAIT, 1 s) came on top of the bound:
flush(0.4) took up to 0.8 s, flush() and close() shutdown_timeout + 1 s. The checks read
what the pipeline gave its delivery (the time left, the close's deadline) against the
clock read before the call: exact whatever the load, no slack."""

from __future__ import annotations

import gc
import threading
import time
from typing import Any, Callable, Iterator, Optional

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.pipeline import MetricsPipeline
from tests.support.fake_api import Collector
from tests.support.wsgi import wsgi_environ


def _streamed(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"ok"


def _finishing_on_the_thread(collector: Collector, background: bool,
                             shutdown_timeout: float = 5.0,
                             ) -> tuple[MetricsMiddleware, MetricsPipeline, threading.Event]:
    """A middleware whose one log, of a response dropped unread, is being finished by
    the library's thread: its grouping function waits for the returned event."""
    release = threading.Event()

    def grouping(request: Any) -> dict[str, str]:
        if threading.current_thread().name == "readme-metrics-unclosed":
            release.wait(30.0)
        return {"api_key": "caller"}

    middleware = MetricsMiddleware(_streamed, MetricsApiConfig(
        api_key="rdme_exit13_SECRET_key_0001", metrics_api=collector.url,
        buffer_length=10, flush_interval=600, shutdown_timeout=shutdown_timeout,
        background_worker_mode=background, grouping_function=grouping))
    pipeline = middleware.pipeline
    assert pipeline is not None
    response = middleware(wsgi_environ("GET", "/dropped"), lambda *args: None)
    del response  # never read nor closed: finalized, handed over, the thread woken
    gc.collect()
    deadline = time.monotonic() + 30.0
    while not pipeline._others_finishing():  # the thread took it (its grouping waits)
        assert time.monotonic() < deadline, "the library's thread never took the log"
        time.sleep(0.005)
    return middleware, pipeline, release


def _recording(calls: list[tuple[float, Optional[float]]],
               flush: Callable[[Optional[float]], bool]) -> Callable[..., bool]:
    def recorded(timeout: Optional[float] = None) -> bool:
        calls.append((time.monotonic(), timeout))
        return flush(timeout)
    return recorded


def _timed(times: list[tuple[float, float]],
           run: Callable[[float], None]) -> Callable[[float], None]:
    """``run`` (the pipeline's run_handed_over), recording when it began and ended."""
    def timed(wait: float = 0.0) -> None:
        began = time.monotonic()
        try:
            run(wait)
        finally:
            times.append((began, time.monotonic()))
    return timed


@pytest.mark.parametrize("background", [pytest.param(True, id="background"),
                                        pytest.param(False, id="inline")])
@pytest.mark.parametrize("timeout", [pytest.param(0.4, id="timeout-0.4"),
                                     pytest.param(None, id="default-shutdown_timeout")])
def test_flush_keeps_to_its_timeout_while_a_finish_is_waited_for(
        collector: Collector, background: bool, timeout: Optional[float]) -> None:
    """flush(timeout) waits (bounded) for the log the library's thread is finishing,
    then flushes the delivery: with the whole timeout again (before: started + 0.4 s
    waited + 0.4 s given = 0.8 s, and 1 s + shutdown_timeout for flush()). Now the time
    the delivery is given ends at the flush's own bound."""
    middleware, pipeline, release = _finishing_on_the_thread(
        collector, background, shutdown_timeout=0.4)
    calls: list[tuple[float, Optional[float]]] = []
    waited: list[tuple[float, float]] = []
    try:
        pipeline.delivery.flush = _recording(  # type: ignore[method-assign]
            calls, pipeline.delivery.flush)
        pipeline.run_handed_over = _timed(  # type: ignore[method-assign,assignment]
            waited, pipeline.run_handed_over)
        middleware.flush(timeout)
        assert len(calls) == 1 and len(waited) == 1
        given = calls[0][1]
        assert given is not None
        # The flush began before the wait for the finish, and the time the delivery is
        # given is read after it: at most what the wait left of the 0.4 s.
        began, ended = waited[0]
        assert given <= 0.4 - (ended - began), (ended - began, given)
    finally:
        release.set()
    assert middleware.flush(10.0) is True  # the log, finished, is delivered
    assert len(collector.logs) == 1
    middleware.close()


@pytest.mark.parametrize("background", [pytest.param(True, id="background"),
                                        pytest.param(False, id="inline")])
def test_close_keeps_to_shutdown_timeout_while_a_finish_is_waited_for(
        collector: Collector, background: bool) -> None:
    """close() waited FINISH_WAIT (1 s) for the finish, then closed the delivery with a
    whole shutdown_timeout from then: 1.3 s with shutdown_timeout=0.3. Its drain's
    deadline now counts from the close's start."""
    middleware, pipeline, release = _finishing_on_the_thread(
        collector, background, shutdown_timeout=0.3)
    waited: list[tuple[float, float]] = []
    try:
        pipeline.run_handed_over = _timed(  # type: ignore[method-assign,assignment]
            waited, pipeline.run_handed_over)
        middleware.close()
        assert len(waited) == 1
        began, ended = waited[0]  # the close began before
        deadline = pipeline.delivery._batcher.deadline
        assert deadline <= began + 0.3, (ended - began, deadline - began)
    finally:
        release.set()
