"""delivery16: the retry budget of a batch during an outage (SPEC 7), findings.

A batch was dropped after 5 attempts whatever their backoffs: 0.5 s doubling, at most
7.5 s of waiting (3.75 s on average). While the API is down the probe is the oldest
retry, which alone spent its 5 attempts and was dropped, though dropping it protects
the API from nothing (the next batch probes instead): a 10 s outage (503 or connection
resets) at 500 logs/s lost its oldest batch (delivery15's finding). Now only failures
whose backoff has its ceiling at the cap (BACKOFF_CAP, 30 s) count against
``max_attempts``: those while it climbs do not, so a batch is tried at most
``max_attempts`` plus the steps below the cap (11 attempts with the defaults), and a dead
API still ends in drops counted, one probe at a time.

Real collector on 127.0.0.1 (tests/support/fake_api.py), and the Batcher alone with a
clock of its own: counts of POSTs and drops, no timed assertions.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from readme_metrics.delivery.batcher import Batcher
from readme_metrics.delivery.encode import array_body
from readme_metrics.delivery.policy import BACKOFF_BASE, BACKOFF_CAP, DOWN_AFTER, MAX_ATTEMPTS
from readme_metrics.delivery.queue import Batch, LogQueue
from tests.support.delivery import (
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    clocked_batcher,
    fail_attempt,
    full_jitter_fixture,  # noqa: F401 - ``full_jitter``
    ids,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
)
from tests.support.fake_api import Collector, Reply, free_port
from tests.support.polling import wait_until

# make_delivery's backoff: 0.01 s doubling to a 0.05 s cap, so the failures after which it
# is 0.01, 0.02 and 0.04 s do not count: 3 more attempts than max_attempts.
BELOW_CAP = 3


def test_failures_while_the_backoff_climbs_do_not_drop_the_batch(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    """7 failures in a row then the API answers: the batch (5 attempts, as by default)
    is delivered at its 8th attempt, not dropped at its 5th."""
    for _ in range(MAX_ATTEMPTS + BELOW_CAP - 1):
        collector.replies.append(Reply(503))
    delivery = make_delivery(collector.url, buffer_length=1)
    delivery.submit(item("a"))

    assert delivery.flush(10.0) is True
    assert ids(collector.logs) == ["a"]
    stats = delivery.stats
    assert len(collector.failed) == MAX_ATTEMPTS + BELOW_CAP - 1
    assert (stats["sent"], stats["dropped"], stats["retries"]) == (
        1, 0, MAX_ATTEMPTS + BELOW_CAP - 1)
    assert adds_up(stats)


def test_a_dead_api_has_the_batch_dropped_after_max_attempts_at_the_cap(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture) -> None:
    """An API that never answers but 503: max_attempts failures at the cap, then the
    batch is dropped, counted, with one warning naming every attempt made. (Taken for
    down after DOWN_AFTER failures, its probes count against max_down_attempts since
    delivery18: 3 here as well, 120 by default.)"""
    collector.default = Reply(503)
    delivery = make_delivery(collector.url, buffer_length=1, max_attempts=3,
                             max_down_attempts=3)
    delivery.submit(item("a"))
    assert delivery.flush(10.0) is False

    stats = delivery.stats
    assert collector.received == []
    assert len(collector.failed) == 3 + BELOW_CAP
    assert stats["dropped_retries_exhausted"] == stats["dropped"] == 1
    assert (stats["retries"], stats["queued"]) == (2 + BELOW_CAP, 0)
    assert adds_up(stats)
    assert len(messages(caplog, logging.WARNING, f"after {3 + BELOW_CAP} attempts")) == 1


def _down_batcher(now: list[float]) -> tuple[LogQueue, Batcher, list[Batch]]:
    """The defaults' backoff; DOWN_AFTER + 2 batches of one log, DOWN_AFTER of them
    failed: the API is down."""
    queue, batcher = clocked_batcher(now, DOWN_AFTER + 2)
    with queue.lock:
        batches = [batcher.take_locked()[0] for _ in range(DOWN_AFTER)]
    assert None not in batches
    failed = [batch for batch in batches if batch is not None]
    for batch in failed:
        fail_attempt(batcher, batch)
    return queue, batcher, failed


def _probe(queue: LogQueue, batcher: Batcher, now: list[float]) -> Any:
    """The next batch a sender takes once the hold is over, and that it is alone."""
    now[0] += BACKOFF_CAP + 1
    with queue.lock:
        probe, _ = batcher.take_locked()
        assert batcher.take_locked()[0] is None  # one probe at a time
    return probe


def test_a_down_api_has_its_probe_dropped_only_after_failures_at_the_cap() -> None:
    """The oldest batch probes a down API; its failures while its backoff climbs to the
    cap (0.5 ... 16 s) do not count: it is dropped at its 11th attempt, not its 5th. The
    next batch then probes: dropped at its 11th too. (Since delivery18 a probe of a
    down API counts against ``max_down``, 120 by default: made 5 here, as
    max_attempts.)"""
    now = [100.0]
    queue, batcher, failed = _down_batcher(now)
    oldest = failed[0]
    attempts = 1
    while True:
        probe = _probe(queue, batcher, now)
        assert probe is oldest
        attempts += 1
        if fail_attempt(batcher, probe, max_down=MAX_ATTEMPTS):
            break
        assert attempts < 20  # bounded
    assert attempts == MAX_ATTEMPTS + 6  # 0.5, 1, 2, 4, 8 and 16 s below the cap

    nxt = failed[1]
    while True:
        probe = _probe(queue, batcher, now)
        assert probe is nxt
        if fail_attempt(batcher, probe, max_down=MAX_ATTEMPTS):
            break
    # Its own attempts count, not the probes before it (delivery17: with a probe every
    # PROBE_CAP at most, counting the failures in a row dropped a 60 s outage's oldest
    # batch): 6 below the cap, 5 at it, as the oldest's.
    assert nxt.attempts == MAX_ATTEMPTS + 6
    stats = queue.stats()
    assert (stats["dropped_retries_exhausted"], stats["failed_batches"]) == (2, 2)
    assert adds_up(stats)


@pytest.mark.usefixtures("full_jitter")
def test_a_retry_due_is_not_held_behind_an_older_one_with_a_longer_backoff() -> None:
    """Review of delivery15: a failed batch waits its own backoff while the others go on,
    but the retries waited in line: an older batch at a 30 s backoff held a younger one
    whose 0.5 s backoff was over (the API working, failures fewer than DOWN_AFTER)."""
    now = [100.0]
    queue, batcher = clocked_batcher(now, 2)
    with queue.lock:
        older, _ = batcher.take_locked()
        younger, _ = batcher.take_locked()
    assert older is not None and younger is not None
    older.attempts = 7  # its backoff at the cap: 30 s
    batcher.retry_later(older, None)
    batcher.health.failures = 0  # a POST was delivered between: the API is not down
    younger.attempts = 1  # 0.5 s
    batcher.retry_later(younger, None)
    now[0] += 1.0
    with queue.lock:
        taken, _ = batcher.take_locked()
    assert taken is younger
    now[0] += BACKOFF_CAP
    with queue.lock:
        assert batcher.take_locked()[0] is older


def test_an_api_taken_for_down_is_said_at_once_not_only_when_a_batch_is_dropped(
        make_delivery: MakeDelivery, caplog: pytest.LogCaptureFixture) -> None:
    """The one warning of a failing API was a batch dropped, after its 5 attempts (about
    4 s with the defaults); with the failures below the cap not counting, that is over a
    minute on, and a newcomer whose collector is not started saw nothing meanwhile. The
    API taken for down (DOWN_AFTER failures in a row) is said at once, with the hint of
    what is wrong, and nothing is dropped for it."""
    port = free_port()  # nothing listens there
    delivery = make_delivery(f"http://127.0.0.1:{port}", buffer_length=1, max_attempts=1000)
    delivery.submit(item("a"))
    wait_until(lambda: messages(caplog, logging.WARNING, "in a row"))

    said = messages(caplog, logging.WARNING, "in a row")
    assert len(said) == 1
    assert f"{DOWN_AFTER} POSTs in a row to http://127.0.0.1:{port}" in said[0]
    assert "ConnectionRefusedError" in said[0] and "nothing listens there" in said[0]
    assert "the logs wait in memory" in said[0]
    stats = delivery.stats
    assert (stats["dropped"], stats["queued"]) == (0, 1)


def test_a_413_ends_a_hold_as_any_answer_does_not_for_the_next_failure_only() -> None:
    """Review of delivery14: a 413 is an answer (the API works) and set the failures in a
    row to 0, but left the hold of the spell before (a Retry-After's, 60 s) in place:
    unread while no failure, it came back with the next one, which held every sender
    till then, not only its own batch. A delivered POST ends the hold; a 413 now too."""
    now = [100.0]
    queue, batcher = clocked_batcher(now, 3, post_logs=2)
    with queue.lock:
        asked, _ = batcher.take_locked()  # log-0 and log-1
        assert asked is not None
    batcher.put(item("log-3"), 0, inline=False)
    batcher.retry_later(asked, 60.0)  # 429, Retry-After: 60: every sender holds
    with queue.lock:
        assert batcher.take_locked()[0] is None
    too_large = asked
    with queue.lock:
        queue.retries.remove(too_large)  # (as if it had been in flight meanwhile)
        queue.in_flight.add(too_large)
    batcher.split(too_large, [(array_body([b'{"_id":"log-0"}']), 1),
                              (array_body([b'{"_id":"log-1"}']), 1)])
    with queue.lock:
        first, _ = batcher.take_locked()
        second, _ = batcher.take_locked()
    assert first is not None and second is not None  # the answer ended the hold
    batcher.retry_later(first, None)  # one failure: its own backoff, no other's
    with queue.lock:
        assert batcher.take_locked()[0] is not None  # log-2 and log-3 go


@pytest.mark.usefixtures("full_jitter")
def test_the_hold_of_a_down_api_grows_with_the_failures_in_a_row_not_one_batchs_attempts(
        ) -> None:
    """Review of delivery15: the hold of every sender, once DOWN_AFTER failures came in a
    row, took the backoff of the batch that failed last if its attempts were more: one
    batch long at odds (7 attempts, a 30 s backoff, which its own retries may well have:
    a load balancer shedding a third of the POSTs) held every sender 30 s at the third
    failure in a row, and the queue filled (503 on 1 POST in 3 at 2,000 logs/s: 565 of
    30,000 dropped as queue_full in one run). That batch waits its own 30 s; the others
    hold for the in-a-row count's 0.5 s."""
    now = [100.0]
    queue, batcher = clocked_batcher(now, DOWN_AFTER + 1)
    with queue.lock:
        batches = [batcher.take_locked()[0] for _ in range(DOWN_AFTER)]
    failed = [batch for batch in batches if batch is not None]
    assert len(failed) == DOWN_AFTER
    failed[-1].attempts = 7  # long at odds: its own backoff is 30 s
    for batch in failed:
        batch.attempts = max(batch.attempts, 1)
        batcher.retry_later(batch, None)
    now[0] += 2 * BACKOFF_BASE
    with queue.lock:
        probe, _ = batcher.take_locked()
    assert probe is failed[0]  # the hold was the in-a-row count's, not 30 s
    assert failed[-1].not_before >= now[0] + BACKOFF_CAP - 2  # its own backoff
