"""readme_metrics.delivery.pacing: the waits of the next POST, as tables (no queue, no
clock: the POSTs in flight are their ``sent_at`` alone)."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any, Optional

import pytest

from readme_metrics.delivery.pacing import post_wait, probe_wait
from readme_metrics.delivery.policy import PROBE_OVERLAP_CAP


def _in_flight(*sent_at: float) -> list[Any]:
    return [SimpleNamespace(sent_at=at) for at in sent_at]


@pytest.mark.parametrize(("now", "last_cut", "answered_began", "sent_at", "wait"), [
    pytest.param(10.0, 10.0, -math.inf, (10.0,), 0.125,
                 id="a-share-of-the-round-trip-after-the-last-cut"),
    pytest.param(10.1, 10.0, -math.inf, (10.0,), 0.025, id="part-of-it-gone-by"),
    pytest.param(12.0, 10.0, -math.inf, (10.0,), -1.875, id="gone-by-it-goes-now"),
    pytest.param(10.0, 10.0, -math.inf, (0.5, 9.0), 5.5,
                 id="the-oldest-waited-past-the-round-trip-as-long-as-that-excess"),
    pytest.param(10.0, 10.0, 1.0, (0.5, 9.0), 0.125,
                 id="begun-before-the-latest-delivered-it-was-lost-not-slowed"),
    pytest.param(10.0, 10.0, -math.inf, (0.0,), 0.125,
                 id="being-encoded-no-post-begun"),
])
def test_post_wait_spreads_the_posts_of_new_logs_over_the_round_trip(
        now: float, last_cut: float, answered_began: float, sent_at: tuple[float, ...],
        wait: float) -> None:
    """An API answering in 4 s, 32 senders: one POST every 4/32 s while the POSTs in
    flight are no older than the round trip (the caller lets one go at 0 or less)."""
    got = post_wait(now, last_cut, 4.0, 32, answered_began, _in_flight(*sent_at))
    assert got == pytest.approx(wait)


@pytest.mark.parametrize(("now", "overlaps", "sent_at", "expected"), [
    pytest.param(101.0, 0, (100.0,), (True, 2.0), id="the-probe-waits-timeout"),
    pytest.param(103.0, 0, (100.0,), (False, None), id="timeout-gone-by-the-next-goes"),
    pytest.param(101.0, 0, (100.0, 0.0), (True, None), id="one-being-encoded"),
    pytest.param(101.0, 0, (90.0, 100.0), (True, 2.0), id="the-youngest-counts"),
    pytest.param(104.0, 1, (100.0,), (True, 2.0), id="one-let-go-twice-timeout"),
    pytest.param(104.0, 2, (100.0,), (True, PROBE_OVERLAP_CAP - 4.0), id="capped"),
    pytest.param(104.0, 40, (100.0,), (True, PROBE_OVERLAP_CAP - 4.0),
                 id="capped-however-many"),
])
def test_probe_wait_holds_the_next_probe_for_the_one_in_flight(
        now: float, overlaps: int, sent_at: tuple[float, ...],
        expected: tuple[bool, Optional[float]]) -> None:
    """``timeout`` 3 s: the next probe goes once every POST in flight waited it, doubled
    for each probe let go so while none was answered, up to PROBE_OVERLAP_CAP."""
    probing, left = probe_wait(now, 3.0, overlaps, _in_flight(*sent_at))
    assert (probing, left if left is None else pytest.approx(left)) == expected
