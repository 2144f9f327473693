"""delivery28: the leftovers of delivery27 and review95's delivery hunt.

``Stretch.answered``'s read-then-write of ``late_began`` and ``recovered``, split by a
late answer reported by another sender, left ``recovered`` before ``late_began``: driven
here on two threads paused at the split (no sleeps: a trace stops one at the write). A
POST taken for lost was held twice the API's average answer time, uncapped (50 s
against an API answering in 25 s).
"""

from __future__ import annotations

import linecache
import math
import sys
import threading
import time
from types import FrameType
from typing import Any, Callable, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery import Delivery, policy, watchdog
from readme_metrics.delivery.stretch import QUIET, SPARED_CREDIT, Stretch
from tests.support.delivery import (
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    build_id,
    ids,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    new_stretch,
)
from tests.support.fake_api import Collector, Reply
from tests.support.polling import wait_until
from tests.test_delivery27_findings import _Conn

#: A guard against a hang, not a synchronisation: every wait below is ended by an event.
GUARD = 30.0


class _Signalling:
    """A lock that says when a thread asks for it (then takes it as a lock does)."""

    def __init__(self, asked: threading.Event) -> None:
        self._lock = threading.Lock()
        self._asked = asked

    def __enter__(self) -> bool:
        self._asked.set()
        return self._lock.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()

    def acquire(self, *args: Any) -> bool:
        self._asked.set()
        return self._lock.acquire(*args)

    def release(self) -> None:
        self._lock.release()


def _paused_at(source: str, reached: threading.Event, go_on: threading.Event,
               call: Callable[[], object]) -> threading.Thread:
    """A thread that runs ``call()`` and stops just before the line of stretch.py that
    reads ``source`` until ``go_on`` is set (``reached`` set as it stops)."""
    stretch_file = sys.modules[Stretch.__module__].__file__

    def local(frame: FrameType, event: str, arg: object) -> Optional[Callable[..., Any]]:
        if (event == "line" and frame.f_code.co_filename == stretch_file
                and linecache.getline(stretch_file or "", frame.f_lineno).strip() == source
                and not reached.is_set()):
            reached.set()
            go_on.wait(GUARD)
        return local

    def tracer(frame: FrameType, event: str, arg: object) -> Optional[Callable[..., Any]]:
        return local if frame.f_code.co_filename == stretch_file else None

    def run() -> None:
        sys.settrace(tracer)
        try:
            call()
        finally:
            sys.settrace(None)

    return threading.Thread(target=run, daemon=True)


def test_a_late_answer_between_a_fast_answers_read_and_write_leaves_no_recovery() -> None:
    """``timeout`` 3: a POST begun at 10 answered late (8 s), then two answers come on
    two senders at once: one begun at 12 answered at once, one begun at 14 answered late
    (the API slow again). Either order alone leaves no recovery (the latest late answer
    began after the fast one). The fast one read ``late_began`` (10), then the late one
    was counted whole (``late_began`` 14), then the fast one wrote its begin time:
    ``recovered`` 12, before the latest late answer, as if the API had recovered for
    the POSTs begun after 12, and every POST begun before it and taken for lost would
    be held as read while slow (``cut_lost``). Its late answers with a stretched bound
    then neither grew the bound nor taught the tail until one begun after 14 came.
    Now the late answer waits for the fast one's (one lock), and none is left."""
    stretch = new_stretch(timeout=3.0)
    stretch.answered(10.0, 8.0, 6.0)
    assert (stretch.late_began, stretch.recovery()) == (10.0, math.inf)
    moved = threading.Event()  # the late answer was counted, or asked for the lock
    if "_lock" in Stretch.__slots__:
        stretch._lock = _Signalling(moved)  # type: ignore[assignment]
    reached, go_on = threading.Event(), threading.Event()
    fast = _paused_at("self.recovered = began", reached, go_on,
                      lambda: stretch.answered(12.0, 0.05, 6.0))
    fast.start()
    assert reached.wait(GUARD)  # the fast answer read late_began (10): about to write
    moved.clear()  # (the fast answer's own ask)

    def late() -> None:
        stretch.answered(14.0, 8.0, 6.0)
        moved.set()

    late_thread = threading.Thread(target=late, daemon=True)
    late_thread.start()
    # The late answer is counted whole (no lock: main), or waits for the lock the paused
    # fast answer holds (it asked for it): either way nothing else is to happen first.
    assert moved.wait(GUARD)
    go_on.set()
    fast.join(GUARD)
    late_thread.join(GUARD)
    assert not fast.is_alive() and not late_thread.is_alive()
    assert stretch.late_began == 14.0
    assert stretch.recovery() == math.inf, stretch.recovery()


