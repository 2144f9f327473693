"""delivery39: an inline-mode flush posted one POST after another.

Inline mode (``background_worker_mode=False``) has no sender thread: a flush (the ASGI
lifespan's at a server's stop, ``flush()``, the exit's close) posted what waits in the
calling thread, each POST waiting for the answer before the next. uvicorn, a Metrics API
answering in 1 s, 3,001 logs queued at the SIGTERM, ``shutdown_timeout`` 5 s: 5 POSTs of
500 in 5 s, 1,001 logs lost (said). Background mode posts them side by side. Now a
forced inline send starts up to ``INLINE_HELPERS`` threads beside the caller when more
waits than one POST carries, all ended by the same deadline.

Real parts: the loopback collector holding its answers (no timing: the POSTs it holds
at once are counted).
"""

from __future__ import annotations

import threading
from typing import Callable

from readme_metrics import MetricsMiddleware
from readme_metrics.delivery.inline import INLINE_HELPERS
from tests.support.fake_api import Collector, Reply
from tests.support.wsgi import run_wsgi, wsgi_environ


def test_an_inline_flush_posts_a_backlog_side_by_side(
        collector: Collector, background_wrap: Callable[..., MetricsMiddleware]) -> None:
    """1,500 logs queued (no batch full: ``buffer_length`` 2,000), the API holding its
    answers: the flush's 3 POSTs of 500 are all held at once, then all 1,500 delivered.
    Before: one POST held, the next only after its answer (peak 1)."""
    assert INLINE_HELPERS >= 2
    gate = threading.Event()
    collector.default = Reply(gate=gate)
    middleware = background_wrap(buffer_length=2000, flush_interval=600,
                                 background_worker_mode=False, shutdown_timeout=30)
    for n in range(1500):
        run_wsgi(middleware, wsgi_environ(path=f"/r/{n}"))
    assert collector.received == []  # nothing sent yet: no batch full
    flushed: list[bool] = []
    flush = threading.Thread(target=lambda: flushed.append(middleware.flush(60)))
    flush.start()
    try:
        collector.wait_for_posts(3)  # the three, before any answer
    finally:
        gate.set()
        flush.join(90)
    assert flushed == [True]
    assert collector.peak_in_flight == 3
    assert sorted(len(batch) for batch in collector.batches) == [500, 500, 500]
    assert len(collector.logs) == 1500


def test_one_posts_worth_goes_alone(
        collector: Collector, background_wrap: Callable[..., MetricsMiddleware]) -> None:
    """What one POST carries goes in one POST from the calling thread, as before."""
    middleware = background_wrap(buffer_length=2000, flush_interval=600,
                                 background_worker_mode=False)
    for n in range(20):
        run_wsgi(middleware, wsgi_environ(path=f"/r/{n}"))
    assert middleware.flush(10) is True
    assert [len(batch) for batch in collector.batches] == [20]
    assert collector.peak_in_flight == 1
