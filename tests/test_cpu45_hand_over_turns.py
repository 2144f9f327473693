"""cpu45 (issue 11): after a batch's first hand-over, a sender lets the GIL go every
quarter millisecond of building, not every millisecond.

cpu32's hand-over lets a waiting thread have the GIL once a sender has built for a
millisecond. A request thread that runs Python without blocking (bench.py's in-process
loop, a CPU-bound request) gets it back from a sender only by force, a switch interval
later, and then waits for the sender's whole turn: at a millisecond a turn the senders'
building held about 5 us of the small GET's in-process request path a request, at a
quarter about 3 (docs/PERFORMANCE.md, cpu45). A batch of ``buffer_length`` small logs
builds well within the first millisecond and still never hands over (cpu35's test).

A real Delivery posts one batch of :data:`LOGS` builds of 0.3 ms each (a spin on the
clock) to the loopback collector. Counts, not times: the first hand-over comes before
the fifth log (1.2 ms built), then one before each later log (failed before: one a
millisecond, 5 or 6 for the batch's 6 ms). A preemption of the sender mid-build only
makes a build longer, which moves no count below the bound.
"""

from __future__ import annotations

import time
from typing import Any

from readme_metrics.delivery.gil_hand_over import HAND_OVER_AGAIN_S, HAND_OVER_S
from tests.support.delivery import (
    MakeDelivery,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    build_id,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
)
from tests.support.fake_api import Collector

LOGS = 20
#: A build's length: longer than a later turn, shorter than the first.
BUILD_S = 0.3 * HAND_OVER_S


def _slow_build(pending: Any) -> dict:
    log = build_id(pending)
    end = time.perf_counter() + BUILD_S
    while time.perf_counter() < end:
        pass
    return log


def test_a_long_batch_hands_over_each_quarter_millisecond_after_the_first(
        make_delivery: MakeDelivery, collector: Collector) -> None:
    assert HAND_OVER_AGAIN_S < BUILD_S < HAND_OVER_S
    delivery = make_delivery(collector.url, _slow_build, buffer_length=LOGS,
                             flush_interval=60, max_queue_size=10_000)
    names = [f"log-{number}" for number in range(LOGS)]
    for name in names:
        assert delivery.submit(item(name))
    assert delivery.flush(30)
    logs = collector.wait_for_logs(LOGS)
    assert sorted(log["_id"] for log in logs) == sorted(names)
    assert delivery.stats["sent"] == LOGS
    # The first after 4 builds (1.2 ms), then before each of the 15 left: 16. Before:
    # one a millisecond of the 6 ms, at most 5 (a preempted build: at most a few more).
    assert delivery._attempt.hand_over.handed >= 12