# -- the hold of a POST taken for lost: never past the longest bound ------------------------


def _unposted(timeout: float) -> Delivery:
    """A Delivery with that ``timeout`` that posts nothing here (no log submitted)."""
    return Delivery(MetricsApiConfig(api_key="rdme_delivery28", timeout=timeout,
                                     grouping_function=lambda r: None,
                                     metrics_api="http://127.0.0.1:9"), build_id)


@settings(max_examples=60, deadline=None)
@given(timeout=st.floats(0.1, 60.0), answers=st.lists(st.floats(0.0, 120.0), min_size=1,
                                                     max_size=8))
def test_a_post_taken_for_lost_is_held_no_longer_than_the_longest_bound(
        timeout: float, answers: list[float]) -> None:
    """Whatever the API's answer times, a POST taken for lost is waited ``timeout`` at
    least and ``LOST_CAP`` at most (30 s, the longest bound before delivery29, or ``timeout`` above
    it), as any POST is. Twice the average answer time was uncapped: an API answering
    in about 25 s had such a POST held 50 s (``Attempt._lost_after``, given to
    ``watchdog.cut_lost``)."""
    delivery = _unposted(timeout)
    try:
        for took in answers:
            delivery._batcher.staffing.observe(post_s=took)
        waited = delivery._attempt._lost_after()
        assert timeout <= waited <= max(timeout, policy.LOST_CAP), (
            waited, delivery._batcher.staffing.post_s)
    finally:
        delivery.close()


def test_an_api_answering_in_25_s_holds_a_post_taken_for_lost_30_s_at_most() -> None:
    """On the watchdog, a POST on a connection that never answers, begun before the
    recovery of an API whose answers took 25 s on average (``timeout`` 3): taken for
    lost, it is held to its begin time plus 30 s, not 50."""
    delivery = _unposted(3.0)
    stretch = delivery._attempt._bound
    conn = _Conn()
    try:
        delivery._batcher.staffing.observe(post_s=25.0)
        with watchdog.limit(3.0, conn, stretch) as limit:
            watchdog.cut_lost(stretch, time.monotonic() + 1.0,
                              delivery._attempt._lost_after(), limit.began + 1.0)
            assert limit.held
            assert limit.deadline == pytest.approx(limit.began + policy.LOST_CAP)
            watchdog.release(stretch)
    finally:
        conn.close()
        delivery.close()


# -- late and dead POSTs at once: the sparing outlives a dead one after late ones ------------


def test_a_spared_post_answered_late_lets_the_sparing_outlive_one_lost() -> None:
    """On given times (``timeout`` 3): a probe spared and answered in 4 s teaches the
    tail and earns one credit; the next spared POST lost (a dead connection) spends it,
    the tail kept (every POST taken for lost still waited 8 s), where before it ended the
    sparing for 30 s and the late POSTs were cut at 3 s and sent again (``late-and-dead``:
    2,255 logs of 40,000 twice). The one lost after it, no credit left, ends the sparing
    for twice ``timeout``; a spared POST answered again brings that back to 6 s."""
    stretch = new_stretch(timeout=3.0)
    assert stretch.spare(3.0, now=10.0) == 6.0
    stretch.spared_answered()
    stretch.answered(began=7.0, took=4.0, bound=3.0)
    assert (stretch.tail, stretch.credit) == (4.0, 1)
    assert stretch.spare(3.0, now=11.0) == 8.0
    stretch.spared_lost(now=19.0)
    assert (stretch.tail, stretch.credit) == (4.0, 0)
    assert stretch.spare(3.0, now=19.5) == 8.0
    stretch.spared_lost(now=27.5)
    assert (stretch.tail, stretch.credit) == (0.0, 0)
    assert stretch.spare(3.0, now=33.4) is None
    assert stretch.spare(3.0, now=33.5) == 6.0
    stretch.spared_lost(now=39.5)
    assert stretch.quiet_for == 24.0  # (12 s now)
    stretch.spared_answered()
    assert stretch.quiet_for == 6.0


