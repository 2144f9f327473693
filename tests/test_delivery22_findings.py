"""delivery22: the probes of an API taken for down while other POSTs were in flight, and
the pacing that follows a black hole.

The Batcher on a fake clock where it can (no sleep is an assertion).
"""

from __future__ import annotations

import logging

import pytest

from readme_metrics.delivery import policy
from readme_metrics.delivery.batcher import Batcher
from readme_metrics.delivery.queue import LogQueue
from tests.support.delivery import (
    MakeDelivery,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    fail_attempt,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
    put_log,
    take_batch,
)
from tests.support.fake_api import Collector, Reply
from tests.test_delivery20_findings import _next_probe_after

# -- (c) the probes' doubling counts only probes let go -----------------------------


def _down_with_posts_in_flight(now: list[float], hung: int) -> tuple[LogQueue, Batcher]:
    """``hung`` POSTs in flight (begun before the API failed, never answered), then the
    API taken for down (3 failures in a row, ``timeout`` 3 s), the hold over (past the
    hung POSTs' ``timeout``) and a first probe in flight, unanswered."""
    queue = LogQueue(batch_size=1, interval=0.0, max_size=1000, max_bytes=10**7)
    batcher = Batcher(queue, clock=lambda: now[0], probe_after=3.0)
    for n in range(hung):
        put_log(batcher, f"hung-{n}")
        batch = take_batch(queue, batcher)
        assert batch is not None
        batch.sent_at = now[0]
    failing = []
    for n in range(policy.DOWN_AFTER):
        put_log(batcher, f"failed-{n}")
        batch = take_batch(queue, batcher)
        assert batch is not None
        batch.sent_at = now[0]
        failing.append(batch)
    for batch in failing:
        fail_attempt(batcher, batch)
    assert batcher.health.down and len(queue.in_flight) == hung
    now[0] += 3.5  # the hung POSTs have waited past timeout: they hold no probe back
    batcher.health.hold_until = min(batcher.health.hold_until, now[0])
    for batch in queue.retries:  # (their own backoffs are jittered: all due now)
        batch.not_before = now[0]
    probe = take_batch(queue, batcher)
    assert probe is not None
    probe.sent_at = now[0]
    return queue, batcher


def test_the_first_probe_is_no_overlap_when_other_posts_were_in_flight() -> None:
    """The probes' wait doubles with each probe let go while the one before was
    unanswered: 3, 6, 10, 10 s. A POST in flight since before the API was taken for down
    (a sender's, held on a dead connection) is no probe: the first probe let go beside
    it counted as an overlap, and the second probe waited 6 s, not 3 (the doubling one
    step early: 6, 10, 10, 10)."""
    now = [100.0]
    queue, batcher = _down_with_posts_in_flight(now, hung=2)
    assert batcher.health.overlaps == 0
    waits = [_next_probe_after(queue, batcher, now) for _ in range(4)]
    assert waits == [3.0, 6.0, policy.PROBE_OVERLAP_CAP, policy.PROBE_OVERLAP_CAP]


def test_without_posts_in_flight_the_doubling_is_as_before() -> None:
    """The same with no POST in flight when the API was taken for down."""
    now = [100.0]
    queue, batcher = _down_with_posts_in_flight(now, hung=0)
    waits = [_next_probe_after(queue, batcher, now) for _ in range(4)]
    assert waits == [3.0, 6.0, policy.PROBE_OVERLAP_CAP, policy.PROBE_OVERLAP_CAP]


# -- (a) a POST cut at its bound says nothing of the API's answer time --------------


def test_a_post_cut_at_its_bound_does_not_feed_the_answer_time(
        make_delivery: MakeDelivery) -> None:
    """``post_s``, the API's average answer time, spaces the POSTs of new logs
    (``post_s / 32`` apart) and sizes the senders. A POST the API never answered (a
    black hole, cut at its bound) fed its bound into it as an answer time: after a
    20 s black hole at 1,000 logs/s it was 4.6 s when the API came back (50 ms
    answers), the POSTs of new logs 0.14 s apart, over 20 POSTs to come back down. Now
    only an answer (any status) feeds it."""
    collector = Collector().start()
    try:
        delivery = make_delivery(collector.url, buffer_length=1, timeout=0.5)
        staffing = delivery._batcher.staffing
        assert delivery.submit(item("answered"))
        collector.wait_for_logs(1)
        assert delivery.flush(10)
        answered = staffing.post_s
        assert answered > 0.0
        collector.replies.append(Reply(hang=3.0))  # taken, never answered in time
        assert delivery.submit(item("black-holed"))
        collector.wait_for_logs(2)  # its retry (answered: not a first attempt's time)
        assert delivery.flush(10)
        assert (delivery.stats["sent"], delivery.stats["retries"]) == (2, 1)
        assert staffing.post_s == answered
    finally:
        collector.stop()


# -- the slowdown's warning: an answer time that reads as later than timeout -----------


def test_the_slow_answer_warning_shows_a_time_later_than_timeout(
        make_delivery: MakeDelivery, caplog: pytest.LogCaptureFixture) -> None:
    """An API answering a shade after ``timeout`` (3.04 s, ``timeout`` 3 s) was said to
    have "answered a POST in 3.0s, later than timeout (README_TIMEOUT) of 3s" (seen in
    delivery22's hunt, an API answering in 3 s): enough digits now that it reads later."""
    collector = Collector().start()
    try:
        delivery = make_delivery(collector.url)
        delivery._attempt._answered_in(0.0, 3.04, 3.0)
    finally:
        collector.stop()
    said = messages(caplog, logging.WARNING, "later than timeout")
    assert len(said) == 1 and "answered a POST in 3.04s, later than timeout" in said[0], said
