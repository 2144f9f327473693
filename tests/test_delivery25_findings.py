"""delivery25: the learned tail follows the API's recent answers (review88 #1), and the
first POST to an API slower than ``timeout`` from the start is waited for, not sent twice.

First the rules of :class:`~readme_metrics.delivery.stretch.Stretch` stepped through on
given times; then a Delivery posting to the tests' collector on 127.0.0.1.
"""

from __future__ import annotations

import itertools
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.delivery.stretch import TAIL_ANSWERS
from tests.support.delivery import (
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    ids,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    new_stretch,
)
from tests.support.fake_api import Collector, Received, Reply

# -- the rules, on given times -----------------------------------------------------------


def test_the_tail_is_forgotten_after_a_round_of_answers_within_timeout() -> None:
    """An API slow for a while (8 s, ``timeout`` 3 s) then fast: its late answers taught
    a tail of 8 s, every POST taken for lost waited 16 s (review88: the flush after the
    load 19 to 22 s, not 3). ``TAIL_ANSWERS`` answers in a row within ``timeout`` forget
    it; the next POST taken for lost probes it again (``grow(timeout)``)."""
    stretch = new_stretch(3.0)
    stretch.answered(began=0.0, took=8.0, bound=12.0)
    assert stretch.lost_wait() == 16.0
    for n in range(TAIL_ANSWERS - 1):
        stretch.answered(began=10.0 + n, took=0.05, bound=3.0)
    assert stretch.lost_wait() == 16.0  # one short of the round
    stretch.answered(began=50.0, took=0.05, bound=3.0)
    assert stretch.tail == 0.0 and stretch.lost_wait() == 3.0
    assert stretch.spare(3.0, now=60.0) == 6.0  # a probe, one at a time
    assert stretch.spare(3.0, now=60.1) is None


def test_a_late_answer_within_the_round_keeps_the_tail() -> None:
    """An API answering 1 POST in 5 late (delivery_hunt sometimes-slow) never has a round
    of answers in time: its tail stays, every late POST taken for lost waited."""
    stretch = new_stretch(3.0)
    for n in range(10 * TAIL_ANSWERS):
        stretch.answered(began=float(n), took=4.0 if n % 5 == 0 else 0.05, bound=3.0)
        assert stretch.lost_wait() == 8.0


@settings(max_examples=200, deadline=None)
@given(timeout=st.floats(0.1, 10.0),
       runs=st.lists(st.tuples(st.floats(0.0, 40.0), st.integers(1, TAIL_ANSWERS + 8)),
                     max_size=12))
def test_the_tail_is_the_longest_late_answer_since_the_last_round_in_time(
        timeout: float, runs: list[tuple[float, int]]) -> None:
    """Whatever the answers (runs of one answer time): the tail is the longest one
    later than ``timeout`` after the last ``TAIL_ANSWERS`` in a row within it (0.0:
    none), as a list of them says."""
    answers = [took for took, times in runs for _ in range(times)]
    stretch = new_stretch(timeout)
    start = 0  # where the answers the tail is taken from begin
    for n, took in enumerate(answers):
        stretch.answered(began=float(n), took=took, bound=timeout)
        last_round = answers[max(0, n + 1 - TAIL_ANSWERS):n + 1]
        if len(last_round) == TAIL_ANSWERS and max(last_round) <= timeout:
            start = n + 1
        late = [took for took in answers[start:n + 1] if took > timeout]
        assert stretch.tail == (max(late) if late else 0.0)


def test_the_first_post_before_any_answer_waits_the_grown_bound_itself() -> None:
    """No answer yet (nothing tells a slow API from a dead connection): the first POST
    cut at ``timeout`` grows the bound and waits it itself, as the POSTs in flight with
    it do. After fast answers (a black hole, not a slow API) it is cut as before."""
    stretch = new_stretch(3.0)
    assert stretch.slowing(3.0, began=0.0) == 6.0 and stretch.seconds == 6.0
    assert stretch.slowing(6.0, began=0.0) is None  # once grown, cut at it
    fast = new_stretch(3.0)
    fast.answered(began=0.0, took=0.05, bound=3.0)
    assert fast.slowing(3.0, began=1.0) is None and fast.seconds == 3.0