@settings(max_examples=200, deadline=None)
@given(timeout=st.floats(0.1, 40.0),
       events=st.lists(st.sampled_from(["answered", "lost", "late", "fast"]), max_size=60))
def test_the_credit_and_the_quiet_stay_bounded(timeout: float, events: list[str]) -> None:
    """Whatever the order of spared POSTs answered and lost and of answers: the credit
    stays within 0 and ``SPARED_CREDIT``, the quiet within twice ``timeout`` (at most
    ``QUIET``) and ``QUIET``, and no spare is asked while quiet."""
    stretch = new_stretch(timeout)
    first = min(QUIET, policy.next_timeout(timeout, timeout))
    now = 0.0
    for kind in events:
        now += 1.0
        if kind == "answered":
            stretch.spared_answered()
        elif kind == "lost":
            stretch.spared_lost(now)
        else:
            took = timeout * (2.0 if kind == "late" else 0.01)
            stretch.answered(began=now - took, took=took, bound=timeout)
        assert 0 <= stretch.credit <= SPARED_CREDIT
        assert first <= stretch.quiet_for <= max(first, QUIET)
        if now < stretch.quiet_until and not stretch.tail:
            assert stretch.spare(timeout, now) is None


def _taken_for_lost(delivery: Delivery, collector: Collector, name: str,
                   reply: Reply) -> list[str]:
    """A log ``name`` whose POST the collector answers as ``reply`` says, and while it is
    in flight, logs answered at once (more than twice the logs in flight: a sender
    starts for them), which have it taken for lost; their names."""
    in_flight = collector.in_flight
    collector.default = reply
    assert delivery.submit(item(name))
    wait_until(lambda: collector.in_flight == in_flight + 1)
    collector.default = Reply()
    fast = [f"fast-{name}-{k}" for k in range(2 * (in_flight + 1) + 1)]
    for log in fast:
        assert delivery.submit(item(log))
    wait_until(lambda: set(fast) <= set(ids(collector.logs)))
    return fast


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "requests"])
def test_a_late_post_after_a_dead_one_spared_goes_once(make_delivery: MakeDelivery,
                                                        direct: bool) -> None:
    """``timeout`` 1 s, one log per POST, each taken for lost (POSTs begun after it
    answered at once): "late-0" answered in 1.6 s (the probe: the tail is 1.6 s, its
    wait 3.2 s), then "dead" never answered (spared 3.2 s, then cut and sent again),
    then "late-1" answered in 1.6 s. "dead" ended the sparing for 30 s: "late-1" was cut
    at 1 s and sent again, the API had read it (twice on main; ``late-and-dead``: 2,255
    logs of 40,000). Now the late answer before it lets the sparing outlive "dead":
    "late-1" is waited for and goes once; "dead" still goes again (retries 1)."""
    collector = Collector().start()
    never = threading.Event()
    try:
        delivery = make_delivery(collector.url, buffer_length=1, timeout=1.0, direct=direct)
        fast = _taken_for_lost(delivery, collector, "late-0", Reply(delay=1.6))
        wait_until(lambda: delivery.stats["sent"] == len(fast) + 1)
        assert delivery._attempt._bound.tail >= 1.6
        fast += _taken_for_lost(delivery, collector, "dead", Reply(503, gate=never))
        # (cut at 3.2 s, sent again, answered at once)
        wait_until(lambda: delivery.stats["sent"] == len(fast) + 2, timeout=10.0)
        fast += _taken_for_lost(delivery, collector, "late-1", Reply(delay=1.6))
        assert delivery.flush(10.0), delivery.stats
        stats = delivery.stats
        assert sorted(ids(collector.logs)) == sorted(["dead", "late-0", "late-1"] + fast), (
            ids(collector.logs))
        assert (stats["sent"], stats["retries"], stats["dropped"]) == (
            len(fast) + 3, 1, 0), stats
        assert adds_up(stats)
    finally:
        never.set()
        collector.stop()
