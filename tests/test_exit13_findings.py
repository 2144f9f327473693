"""exit13's items.

flush(timeout) and close() keep to their bound when a handed-over log (a WSGI response
dropped unclosed) is being finished on the library's own thread. Before: the wait for
that finish (at most FINISH_WAIT, 1 s) came on top of the bound: flush(0.4) took up to
0.8 s, flush() and close() shutdown_timeout + 1 s. The checks read what the pipeline gave
its delivery (the time left, the close's deadline) against the clock read around the
wait: exact whatever the load, no slack.

At exit, the library's thread for such responses is waited for until it has been
scheduled (up to half of shutdown_timeout), not EXIT_WAIT (0.5 s) from the exit's start,
which the exit's own gc.collect() (a large heap) or a starved CPU used up: the log the
collection handed over was given up, never having had a chance to run."""

from __future__ import annotations

import gc
import textwrap
import threading
import time
from typing import Any, Callable, Iterator, Optional

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.pipeline import MetricsPipeline
from tests.support.contract import run_python
from tests.support.delivery import assert_exit_sent
from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.support.wsgi import wsgi_environ
from tests.test_delivery_exit import CYCLE_EXIT_SCRIPT


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
    while not pipeline.handed.others_finishing():  # the thread took it (its grouping waits)
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
        release.set()
        # Its log queued: a flush waits for a finish at most FINISH_WAIT from the
        # finish's start, which a loaded machine (0.4 s waited above, and the thread
        # still to be scheduled) may have used up (a CI run: "assert 0 == 1").
        wait_until(lambda: not pipeline.handed.others_finishing())
        assert middleware.flush(10.0) is True  # the log, finished, is delivered
        assert len(collector.logs) == 1
    finally:
        release.set()
        middleware.close()  # also on a failure: no sender left for the next test


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


# The exit's own collection holds the GIL for 0.7 s after it finalized the response (as
# that of a heap of millions of objects does, or a CPU the machine gives to others): the
# library's thread, woken by the finalizer, cannot run before it ends.
_LONG_EXIT_COLLECTION = textwrap.dedent("""\
    import gc, sys, time
    def _long_collection(phase, info, held=[]):
        if phase == "start" and not held:  # the exit's gc.collect() (gc is disabled)
            held.append(sys.getswitchinterval())
            sys.setswitchinterval(10.0)  # no other thread takes the GIL from here
        elif phase == "stop" and len(held) == 1:
            held.append(None)
            end = time.monotonic() + 0.7
            while time.monotonic() < end:
                pass
            sys.setswitchinterval(held[0])
    gc.callbacks.append(_long_collection)
    exit_begins()""")


@pytest.mark.parametrize("background", [pytest.param(True, id="background"),
                                        pytest.param(False, id="inline")])
def test_a_log_handed_over_by_a_long_exit_collection_is_sent(
        collector: Collector, background: bool) -> None:
    """A response dropped unread in a reference cycle, finalized by the exit's
    gc.collect(), which then held the GIL 0.7 s more; default shutdown_timeout (5 s).
    Before: the exit's wait for the library's thread (0.5 s from the exit's start) was
    over when the collection ended: the log was given up ('exiting with 1 log ... not
    yet queued'), 0 of 1 sent. The thread, not yet on that work, is now waited for."""
    script = CYCLE_EXIT_SCRIPT.replace("shutdown_timeout=1.0", "shutdown_timeout=5.0")
    head, call, tail = script.rpartition("\nexit_begins()")  # the call, not the def
    assert call and script != CYCLE_EXIT_SCRIPT
    child = run_python(head + "\n" + _LONG_EXIT_COLLECTION + tail, collector.url,
                       "1" if background else "0", "unread", timeout=60)
    assert_exit_sent(child, collector, 1)
    assert "not yet queued" not in child.stderr