# -- through a Delivery ------------------------------------------------------------------


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "requests"])
def test_the_first_post_to_an_api_slower_than_timeout_goes_once(
        make_delivery: MakeDelivery, direct: bool) -> None:
    """The API answers every POST in 1.5 s (``timeout`` 1 s) from the start. The first
    POST had no answer time to go by: cut at 1 s and sent again, the API had read it:
    twice (the 10 logs of the first POST at 2,000 logs/s against an API answering in
    4 s, ``bench.py --only sustained --sustained 2000@4.0``). Now it waits the grown
    bound (2 s) itself: answered once, no retry."""
    collector = Collector().start()
    try:
        delivery = make_delivery(collector.url, buffer_length=1, timeout=1.0, direct=direct)
        collector.default = Reply(delay=1.5)  # read (counted) now, answered 1.5 s later
        assert delivery.submit(item("first"))
        assert delivery.flush(10.0), delivery.stats
        stats = delivery.stats
        assert ids(collector.logs) == ["first"], ids(collector.logs)
        assert (stats["sent"], stats["retries"], stats["dropped"]) == (1, 0, 0), stats
        assert delivery._attempt.stretch == 2.0
    finally:
        collector.stop()


def test_a_first_post_on_a_dead_connection_still_goes_again(
        make_delivery: MakeDelivery) -> None:
    """At-least-once stays: a first POST that never gets its answer (a black-holed
    connection) waits the grown bound, is cut and sent again, delivered."""
    collector = Collector().start()
    never = threading.Event()
    posts = itertools.count()

    def judge(received: Received) -> Reply:  # (a 2xx counts on arrival: a 503 hung)
        return Reply(503, gate=never) if next(posts) == 0 else Reply()

    collector.judge = judge
    try:
        delivery = make_delivery(collector.url, buffer_length=1, timeout=0.3)
        assert delivery.submit(item("first"))
        assert delivery.flush(10.0), delivery.stats
        stats = delivery.stats
        assert ids(collector.logs) == ["first"], ids(collector.logs)
        assert (stats["sent"], stats["retries"], stats["dropped"]) == (1, 1, 0), stats
        assert adds_up(stats), stats
    finally:
        never.set()
        collector.stop()


def test_the_tail_of_an_api_slow_for_a_while_is_forgotten_once_it_answers_in_time(
        make_delivery: MakeDelivery) -> None:
    """A POST answered late (1.5 s, ``timeout`` 1 s) while others were fast teaches the
    tail; ``TAIL_ANSWERS`` POSTs answered at once after it forget it: a POST taken for
    lost then waits ``timeout`` (or a probe's ``grow(timeout)``), not twice the old tail
    (review88: 16 s per POST black-holed after an API slow in 8 s for 10 s)."""
    collector = Collector().start()
    try:
        delivery = make_delivery(collector.url, buffer_length=1, timeout=1.0)
        collector.default = Reply(delay=1.5)
        assert delivery.submit(item("late"))
        assert delivery.flush(10.0), delivery.stats
        bound = delivery._attempt._bound
        assert bound.tail >= 1.5 and bound.lost_wait() >= 3.0
        collector.default = Reply()
        for n in range(TAIL_ANSWERS):
            assert delivery.submit(item(f"fast-{n}"))
            assert delivery.flush(10.0), delivery.stats
        assert bound.tail == 0.0 and bound.lost_wait() == 1.0
        stats = delivery.stats
        assert len(set(ids(collector.logs))) == stats["sent"] == TAIL_ANSWERS + 1, stats
    finally:
        collector.stop()
