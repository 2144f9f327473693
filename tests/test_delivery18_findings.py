"""delivery18: a Metrics API slower than ``timeout``, and outages past the retry budget.

An API answering later than ``timeout`` (3 s by default; 4 s, 8 s) had every POST cut at
``timeout`` and retried with the same bound until the batch was dropped: nothing counted
as delivered, the API read each log up to 11 times, and the only word was the "3 POSTs
in a row failed (Timeout ...)" warning. Now an attempt that timed out is tried again
waiting twice as long (up to ``TIMEOUT_CAP``, 60 s; 30 s before delivery29), and once
an answer came later than ``timeout`` every POST waits that long, with one warning
naming README_TIMEOUT.

An outage longer than a batch's retry budget (11 attempts over its own backoffs) dropped
the oldest batch 48 to 110 s in, with the queue far from full: the probes of an API
taken for down spent their batches' budget. They spend none now: an outage loses logs
only at the queue's bounds (``dropped_queue_full``).

The hold between two probes of a dead API is jittered: 100 processes taken down at the
same instant do not probe it in step.

Real collector on 127.0.0.1 (tests/support/fake_api.py), and the Batcher alone with a
clock of its own: counts of POSTs and drops, no timed assertions.
"""

from __future__ import annotations

import logging
from collections import Counter

import pytest

from readme_metrics.delivery import policy
from readme_metrics.delivery.policy import (
    DOWN_AFTER,
    MAX_ATTEMPTS,
    MAX_DOWN_ATTEMPTS,
    PROBE_CAP,
    TIMEOUT_CAP,
)
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
    put_log,
    take_batch,
)
from tests.support.fake_api import Collector, Reply

# -- an API slower than timeout ----------------------------------------------------------


def test_the_bound_of_an_attempt_after_a_timeout_doubles_up_to_the_cap() -> None:
    """3, 6, 12, 24, 48, 60, 60 s with the defaults (30 s at most before delivery29); a
    ``timeout`` above the cap stays."""
    bounds = [3.0]
    for _ in range(6):
        bounds.append(policy.next_timeout(bounds[-1], 3.0))
    assert bounds == [3.0, 6.0, 12.0, 24.0, 48.0, TIMEOUT_CAP, TIMEOUT_CAP]
    assert TIMEOUT_CAP == 60.0
    assert policy.next_timeout(75.0, 75.0) == 75.0
    assert policy.next_timeout(40.0, 1.0) == TIMEOUT_CAP


def test_a_read_timeout_is_a_timeout_and_a_connect_timeout_is_not() -> None:
    """What the retry's longer bound is for: no answer in time (the API may be slow),
    not a connection never made (a longer wait there helps nothing)."""
    import requests

    assert policy.outcome_of_error(requests.Timeout("no complete answer")).timed_out
    assert policy.outcome_of_error(requests.exceptions.ReadTimeout("read")).timed_out
    assert not policy.outcome_of_error(requests.exceptions.ConnectTimeout("x")).timed_out
    assert not policy.outcome_of_error(requests.ConnectionError("refused")).timed_out


def test_an_api_slower_than_timeout_gets_every_log_and_one_warning_naming_it(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture) -> None:
    """The API answers each POST 0.5 s after reading it; ``timeout`` is 0.2 s. Before,
    every attempt was cut at 0.2 s and the batch dropped after its attempts (the API
    read every one of them): flush() False, nothing counted as sent. Now the retries
    wait 0.4, 0.8 s: delivered, and the POSTs after it wait that long from the first
    attempt (one POST each), with one warning naming README_TIMEOUT."""
    collector.default = Reply(delay=0.5)
    delivery = make_delivery(collector.url, buffer_length=2, timeout=0.2,
                             shutdown_timeout=10.0)
    delivery.submit(item("a-1"))
    delivery.submit(item("a-2"))
    assert delivery.flush(10.0) is True
    retries = delivery.stats["retries"]
    assert retries >= 1  # the first was cut at 0.2 s (the API read it: it has it twice)

    for name in ("b-1", "b-2", "c-1", "c-2"):
        delivery.submit(item(name))
    assert delivery.flush(10.0) is True
    assert delivery.stats["retries"] == retries  # each at its first attempt now
    assert set(ids(collector.logs)) == {"a-1", "a-2", "b-1", "b-2", "c-1", "c-2"}
    stats = delivery.stats
    assert (stats["sent"], stats["dropped"]) == (6, 0)
    assert adds_up(stats)
    said = messages(caplog, logging.WARNING, "README_TIMEOUT")
    assert len([m for m in said if "later than timeout" in m]) == 1, said


