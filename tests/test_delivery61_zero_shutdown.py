"""delivery61: ``shutdown_timeout=0`` (``README_SHUTDOWN_TIMEOUT=0``) as README and
docs/DELIVERY.md say it: the exit sends nothing, waits for nothing, and says how many
logs it left.

Before, in background mode, the main thread's end still woke the senders to post what
waited (``post_waiting``, before the close): a POST began, the close cut it at once, and
said "3 logs not delivered (3 of them in POSTs cut at the close, unanswered: the Metrics
API may have them)" while the API had them (by hand, an API answering at once: 2 exits
of 5 sent that POST, 3 logs reached the API, all said not delivered). Real parts: the
loopback collector, holding its answers; a real interpreter exit.
"""

from __future__ import annotations

import asyncio
import logging
import textwrap
import threading
import time

import pytest

from readme_metrics.asgi import MetricsMiddleware
from readme_metrics.config import MetricsApiConfig
from tests.support.contract import run_python
from tests.support.delivery import (
    API_KEY,
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
)
from tests.support.fake_api import Collector, Reply
from tests.support.lifespan_stop import call_and_stop, hello

LEFT = ("readme_metrics: closing gave up after shutdown_timeout (README_SHUTDOWN_TIMEOUT) "
        "of 0s: 3 logs not delivered")


def test_the_main_threads_end_posts_nothing_with_a_zero_shutdown_timeout(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture) -> None:
    """What the exit does as the main thread ends (before its close) asks the senders
    for nothing at 0: before, it had them post the 3 logs waiting (the queue's flush
    target raised to them), a POST the close then cut."""
    gate = threading.Event()
    collector.default = Reply(gate=gate)
    delivery = make_delivery(collector.url, buffer_length=1000, flush_interval=600,
                             shutdown_timeout=0)
    try:
        for name in ("a", "b", "c"):
            assert delivery.submit(item(name))
        delivery.post_waiting()  # the main thread's end (process.py's hook)
        assert delivery._queue.flush_target == 0  # no sender asked to post
        delivery.close()
        delivery._pool.join(time.monotonic() + 30.0)  # (a guard, not a synchronisation)
    finally:
        gate.set()
    stats = delivery.stats
    assert (stats["sent"], stats["dropped_shutdown"], stats["queued"]) == (0, 3, 0), stats
    assert adds_up(stats)
    assert len(collector.received) + len(collector.failed) == 0  # no POST at all
    said = messages(caplog, logging.WARNING, "not delivered")
    assert said == ["readme_metrics: closing gave up after shutdown_timeout "
                    "(README_SHUTDOWN_TIMEOUT) of 0s: 3 logs not delivered"], said


EXIT_SCRIPT = textwrap.dedent("""
    import sys
    from wsgiref.util import setup_testing_defaults

    from readme_metrics import MetricsApiConfig, MetricsMiddleware

    def hello(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    middleware = MetricsMiddleware(hello, MetricsApiConfig(
        api_key="rdme_delivery61_key", metrics_api=sys.argv[1], buffer_length=1000,
        flush_interval=600, background_worker_mode=sys.argv[2] == "1",
        grouping_function=lambda req: {"api_key": "caller"}))
    for n in range(3):
        environ = {"PATH_INFO": f"/p/{n}"}
        setup_testing_defaults(environ)
        b"".join(middleware(environ, lambda status, headers, exc_info=None: None))
""")


@pytest.mark.parametrize("background", ["1", "0"], ids=["background", "inline"])
def test_an_exit_with_readme_shutdown_timeout_zero_sends_nothing_and_says_so(
        collector: Collector, background: str) -> None:
    """3 logs queued, ``README_SHUTDOWN_TIMEOUT=0``: the exit makes no POST and says
    the 3 logs it left, once, and nothing else. (An API answering at once: before, the
    POST begun at the main thread's end reached it now and then, the logs said "not
    delivered" all the same; the in-process test above fails every time.)"""
    child = run_python(EXIT_SCRIPT, collector.url, background, timeout=60,
                       env={"README_SHUTDOWN_TIMEOUT": "0"})
    assert child.returncode == 0, child.stderr
    assert child.stderr.strip() == LEFT, child.stderr
    assert child.stdout == ""
    assert len(collector.received) + len(collector.failed) == 0


def test_a_servers_stop_with_a_zero_shutdown_timeout_posts_nothing(
        collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    """The ASGI lifespan's flush at a server's stop (uvicorn's SIGTERM: often the last
    word, no exit hooks after it) at 0: no flush asked (before, ``flush(0)`` had a sender
    begin a POST that the close then cut), the 3 logs said left by that flush, then by
    the close."""
    gate = threading.Event()
    collector.default = Reply(gate=gate)
    config = MetricsApiConfig(api_key=API_KEY, metrics_api=collector.url,
                              grouping_function=lambda req: {"api_key": "caller"},
                              shutdown_timeout=0, buffer_length=100, flush_interval=600,
                              background_worker_mode=True)
    middleware = MetricsMiddleware(hello, config)
    assert middleware.pipeline is not None
    delivery = middleware.pipeline.delivery
    try:
        asyncio.run(call_and_stop(middleware, 3))
        assert delivery._queue.flush_target == 0  # no sender asked to post
        middleware.close()
        delivery._pool.join(time.monotonic() + 30.0)  # (a guard, not a synchronisation)
    finally:
        gate.set()
    assert len(collector.received) + len(collector.failed) == 0
    stats = delivery.stats
    assert (stats["sent"], stats["dropped_shutdown"]) == (0, 3), stats
    said = messages(caplog, logging.WARNING, "not delivered")
    assert len(said) == 2 and "the flush at the ASGI lifespan's shutdown gave up after " \
        "shutdown_timeout (README_SHUTDOWN_TIMEOUT) of 0s: 3 logs not delivered yet" \
        in said[0] and said[1] == LEFT + (", of the 3 logs the flush at the ASGI lifespan's " \
        "shutdown said were still queued (the same logs, not more)"), said
