"""flaky55: delivery test doubts, each order forced (holds, events), against a real
collector on 127.0.0.1.

1. The exit's close after the ASGI lifespan's flush ends at that flush's deadline only if
   it begins within twice ``shutdown_timeout`` of the stop's start (delivery35: an older
   mark is no stop of this close's). On a loaded machine (load ~30) the flush ends late
   and the server's exit after it is slow: past that window, the close had a bound of
   its own, the stop twice its bound (tests/test_delivery34_findings.py failed once so).
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

from readme_metrics.delivery import Delivery
from tests.support.delivery import (
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    messages,
    never_fixture,  # noqa: F401 - ``never``
)
from tests.support.fake_api import Collector
from tests.support.lifespan_stop import stopped_with_the_api_silent
from tests.support.polling import wait_until

#: The helper's shutdown_timeout.
BOUND = 0.5


def past_twice_the_bound(delivery: Delivery) -> None:
    """The server's exit, slow: the close begins past twice the bound of the stop's
    start (a flush that ended late, then a slow exit, as at load ~30)."""
    stop = delivery._stop_began[0]
    wait_until(lambda: time.monotonic() > stop + 2 * BOUND)


def test_a_slow_exit_after_the_lifespans_flush_gives_the_close_no_bound_of_its_own(
        collector: Collector, never: threading.Event,
        caplog: pytest.LogCaptureFixture) -> None:
    """Before: the close's deadline was its own start plus 0.5 s (the stop 1.5 s and
    more of a 0.5 s bound); it ends at the stop's deadline now, as with a quick exit."""
    delivery, closing = stopped_with_the_api_silent(collector, never, past_twice_the_bound)
    assert closing > delivery._stop_began[0] + 2 * BOUND  # (the order forced)
    assert delivery._batcher.deadline <= closing  # (before: closing + 0.5)
    stats = delivery.stats
    assert adds_up(stats) and (stats["sent"], stats["dropped_unknown"]) == (0, 3), stats
    close = messages(caplog, logging.WARNING, "closing gave up after shutdown_timeout "
                     "(README_SHUTDOWN_TIMEOUT) of 0.5s: 0 logs not delivered, 3 unknown")
    assert len(close) == 1, [r.getMessage() for r in caplog.records]
    assert "(the same logs, not more)" in close[0], close


def test_a_close_long_after_the_lifespans_flush_has_its_own_bound(
        collector: Collector, never: threading.Event) -> None:
    """The window is not open-ended: a close that begins a whole second and the bound
    after the stop's flush ended (a lifespan long over, as delivery35's) has its own."""
    def long_after(delivery: Delivery) -> None:
        ended = getattr(delivery, "_stop_ended", delivery._stop_began[0] + BOUND)
        wait_until(lambda: time.monotonic() > ended + 1.0 + BOUND)

    delivery, closing = stopped_with_the_api_silent(collector, never, long_after)
    assert delivery._batcher.ends >= closing + BOUND
    stats = delivery.stats
    assert adds_up(stats) and stats["sent"] == 0, stats
