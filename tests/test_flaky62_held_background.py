"""flaky62: background-mode tests that hold a POST and count logs stand a hold past
README_TIMEOUT's 3 s (the test's own calls slowed by a loaded machine, load 20-30).

A POST unanswered within ``timeout`` is sent again (SPEC 7, at-least-once: the API may
have read it): blackbox7's ``_fill`` (its POST held while 20 logs are submitted) counted
its 3 logs twice. ``inline_timeout`` is inline only, so such a test passes
``timeout=INLINE_TIMEOUT`` itself. In background mode the first POST past ``timeout``
is spared twice it (``Stretch``: 6 s) before it is cut and sent again, so the hold here
is 7 s: past that, well within INLINE_TIMEOUT. Failed before (``assert 6 == 3``).
"""

from __future__ import annotations

import time

from tests.support.delivery import (
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
)
from tests.support.fake_api import INLINE_TIMEOUT, Collector
from tests.support.polling import wait_until
from tests.test_blackbox7_findings import HELD, _fill

#: Past the spared wait of README_TIMEOUT's default (2 x 3 s), well within INLINE_TIMEOUT.
LATE = 7.0


def test_late_hold_is_within_the_inline_timeout() -> None:
    assert 2 * 3.0 < LATE < INLINE_TIMEOUT


def test_blackbox7s_held_post_counts_its_logs_once_when_held_past_3s(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    """blackbox7's full queue, its POST held 7 s (what a loaded machine can do to the
    test's 20 submissions): the API gets each of the HELD logs once."""
    delivery, gate = _fill(collector, make_delivery)
    try:
        time.sleep(LATE)  # (the hold under load; not a synchronisation)
    finally:
        gate.set()
    wait_until(lambda: delivery.stats["queued"] == 0)
    delivery.close()
    assert len(collector.logs) == HELD, [log["_id"] for log in collector.logs]
    assert delivery.stats["sent"] == HELD and adds_up(delivery.stats), delivery.stats
