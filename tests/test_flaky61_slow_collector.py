"""flaky61: the ``make_delivery`` fixture's inline Deliveries stand a collector answering
later than README_TIMEOUT's 3 s (its thread starved on a loaded machine, load 20-30).

A POST unanswered within ``timeout`` is sent again (SPEC 7, at-least-once: the API may
have read it), so an inline test counting its logs got one twice. As flaky58's helpers
do, the fixture (and the conftest's ``background_wrap``) gives an inline Delivery's POST
``INLINE_TIMEOUT`` for its answer unless the test sets ``timeout`` (the tests whose
subject is the timeout, a deadline or a retry). The collector here answers 3.5 s late:
past the default, within that.
"""

from __future__ import annotations

from typing import Callable

from readme_metrics import MetricsMiddleware
from tests.support.delivery import (
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    ids,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
)
from tests.support.fake_api import INLINE_TIMEOUT, Collector, Reply, describe
from tests.support.wsgi import run_wsgi, wsgi_environ

#: Past README_TIMEOUT's default (3 s), well within INLINE_TIMEOUT.
LATE = 3.5


def test_late_answer_is_within_the_inline_timeout() -> None:
    assert 3.0 < LATE < INLINE_TIMEOUT


def test_an_inline_delivery_counts_one_log_from_a_late_collector(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    """The log is posted by the request that fills its batch (within ``timeout``; a
    flush() waits to its own deadline): once."""
    collector.default = Reply(delay=LATE)
    delivery = make_delivery(collector.url, buffer_length=1, background_worker_mode=False)
    assert delivery.submit(item("late"))
    assert delivery.flush(2 * INLINE_TIMEOUT) is True
    assert ids(collector.logs) == ["late"]
    stats = delivery.stats
    assert (stats["sent"], stats["retries"]) == (1, 0) and adds_up(stats), stats


def test_an_inline_delivery_keeps_the_timeout_a_test_sets(
        make_delivery: MakeDelivery, collector: Collector) -> None:
    """A test whose subject is the timeout keeps its own."""
    delivery = make_delivery(collector.url, background_worker_mode=False, timeout=0.5)
    assert delivery.config.timeout == 0.5
    background = make_delivery(collector.url)
    assert background.config.timeout == 3.0  # the background mode's default, untouched


def test_an_inline_background_wrap_counts_one_log_from_a_late_collector(
        collector: Collector, background_wrap: Callable[..., MetricsMiddleware]) -> None:
    """The conftest's ``background_wrap`` in inline mode alike (delivery39, delivery63)."""
    collector.default = Reply(delay=LATE)
    middleware = background_wrap(buffer_length=1, background_worker_mode=False)
    assert run_wsgi(middleware, wsgi_environ(path="/late")).status.startswith("200")
    assert middleware.flush(2 * INLINE_TIMEOUT) is True
    assert len(collector.logs) == 1, describe(collector.logs)
    assert middleware.stats["retries"] == 0, middleware.stats