def test_posts_timing_out_in_a_row_are_said_once_naming_readme_timeout(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture) -> None:
    """An API answering in 1 s, ``timeout`` 0.1 s: the bounds 0.1, 0.2, 0.4 and 0.8 s all
    time out (at least 4 failures in a row before any answer), so the API is taken for
    down: that warning says what the retries do and names README_TIMEOUT (it named
    neither for a loopback URL before); the 1.6 s bound then gets every log through."""
    collector.default = Reply(delay=1.0)
    delivery = make_delivery(collector.url, buffer_length=1, timeout=0.1,
                             shutdown_timeout=30.0)
    delivery.submit(item("a"))
    assert delivery.flush(30.0) is True
    assert ids(collector.logs)[-1:] == ["a"]
    down = messages(caplog, logging.WARNING, "in a row")
    assert len(down) == 1 and "README_TIMEOUT" in down[0], down
    assert "tried again waiting twice as long" in down[0]


def test_once_the_api_is_fast_again_the_bound_comes_back_to_timeout(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    """The bound stretched for a slow API halves at each answer within half of it, down
    to ``timeout``: a POST to an API that turned slow again is cut at ``timeout``."""
    collector.default = Reply(delay=0.5)
    delivery = make_delivery(collector.url, buffer_length=1, timeout=0.2,
                             shutdown_timeout=10.0)
    delivery.submit(item("slow"))
    assert delivery.flush(10.0) is True
    stretched = delivery._attempt.stretch
    assert stretched > 0.2
    collector.default = Reply()
    for n in range(8):
        delivery.submit(item(f"fast-{n}"))
        assert delivery.flush(10.0) is True
    assert delivery._attempt.stretch == 0.2


def test_a_post_cut_at_a_flushs_deadline_does_not_stretch_the_bound(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    """flush(0.2) in inline mode cuts a POST to an API answering in 0.5 s at its
    deadline: that says nothing of the API against ``timeout`` (3 s), which stays the
    bound (close() at its deadline alike)."""
    collector.default = Reply(delay=0.5)
    delivery = make_delivery(collector.url, buffer_length=10, timeout=3.0,
                             background_worker_mode=False)
    delivery.submit(item("a"))
    assert delivery.flush(0.2) is False
    assert delivery._attempt.stretch == 3.0  # (an answer in 0.5 s would halve a 6 back)
    assert delivery.flush(10.0) is True
    assert "a" in ids(collector.logs)


# -- an outage longer than the retry budget ------------------------------------------------


def _outage(now: list[float], seconds: float, logs_per_second: float,
            **queue_options: int) -> tuple[dict[str, int], int]:
    """A dead API for ``seconds`` on the fake clock, ``logs_per_second`` queued, every
    POST failing: (the queue's stats, the most POSTs in flight at once)."""
    queue, batcher = clocked_batcher(now, **queue_options)
    end = now[0] + seconds
    next_log = now[0]
    made = 0
    most = 0
    while now[0] < end:
        while next_log <= now[0]:
            put_log(batcher, f"log-{made}")
            made += 1
            next_log += 1 / logs_per_second
        with queue.lock:
            batch, wait = batcher.take_locked()
        if batch is None:
            step = next_log - now[0] if wait is None else min(wait, next_log - now[0])
            now[0] += max(step, 1e-3)
            continue
        most = max(most, len(queue.in_flight))
        now[0] += 0.01  # the POST's round trip
        fail_attempt(batcher, batch)
    return queue.stats(), most


@pytest.mark.usefixtures("full_jitter")
@pytest.mark.parametrize("seconds", [120.0, 300.0])
def test_an_outage_past_the_retry_budget_drops_no_batch_for_its_attempts(
        seconds: float) -> None:
    """A dead API for 120 s, then 300 s, 1 log/s: before, the oldest batch was dropped
    after its 11 attempts (48 to 110 s in: 75 s with every backoff at its ceiling), and
    the next ones in turn, the queue far from full. Now a probe's failure spends nothing:
    every log still waits, and one POST at a time went."""
    now = [100.0]
    stats, most = _outage(now, seconds, 1.0)
    assert stats["dropped_retries_exhausted"] == 0
    assert stats["dropped"] == 0
    assert stats["queued"] == stats["captured"] >= seconds
    assert most == 1


@pytest.mark.usefixtures("full_jitter")
def test_an_outage_loses_logs_at_the_queues_bound_only() -> None:
    """With room for 50 logs, a 300 s outage at 1 log/s keeps the first 50 and counts
    the rest as dropped_queue_full: the bound, not the budget, sets the loss."""
    now = [100.0]
    stats, _ = _outage(now, 300.0, 1.0, max_size=50)
    assert stats["queued"] == 50
    assert stats["dropped"] == stats["dropped_queue_full"] == stats["captured"] - 50


@pytest.mark.usefixtures("full_jitter")
def test_a_batch_the_api_fails_alone_still_spends_its_budget() -> None:
    """The budget is still there for what it is for: a batch the API refuses (5xx)
    while it answers the others is dropped after its 11 attempts."""
    now = [100.0]
    queue, batcher = clocked_batcher(now, 1)
    poison = take_batch(queue, batcher)
    assert poison is not None
    attempts = 1
    dropped = fail_attempt(batcher, poison)
    while not dropped:
        now[0] = max(now[0], poison.not_before) + 0.01
        assert take_batch(queue, batcher) is poison
        put_log(batcher, f"ok-{attempts}")
        good = take_batch(queue, batcher)
        assert good is not None and good is not poison
        batcher.settle(good, None)  # the API answers the others
        attempts += 1
        dropped = fail_attempt(batcher, poison)
        assert not batcher.health.down
    assert attempts == MAX_ATTEMPTS + 6  # 0.5 to 16 s do not count: 11 attempts
    assert queue.stats()["dropped_retries_exhausted"] == 1


# -- a dead API's load -----------------------------------------------------------------------


def test_a_hundred_processes_down_at_once_do_not_probe_in_step() -> None:
    """100 processes (a Batcher each, with the library's own jitter) see the API fail at
    the same instant and probe it while it stays dead, 120 s on the fake clock: past
    the first holds, their probes spread over the seconds (4 in a tenth of a second on
    average, never a hundred in step; a forked child draws its own jitter:
    test_own_random's fork test, the same generator), and
    each process sends about one POST per 2.5 s (PROBE_CAP / 2), not more."""
    probes: Counter[int] = Counter()
    per_process = []
    for _ in range(100):
        now = [0.0]
        queue, batcher = clocked_batcher(now, DOWN_AFTER + 40)
        sent = 0
        while now[0] < 120.0:
            with queue.lock:
                batch, wait = batcher.take_locked()
            if batch is None:
                now[0] += max(wait if wait is not None else 1.0, 1e-3)
                continue
            sent += 1
            if sent > DOWN_AFTER and now[0] >= 5.0:  # past the first holds (0.5 to 4 s)
                probes[int(now[0] * 10)] += 1
            fail_attempt(batcher, batch)
        per_process.append(sent)
    # 4 a tenth of a second on average; a hundred in step would be 100 in one.
    assert max(probes.values()) < 40, probes.most_common(3)
    average = sum(per_process) / len(per_process)
    assert 120.0 / PROBE_CAP < average < 120.0 / (PROBE_CAP / 4)


@pytest.mark.usefixtures("full_jitter")
def test_a_dead_api_still_has_a_batch_dropped_after_its_probes_budget() -> None:
    """Retries stay bounded (SPEC 7): the oldest batch probing a dead API is dropped at
    MAX_DOWN_ATTEMPTS failures at the cap, an hour in with every backoff at 30 s."""
    now = [100.0]
    queue, batcher = clocked_batcher(now, DOWN_AFTER)
    failed = [take_batch(queue, batcher) for _ in range(DOWN_AFTER)]
    for batch in failed:
        assert batch is not None
        fail_attempt(batcher, batch)
    oldest = failed[0]
    assert oldest is not None and batcher.health.down
    began = now[0]
    while True:
        now[0] = max(now[0], oldest.not_before)
        probe = take_batch(queue, batcher)
        assert probe is oldest
        assert take_batch(queue, batcher) is None  # one probe at a time
        if fail_attempt(batcher, probe):
            break
    assert oldest.attempts == 6 + MAX_DOWN_ATTEMPTS  # 0.5 to 16 s below the cap
    assert 3600 <= now[0] - began <= 3700
    assert queue.stats()["dropped_retries_exhausted"] == 1
