"""delivery87 (2): the close's settle reserve follows the Metrics API's round trip.

A close cuts its POSTs ``settle_reserve`` before its end, for their senders to settle
them by then; a 2xx whose head would have come in that reserve is lost ("unknown").
Kept at 0.15 s whatever the API (``RESERVE``), closes of 1 s draining 2,000 logs to an
API answering in 250 ms, two burners on the 2 cores (load 22), said hundreds of logs
"unknown" that the API had in 8 of 12 closes (docs/DELIVERY.md, "The close's
reserve"). Once POSTs were answered, the reserve is now a fifth of their average
round trip (``Staffing.post_s``), 0.04 s at least, 0.15 s at most, and half the bound
at most as before; before any answer, 0.15 s as before.

The bound is asserted as computed (``Batcher.ends - Batcher.deadline``), not timed.
Real parts: the loopback collector (tests/support/fake_api.py) answering after 250 ms.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from readme_metrics.delivery.batcher_close import (
    LATENCY_SHARE,
    RESERVE,
    RESERVE_FLOOR,
    SETTLE_SHARE,
    settle_reserve,
)
from tests.support.closing_lines import closing_lines
from tests.support.delivery import (  # noqa: F401 (fixtures)
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,
    item,
    make_delivery_fixture,
)
from tests.support.fake_api import Collector, Reply

API_S = 0.25  # the Metrics API's answer time


@pytest.mark.parametrize(("bound", "post_s", "kept"), [
    (5.0, 0.0, RESERVE),  # no POST answered yet: as before
    (5.0, 0.25, 0.25 * LATENCY_SHARE),  # 0.05 s of a 250 ms round trip
    (5.0, 0.1, RESERVE_FLOOR),  # a fast API: the floor
    (5.0, 0.002, RESERVE_FLOOR),
    (5.0, 3.0, RESERVE),  # a slow one: the cap
    (0.06, 0.25, 0.06 * SETTLE_SHARE),  # a tiny bound: half of it, as before
    (0.0, 0.25, 0.0),
    (-1.0, 0.25, 0.0),
])
def test_the_reserve_is_a_share_of_the_round_trip_within_its_bounds(
        bound: float, post_s: float, kept: float) -> None:
    assert settle_reserve(bound, post_s) == pytest.approx(kept, abs=1e-12)
    assert settle_reserve(bound) == min(RESERVE, max(0.0, bound) * SETTLE_SHARE)


def test_a_close_after_answers_in_250ms_cuts_its_posts_a_fifth_of_that_before_its_end(
        make_delivery: MakeDelivery, collector: Collector, caplog: Any) -> None:
    """A log answered in 250 ms, then two more and ``close()`` (5 s): its POSTs are cut
    ``settle_reserve(bound, post_s)`` before its end, 0.05 s to 0.15 s as the round
    trips measured (before: 0.15 s whatever they were). Every log sent, no line."""
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    collector.default = Reply(delay=API_S)
    delivery = make_delivery(collector.url, buffer_length=1, shutdown_timeout=5.0)
    batcher = delivery._batcher
    assert delivery.submit(item("first"))
    assert delivery.flush(10.0) is True
    post_s = batcher.staffing.post_s
    assert post_s >= API_S, post_s  # (the collector's own wait, at least)
    assert delivery.submit(item("second")) and delivery.submit(item("third"))
    began = time.monotonic()
    delivery.close(began=began)
    stats = delivery.stats
    assert batcher.ends == began + 5.0
    kept = min(RESERVE, max(RESERVE_FLOOR, post_s * LATENCY_SHARE))
    assert batcher.ends - batcher.deadline == pytest.approx(kept, abs=1e-9), (post_s, kept)
    assert adds_up(stats) and (stats["sent"], stats["dropped"]) == (3, 0), stats
    assert not closing_lines(caplog)  # (its line, had it one, would say the stats')
