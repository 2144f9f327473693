"""cpu35 (issue 11): a sender just woken for a batch keeps the GIL for its first log.

cpu32's hand-over (``delivery/gil_hand_over.py``) lets a waiting thread have the GIL once
a sender has built for a millisecond. Its clock ran from its last check, the batch
before's last log, so the park and the POST's round trip in between counted as building:
the first log of nearly every batch let the GIL go at once (0.5 to 0.9 hand-overs a
batch of 10 small logs under a gunicorn sync worker), a GIL round trip between the sender
just woken and the serving thread mid-request. The millisecond now counts from the
batch's start, and the first check is before its second log.

A real Delivery posts each batch to the loopback collector and waits between batches
longer than the hand-over's millisecond. Counts, not times: a batch of one log has no
second log, so no check at all (8 hand-overs for 8 batches before); a batch of ten quick
logs built well within its millisecond hands over in at most a few of them (before: at
every batch's first log). cpu32's own test holds that a long build still hands over.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from readme_metrics.delivery.gil_hand_over import HAND_OVER_S
from tests.support.delivery import (
    MakeDelivery,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
)
from tests.support.fake_api import Collector

BATCHES = 8


def _batches(make_delivery: MakeDelivery, collector: Collector, size: int) -> Any:
    """``BATCHES`` batches of ``size`` logs, each delivered before the next, a pause of
    several hand-over milliseconds between them; the delivery."""
    delivery = make_delivery(collector.url, buffer_length=size, flush_interval=60,
                             max_queue_size=10_000)
    sent = 0
    for batch in range(BATCHES):
        time.sleep(5 * HAND_OVER_S)  # the sender parked: no building
        for number in range(size):
            assert delivery.submit(item(f"log-{batch}-{number}"))
        sent += size
        assert delivery.flush(30)
        assert len(collector.wait_for_logs(sent)) == sent
    assert delivery.stats["sent"] == sent
    return delivery


def test_a_batch_of_one_log_never_hands_over(make_delivery: MakeDelivery,
                                             collector: Collector) -> None:
    delivery = _batches(make_delivery, collector, 1)
    assert delivery._attempt.hand_over.handed == 0  # 8 before


@pytest.mark.parametrize("size", [10])
def test_quick_batches_keep_the_gil_from_their_start(make_delivery: MakeDelivery,
                                                     collector: Collector,
                                                     size: int) -> None:
    delivery = _batches(make_delivery, collector, size)
    # Ten small logs build in well under a millisecond; only a preemption of the
    # sender mid-batch (a loaded machine) makes one hand over. Before: every batch.
    assert delivery._attempt.hand_over.handed < BATCHES // 2
