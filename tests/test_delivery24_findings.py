"""delivery24: a POST taken for lost that was only late (an API answering some POSTs
later than ``timeout``, the others fast) is waited for, not sent again.

The Stretch's rules on given times (no clock); through a Delivery, against the tests'
collector on 127.0.0.1, on both routes (direct and requests).
"""

from __future__ import annotations

import math
import threading
from typing import Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.delivery import Delivery, policy
from readme_metrics.delivery.stretch import QUIET, Stretch
from tests.support.delivery import (
    MakeDelivery,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    ids,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    new_stretch,
)
from tests.support.fake_api import Collector, Reply
from tests.support.polling import wait_until
from tests.support.watchdog_points import GUARD, before_the_first_verdict

# -- the rules, on given times -----------------------------------------------------------


def test_one_post_taken_for_lost_at_a_time_is_waited_longer_until_the_tail_is_known(
        ) -> None:
    """No answer later than ``timeout`` yet: the first POST taken for lost at its bound
    is waited ``grow(timeout)`` (a probe of the tail), the others meanwhile are cut."""
    stretch = new_stretch(3.0)
    assert stretch.spare(3.0, now=10.0) == 6.0
    assert stretch.spare(3.0, now=10.5) is None  # one probe at a time
    assert stretch.lost_wait() == 3.0


def test_a_late_answer_teaches_the_wait_of_every_post_taken_for_lost() -> None:
    """The probe answered in 4 s: every POST taken for lost is waited twice that (8 s),
    the bound of a POST itself untouched (the fast ones keep ``timeout``)."""
    stretch = new_stretch(3.0)
    assert stretch.spare(3.0, now=10.0) == 6.0
    stretch.answered(began=7.0, took=4.0, bound=3.0)
    assert stretch.tail == 4.0 and stretch.seconds == 3.0
    assert stretch.lost_wait() == 8.0
    assert stretch.spare(3.0, now=11.0) == 8.0
    assert stretch.spare(3.0, now=11.1) == 8.0  # as many as are taken for lost
    assert stretch.spare(8.0, now=15.0) is None  # waited that long already


def test_a_post_spared_and_still_unanswered_was_lost_and_ends_the_sparing_for_a_while(
        ) -> None:
    """A dead connection (a load balancer's black hole) spared past its bound and still
    unanswered: the tail is forgotten and no POST is spared for a while, twice
    ``timeout`` the first time and twice as long after each one lost, up to ``QUIET``
    seconds (delivery28: ``QUIET`` at once), so such connections cost one longer wait now
    and then, not one per POST."""
    stretch = new_stretch(3.0)
    stretch.answered(began=0.0, took=4.0, bound=8.0)
    assert stretch.spare(3.0, now=10.0) == 8.0
    now = 15.0
    for quiet in (6.0, 12.0, 24.0, QUIET, QUIET):
        stretch.spared_lost(now=now)
        assert stretch.tail == 0.0 and stretch.lost_wait() == 3.0
        assert stretch.spare(3.0, now=now + quiet - 0.1) is None
        now += quiet
        assert stretch.spare(3.0, now=now) == 6.0


def test_the_post_that_finds_the_api_turning_slower_waits_the_grown_bound_itself() -> None:
    """At ``timeout``, taken for slow (no POST begun after it answered fast): if the
    latest answer already took more than half ``timeout``, the bound grows and that POST
    waits it; after fast answers (a black hole, not a slowdown), or once the bound grew,
    it is cut as before (the cut grows the bound)."""
    stretch = new_stretch(3.0)
    stretch.answered(began=0.0, took=0.05, bound=3.0)
    assert stretch.slowing(3.0, began=1.0) is None and stretch.seconds == 3.0
    stretch.answered(began=2.0, took=2.0, bound=3.0)
    assert stretch.slowing(3.0, began=3.0) == 6.0 and stretch.seconds == 6.0
    assert stretch.slowing(6.0, began=3.0) is None


@settings(max_examples=200, deadline=None)
@given(timeout=st.floats(0.1, 40.0),
       events=st.lists(st.tuples(st.sampled_from(["answer", "spare", "lost"]),
                                 st.floats(0.0, 60.0)), max_size=30))
def test_the_wait_of_a_post_taken_for_lost_stays_between_timeout_and_the_cap(
        timeout: float, events: list[tuple[str, float]]) -> None:
    """Whatever the answers and losses, a POST taken for lost is waited at least
    ``timeout`` and at most the cap (``timeout`` itself above it), and a spare is
    always longer than the bound it was asked at."""
    stretch = new_stretch(timeout)
    cap = max(timeout, policy.TIMEOUT_CAP)
    now = 0.0
    for kind, seconds in events:
        now += 1.0
        if kind == "answer":
            stretch.answered(began=now - seconds, took=seconds, bound=timeout)
        elif kind == "spare":
            wait = stretch.spare(max(timeout, seconds), now)
            assert wait is None or max(timeout, seconds) < wait <= cap
        else:
            stretch.spared_lost(now)
        assert timeout <= stretch.lost_wait() <= cap
        assert not math.isnan(stretch.lost_wait())


# -- through a Delivery ------------------------------------------------------------------


