"""review115: adversarial review of delivery37 (inline exit, gunicorn's SIGTERM noted).

1. Inline, the app's threads working past the exit's bound (``shutdown_timeout`` from
   the main thread's end): a POST in flight there is cut (delivery37), and the close
   after them has a bound of its own. Its line then said of that POST "closing gave up
   after 0.5s, the next attempt being due past shutdown_timeout ... (1 of them in POSTs
   cut at the close ...)": no attempt was due, and the close cut nothing; the logs were
   cut at the exit's bound, before it began (a real script: a thread of the app's
   serving 10 s, ``shutdown_timeout`` 2 s, an API answering in 0.5 s: 184 of 184 logs
   delivered, that one line about the one cut).
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

from readme_metrics.delivery import process
from readme_metrics.delivery.core import Delivery
from tests.support.delivery import (
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
)
from tests.support.fake_api import Collector, Reply
from tests.support.polling import wait_until


def test_a_post_cut_at_the_exits_bound_is_said_so_by_the_close_after_it(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inline, the main thread ended; a thread of the app's serves on: its log's POST,
    never answered, is cut at the exit's bound (``shutdown_timeout`` 0.5 s from the
    main thread's end); a log past it gives the close a bound of its own, which
    delivers it. The close's line says the one log cut where it was: at the exit's
    bound, not "gave up ... the next attempt being due past shutdown_timeout" nor "cut
    at the close"."""
    never = threading.Event()  # (set at the end: the collector's thread answers)
    collector.replies.append(Reply(gate=never))
    delivery = make_delivery(collector.url, buffer_length=10, shutdown_timeout=0.5,
                             background_worker_mode=False)
    try:
        _cut_then_late(delivery, collector, monkeypatch, caplog)
    finally:
        never.set()


def _cut_then_late(delivery: Delivery, collector: Collector,
                   monkeypatch: pytest.MonkeyPatch,
                   caplog: pytest.LogCaptureFixture) -> None:
    delivery.post_waiting()  # (the main thread's end: nothing waits)
    exit_by = delivery._batcher.exit_by
    assert delivery.submit(item("cut"))  # posted inline at once, cut at exit_by
    assert time.monotonic() >= exit_by
    wait_until(lambda: collector.failed or collector.received)
    assert delivery.submit(item("late"))  # past the bound: the close's own
    monkeypatch.setattr(process, "_exit_began", time.monotonic())
    caplog.clear()
    delivery.close()
    stats = delivery.stats
    assert adds_up(stats) and stats["sent"] == 1, stats
    said = [r.getMessage() for r in caplog.records
            if r.levelno >= logging.WARNING and "readme_metrics" in r.getMessage()]
    assert said == [
        "readme_metrics: 1 log not delivered: in POSTs cut at the exit's bound, "
        "shutdown_timeout (README_SHUTDOWN_TIMEOUT) of 0.5s after the main thread "
        "ended, the app's threads serving on past it; unanswered: the Metrics API may "
        "have them"], said
