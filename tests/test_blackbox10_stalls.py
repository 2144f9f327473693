"""blackbox10: the freezes the watchdog thread's lateness shows (delivery/stalls.py).

A wake-up later than asked by more than STALL_MIN is a freeze, recorded once; the time
a POST took leaves out the freezes within it, and only those. A clock moved forward
(a test's) moves no wake-up: nothing is taken for a freeze. Hypothesis draws the
freezes and the POST's span."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from readme_metrics.delivery import stalls


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    stalls.clear()
    yield
    stalls.clear()


def test_a_late_wake_up_is_a_freeze_said_once() -> None:
    stalls.waiting(100.0)
    assert stalls.noticed(100.0 + stalls.STALL_MIN) is None  # late, not frozen
    assert stalls.noticed(102.0) == (100.0, 102.0)
    assert stalls.noticed(102.1) is None  # the same freeze is not seen twice
    assert stalls.within(99.0, 103.0) == pytest.approx(2.0)
    assert stalls.within(101.5, 103.0) == pytest.approx(0.5)
    assert stalls.within(102.0, 103.0) == 0.0


def test_no_post_in_flight_sees_no_freeze() -> None:
    stalls.waiting(math.inf)
    assert stalls.noticed(1e9) is None
    assert stalls.within(0.0, 1e9) == 0.0


@given(st.lists(st.tuples(st.floats(0.3, 50.0), st.floats(0.0, 5.0)), max_size=10),
       st.floats(0.0, 300.0), st.floats(0.0, 300.0))
def test_a_post_loses_only_the_freezes_within_it(
        freezes: list[tuple[float, float]], began: float, length: float) -> None:
    stalls.clear()
    now, seen = 0.0, []
    for frozen, gap in freezes:
        now += gap
        stalls.waiting(now)
        stall = stalls.noticed(now + frozen)
        assert stall == (now, now + frozen)
        seen.append(stall)
        now += frozen
    end = began + length
    expected = sum(max(0.0, min(e, end) - max(s, began)) for s, e in seen[-16:])
    assert stalls.within(began, end) == pytest.approx(expected, abs=1e-6)
    assert 0.0 <= stalls.within(began, end) <= length + 1e-9
