"""cpu45 (issue 11): while requests come in, a sender still building after its batch's
first hand-over lets the GIL go every quarter millisecond, not every millisecond.

cpu32's hand-over lets a waiting thread have the GIL once a sender has built for a
millisecond. A request thread that runs Python without blocking (bench.py's in-process
loop, a CPU-bound request) gets it back from a sender only by force, a switch interval
later, and then waits for the sender's whole turn. So after a hand-over during which
logs were queued (a request thread ran), the sender's next turn is a quarter
millisecond. A batch built while nothing is queued (a flush's or an idle app's backlog)
keeps the millisecond: there the senders would hand the GIL to each other, and the
quarter for every backlog cost more CPU a request than it saved (docs/PERFORMANCE.md,
cpu45). A batch of ``buffer_length`` small logs builds well within the first millisecond
and never hands over (cpu35's test).

A real Delivery posts a batch of :data:`LOGS` builds of 0.3 ms each (a spin on the wall
clock: a preemption does not make a build longer) to the loopback collector. Counts,
not times: the first hand-over comes before the fifth log (1.2 ms built); then, with a
log submitted during each build (as a request thread would), one before each later log
(failed before: one a millisecond, at most 5 for the batch's 6 ms); with none, one a
millisecond still (failed with the quarter for every batch: 16).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

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


@pytest.mark.parametrize(("requests_come", "at_least", "at_most"), [
    pytest.param(True, 12, LOGS, id="requests-come-quarter-turns"),
    pytest.param(False, 1, 7, id="backlog-alone-keeps-the-millisecond"),
])
def test_a_long_batch_hands_over_each_quarter_millisecond_while_requests_come(
        make_delivery: MakeDelivery, collector: Collector, requests_come: bool,
        at_least: int, at_most: int) -> None:
    assert HAND_OVER_AGAIN_S < BUILD_S < HAND_OVER_S
    extra: list[str] = []
    delivery: Any = None

    def slow_build(pending: Any) -> dict:
        log = build_id(pending)
        if log["_id"].startswith("extra-"):
            return log  # (built at once: a batch of its own, within the millisecond)
        if requests_come:  # a request thread's log, queued during this build
            extra.append(f"extra-{len(extra)}")
            assert delivery.submit(item(extra[-1]))
        end = time.perf_counter() + BUILD_S
        while time.perf_counter() < end:
            pass
        return log

    delivery = make_delivery(collector.url, slow_build, buffer_length=LOGS,
                             flush_interval=60, max_queue_size=10_000)
    names = [f"log-{number}" for number in range(LOGS)]
    for name in names:
        assert delivery.submit(item(name))
    assert delivery.flush(30)
    assert delivery.flush(30)  # (the logs queued during the first flush's builds)
    logs = collector.wait_for_logs(LOGS + len(extra))
    assert sorted(log["_id"] for log in logs) == sorted(names + extra)
    assert delivery.stats["sent"] == LOGS + len(extra)
    # With logs queued: the first after 4 builds (1.2 ms), then before each of the 15
    # left, 16 (before: one a millisecond of the 6 ms, at most 5). Without: one a
    # millisecond, 4 or 5.
    assert at_least <= delivery._attempt.hand_over.handed <= at_most