def _then_one_fast(delivery: Delivery, collector: Collector, first: Reply,
                   name: str) -> dict[str, int]:
    """A log ``name`` whose POST the collector answers as ``first`` says, then, while it
    is in flight, a log "fast" answered at once; flushed; the stats."""
    collector.default = first
    assert delivery.submit(item(name))
    wait_until(lambda: collector.in_flight == 1)
    collector.default = Reply()
    assert delivery.submit(item("fast"))
    assert delivery.flush(10.0), delivery.stats
    return delivery.stats


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "requests"])
def test_a_post_answered_later_than_timeout_while_others_are_fast_goes_once(
        make_delivery: MakeDelivery, direct: bool) -> None:
    """The API answers one POST in 1.5 s (``timeout`` 1 s) and a POST begun after it at
    once. The first was taken for lost (a POST begun after it was answered fast), cut at
    1 s and sent again, the API had read it: its log reached ReadMe twice (2,318 of
    20,000 logs twice at 1,000 logs/s with 1 POST in 5 answered in 4 s, delivery24).
    Now it is waited for: answered once, no retry, and the tail is learned."""
    collector = Collector().start()
    try:
        delivery = make_delivery(collector.url, buffer_length=1, timeout=1.0, direct=direct)
        # read (counted) now, answered 1.5 s later
        stats = _then_one_fast(delivery, collector, Reply(delay=1.5), "late")
        assert sorted(ids(collector.logs)) == ["fast", "late"], ids(collector.logs)
        assert (stats["sent"], stats["retries"], stats["dropped"]) == (2, 0, 0), stats
        assert delivery._attempt._bound.tail >= 1.5
    finally:
        collector.stop()


def test_an_api_turning_slower_than_timeout_has_no_post_sent_twice(
        make_delivery: MakeDelivery, monkeypatch: pytest.MonkeyPatch) -> None:
    """The API answers in 1.05 s, then later than ``timeout`` (2 s), as an API slowing
    down gradually does. The first POST past 1 s was cut at it and sent again, the API
    had read it: twice (the 405 logs of one POST, an API slowing from 50 ms to 5 s over
    15 s in benchmarks/delivery_hunt.py ramp). Now it waits the grown bound (4 s)
    itself. The collector answers the second POST once the watchdog reached it at its
    bound and grew the bound, the watchdog held there until the answer's head came (so
    its next deadline cuts nothing): an order, not a 1.5 s reply the watchdog had to
    beat (flaky49: starved at a load of 35, it reached the POST after that answer, and
    the bound stayed 1 s; nothing was sent twice: the test below). ``timeout`` 2 s, not
    1 s: the first answer must come within it (0.7 s of 1 s came later at a load of
    28, the bound grew at that POST, and the second one's was no longer ``timeout``)."""
    collector = Collector().start()
    gate, answered = threading.Event(), threading.Event()
    real = Stretch.slowing

    def slowing(stretch: Stretch, bound: float, began: float) -> Optional[float]:
        grown = real(stretch, bound, began)
        if grown is not None and not gate.is_set():
            gate.set()  # the collector answers the POST the watchdog spares
            answered.wait(GUARD)  # (the watchdog's lock held: no cut meanwhile)
        return grown

    try:
        delivery = make_delivery(collector.url, buffer_length=1, timeout=2.0)
        collector.default = Reply(delay=1.05)  # more than half of timeout, every time
        assert delivery.submit(item("slowish"))
        assert delivery.flush(20.0), delivery.stats
        monkeypatch.setattr(Stretch, "slowing", slowing)
        before_the_first_verdict(monkeypatch, answered.set)
        collector.default = Reply(gate=gate)  # read (counted) now, answered at the cut
        assert delivery.submit(item("late"))
        assert delivery.flush(20.0), delivery.stats
        stats = delivery.stats
        assert gate.is_set() and answered.is_set()
        assert sorted(ids(collector.logs)) == ["late", "slowish"], ids(collector.logs)
        assert (stats["sent"], stats["retries"], stats["dropped"]) == (2, 0, 0), stats
        assert delivery._attempt.stretch == 4.0
    finally:
        gate.set()
        collector.stop()


def test_an_answer_the_watchdog_was_too_late_to_cut_leaves_the_next_post_to_slowing(
        ) -> None:
    """A watchdog starved past the answer (CI91: the 1.5 s answer of a POST bounded to
    1 s came before it reached the POST): nothing was cut, so nothing goes twice, and
    the bound stays ``timeout`` (only a POST reaching its bound grows it). The next POST
    reaching its bound is taken for the API turning slower (that answer took more than
    half ``timeout``): it grows the bound and waits it itself, not cut and sent again."""
    stretch = new_stretch(1.0)
    stretch.answered(began=10.0, took=0.7, bound=1.0)
    assert stretch.answered(began=11.0, took=1.5, bound=1.0)  # a slowdown said
    assert stretch.seconds == 1.0 and stretch.tail == 1.5
    assert stretch.slow(13.0)
    assert stretch.slowing(1.0, began=13.0) == 2.0
    assert stretch.seconds == 2.0


def test_a_post_spared_on_a_dead_connection_still_goes_again(
        make_delivery: MakeDelivery) -> None:
    """At-least-once stays: a POST taken for lost and spared that never gets its answer
    (a black-holed connection) is cut at its longer wait and sent again, delivered; no
    POST is spared for a while after."""
    collector = Collector().start()
    never = threading.Event()
    try:
        delivery = make_delivery(collector.url, buffer_length=1, timeout=1.0)
        # (a 2xx counts on arrival)
        stats = _then_one_fast(delivery, collector, Reply(503, gate=never), "lost")
        assert sorted(ids(collector.logs)) == ["fast", "lost"]
        assert (stats["sent"], stats["retries"], stats["dropped"]) == (2, 1, 0), stats
        bound = delivery._attempt._bound
        assert bound.tail == 0.0 and not bound.probing and bound.quiet_until > 0
    finally:
        never.set()
        collector.stop()
