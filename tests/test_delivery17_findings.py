"""delivery17: delivery once the Metrics API is back after an outage (SPEC 7), findings.

After an outage the backlog drained slowly (17 to 24 s once the API was back, measured
by delivery16): while down, the hold between two probes grew to the backoff cap (30 s,
so the first probe after the API came back was up to 30 s away, 10 s on average), and
a probe's success ended the hold but left each batch held for a retry to wait out its
own backoff, up to 30 s more. The hold between probes is now capped at ``PROBE_CAP``
(5 s), the probe's success releases every held batch at once (at most one POST per
sender), and the retry budget counts a batch's own attempts only, so probing more often
does not drop a batch sooner.

A 413 lowered the bytes a POST carries for the life of the process: it is raised again,
doubling every ``RAISE_POST_BYTES_AFTER`` POSTs delivered. A Retry-After held every
sender, but then let all of them go at once, where the docs said one probe at a time.

Real collector on 127.0.0.1 (tests/support/fake_api.py), and the Batcher alone with a
clock of its own: counts of POSTs and drops, no timed assertions.
"""

from __future__ import annotations

import functools
import logging

import pytest

from readme_metrics.delivery import health as health_module
from readme_metrics.delivery import policy
from readme_metrics.delivery.encode import array_body
from readme_metrics.delivery.policy import (
    BACKOFF_CAP,
    DOWN_AFTER,
    MAX_ATTEMPTS,
    MAX_POST_BYTES,
    RAISE_POST_BYTES_AFTER,
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
from tests.support.fake_api import Collector, Received, Reply
from tests.support.polling import wait_until

# -- the drain once the API is back ------------------------------------------------------


@pytest.mark.usefixtures("full_jitter")
def test_the_probe_that_succeeds_releases_every_batch_held_for_a_retry() -> None:
    """Three batches failed (the API down), each its own backoff at the cap (30 s); the
    next probe is delivered: the three are due at once, not 30 s on, one POST each."""
    now = [100.0]
    queue, batcher = clocked_batcher(now, DOWN_AFTER + 1)
    failed = [take_batch(queue, batcher) for _ in range(DOWN_AFTER)]
    for batch in failed:
        assert batch is not None
        batch.attempts = 6  # its backoff after the next failure: 30 s
        fail_attempt(batcher, batch)
    now[0] += BACKOFF_CAP / 2  # past the hold, not past their own backoffs
    probe = take_batch(queue, batcher)
    assert probe is not None and probe not in failed  # the log that came meanwhile
    assert take_batch(queue, batcher) is None  # one probe at a time
    batcher.settle(probe, None)

    released = [take_batch(queue, batcher) for _ in range(DOWN_AFTER)]
    assert released == failed  # all at once, oldest first
    assert queue.retries == []
    for batch in released:
        assert batch is not None
        batcher.settle(batch, None)
    stats = queue.stats()
    assert (stats["sent"], stats["queued"], stats["dropped"]) == (DOWN_AFTER + 1, 0, 0)


@pytest.mark.usefixtures("full_jitter")
def test_after_an_outage_the_backlog_goes_once_a_probe_succeeds(
        collector: Collector, make_delivery: MakeDelivery,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Every batch's own backoff is 60 s; the API fails DOWN_AFTER POSTs, then answers:
    the next log probes it (the hold between probes is PROBE_CAP's, made 0.05 s here),
    and its delivery brings the three held batches with it, not 60 s on."""
    monkeypatch.setattr(health_module, "PROBE_CAP", 0.05, raising=False)
    for _ in range(DOWN_AFTER):
        collector.replies.append(Reply(503))
    delivery = make_delivery(collector.url, buffer_length=2, backoff_base=60.0,
                             backoff_cap=60.0)
    names = [f"log-{n}" for n in range(2 * DOWN_AFTER)]
    for number, pair in enumerate(zip(names[::2], names[1::2]), 1):
        for name in pair:
            delivery.submit(item(name))
        wait_until(lambda: len(collector.failed) == number)  # noqa: B023 - in the loop
    # (the last failure's retry is scheduled: the API is taken for down)
    wait_until(lambda: len(messages(caplog, logging.DEBUG, "retrying in")) == DOWN_AFTER)
    delivery.submit(item("probe-a"))
    delivery.submit(item("probe-b"))

    assert delivery.flush(10.0) is True
    assert sorted(ids(collector.logs)) == sorted([*names, "probe-a", "probe-b"])
    assert [len(batch) for batch in collector.batches] == [2] * (DOWN_AFTER + 1)
    stats = delivery.stats
    assert (stats["sent"], stats["dropped"], stats["retries"]) == (8, 0, DOWN_AFTER)
    assert adds_up(stats)


@pytest.mark.usefixtures("full_jitter")
def test_the_ceilings_of_a_batchs_backoff_and_of_the_hold_between_probes() -> None:
    """One rule each, in one place (policy.spends_attempt, policy.hold_step). A batch's
    own backoff after each of its failures: 0.5 s doubling to 30 s, the failures at 30 s
    counting, dropped at its 11th attempt (as before). The hold of every sender while the
    API is down: 0.5 s doubling from the DOWN_AFTER-th failure in a row, at most 5 s (30
    before: the first probe after the API came back was up to 30 s away)."""
    now = [100.0]
    queue, batcher = clocked_batcher(now, 1)
    batch = take_batch(queue, batcher)
    assert batch is not None
    own = []
    while True:
        batcher.health.failures = 0  # a POST delivered between: only its own backoff counts
        if fail_attempt(batcher, batch):
            break
        own.append(batch.not_before - now[0])
        now[0] = batch.not_before
        assert take_batch(queue, batcher) is batch
    assert own == [0.5, 1, 2, 4, 8, 16, 30, 30, 30, 30]
    assert batch.attempts == MAX_ATTEMPTS + 6

    queue, batcher = clocked_batcher(now, 20)
    holds = []
    for _ in range(12):  # each log probes once (its own backoff keeps it back after)
        probe = take_batch(queue, batcher)
        assert probe is not None
        fail_attempt(batcher, probe)
        if batcher.health.failures >= DOWN_AFTER:
            holds.append(batcher.health.hold_until - now[0])
            now[0] = batcher.health.hold_until
    assert holds == [0.5, 1, 2, 4, 5, 5, 5, 5, 5, 5]


def test_a_60_s_outage_at_a_low_rate_loses_no_log(monkeypatch: pytest.MonkeyPatch) -> None:
    """Probing every 5 s at most, each probe a failure in a row: had those counted
    against the budget (delivery16's rule, the hold's exponent at the cap), the oldest
    batch was dropped within the minute. Its own attempts count: one log a second for a
    60 s outage (each jitter drawn at its mean), then every log goes."""
    monkeypatch.setattr(health_module, "backoff_delay",
                        functools.partial(policy.backoff_delay, rand=lambda: 0.5))
    now = [100.0]
    queue, batcher = clocked_batcher(now, 0)
    logs = 0
    while now[0] < 160:
        if now[0] >= 100 + logs:
            put_log(batcher, f"log-{logs}")
            logs += 1
        probe = take_batch(queue, batcher)
        if probe is not None:
            assert not fail_attempt(batcher, probe), f"dropped at {now[0] - 100:.1f} s"
        now[0] += 0.05
    assert max(batch.attempts for batch in queue.retries) >= 9  # probed often
    now[0] = max(now[0], batcher.health.hold_until)  # the API is back: the next log probes
    put_log(batcher, "after")
    probe = take_batch(queue, batcher)
    assert probe is not None
    batcher.settle(probe, None)
    while (batch := take_batch(queue, batcher)) is not None:
        batcher.settle(batch, None)
    stats = queue.stats()
    assert (stats["sent"], stats["dropped"], stats["queued"]) == (logs + 1, 0, 0)


# -- Retry-After ---------------------------------------------------------------------------


def test_after_a_retry_after_one_post_at_a_time_probes_the_api() -> None:
    """A 429 with Retry-After: 2 to the first POST: every sender held 2 s, then every
    sender went at once (16 POSTs to an API that asked to be left alone); the docs said
    one POST at a time probes it until one succeeds, as after DOWN_AFTER failures."""
    now = [100.0]
    queue, batcher = clocked_batcher(now, 5)
    first = take_batch(queue, batcher)
    assert first is not None
    fail_attempt(batcher, first, retry_after=2.0)
    assert take_batch(queue, batcher) is None  # held
    now[0] += 2.5
    probe = take_batch(queue, batcher)
    assert probe is first
    assert take_batch(queue, batcher) is None  # one probe at a time
    batcher.settle(probe, None)
    assert take_batch(queue, batcher) is not None  # answered: the others go
    assert take_batch(queue, batcher) is not None


def test_an_hours_retry_after_holds_its_batch_an_hour_the_others_a_minute() -> None:
    """A 503 with Retry-After: 3600 (a proxy's mistake, or meant): every sender held an
    hour while the queue filled and dropped every later log. The batch it answered
    waits the hour; the others hold RETRY_AFTER_HOLD, then one probe at a time, and
    once the API answers they go, the asked batch still not before its hour."""
    now = [100.0]
    queue, batcher = clocked_batcher(now, 4)
    asked = take_batch(queue, batcher)
    assert asked is not None
    fail_attempt(batcher, asked, retry_after=3600.0)
    now[0] += 59.0
    assert take_batch(queue, batcher) is None  # every sender holds the first minute
    now[0] += 2.0
    probe = take_batch(queue, batcher)
    assert probe is not None and probe is not asked
    assert take_batch(queue, batcher) is None  # one probe at a time
    batcher.settle(probe, None)  # the API answers
    rest = [take_batch(queue, batcher), take_batch(queue, batcher)]
    assert None not in rest and asked not in rest
    assert take_batch(queue, batcher) is None  # the asked batch waits its hour
    now[0] = asked.not_before
    assert asked.not_before >= 100.0 + 3600.0
    assert take_batch(queue, batcher) is asked


def test_an_hours_retry_after_stops_only_its_batch(
        collector: Collector, make_delivery: MakeDelivery,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Against the real collector (RETRY_AFTER_HOLD made 0.05 s): the batch answered
    "Retry-After: 3600" waits, the next logs are delivered, the close gives the asked
    batch up (its hour is past shutdown_timeout) and counts it."""
    monkeypatch.setattr(health_module, "RETRY_AFTER_HOLD", 0.05, raising=False)
    collector.replies.append(Reply(503, headers={"Retry-After": "3600"}))
    delivery = make_delivery(collector.url, buffer_length=2)
    delivery.submit(item("a"))
    delivery.submit(item("b"))
    wait_until(lambda: len(collector.failed) == 1)
    for name in ("c", "d", "e", "f"):
        delivery.submit(item(name))

    assert sorted(ids(collector.wait_for_logs(4))) == ["c", "d", "e", "f"]
    delivery.close()
    stats = delivery.stats
    assert (stats["sent"], stats["dropped_shutdown"], stats["retries"]) == (4, 2, 0)
    assert len(collector.failed) == 1  # "a" and "b" never sent again before their hour
    assert adds_up(stats)


def test_a_retry_after_of_0_holds_no_other_sender() -> None:
    """429 with Retry-After: 0: a failure like any other, the batch waits its own
    backoff and the other batches go on."""
    now = [100.0]
    queue, batcher = clocked_batcher(now, 3)
    first = take_batch(queue, batcher)
    assert first is not None
    fail_attempt(batcher, first, retry_after=0.0)
    assert take_batch(queue, batcher) is not None
    assert take_batch(queue, batcher) is not None


# -- the bytes of a POST after a 413 -------------------------------------------------------


def test_the_bytes_of_a_post_lowered_by_a_413_are_raised_again() -> None:
    """A 413 to a POST of two logs of 100 bytes: every later POST carried one log (100
    bytes at most) for the life of the process. After RAISE_POST_BYTES_AFTER POSTs
    delivered the cap doubles, and so on up to MAX_POST_BYTES."""
    now = [100.0]
    queue, batcher = clocked_batcher(now, 2, post_logs=2)
    refused = take_batch(queue, batcher)
    assert refused is not None and refused.count == 2
    both = refused.nbytes
    batcher.split(refused, [(array_body([b'{"_id":"log-0"}']), 1),
                            (array_body([b'{"_id":"log-1"}']), 1)])
    assert queue.max_post_bytes < both
    for part in (take_batch(queue, batcher), take_batch(queue, batcher)):
        assert part is not None
        batcher.settle(part, None)
    counts = []
    for n in range(2, 2 + 30 * RAISE_POST_BYTES_AFTER):
        put_log(batcher, f"log-{n}")
        put_log(batcher, f"log-{n}b")
        while (batch := take_batch(queue, batcher)) is not None:
            counts.append(batch.count)
            batcher.settle(batch, None)
        if queue.max_post_bytes == MAX_POST_BYTES:
            break
    # One log a POST (the 413's cap) until RAISE_POST_BYTES_AFTER were delivered (the
    # halves the first two), then the cap doubled: both logs in one POST.
    assert counts[:RAISE_POST_BYTES_AFTER - 2] == [1] * (RAISE_POST_BYTES_AFTER - 2)
    assert counts[-1] == 2
    assert queue.max_post_bytes == MAX_POST_BYTES


def test_a_413_at_a_raised_cap_is_sent_in_halves_again(
        collector: Collector, make_delivery: MakeDelivery,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """An API that really takes at most 2 logs a POST: the raised cap meets its 413
    again, the POST goes in halves, nothing is lost, and the warning is not repeated."""
    monkeypatch.setattr("readme_metrics.delivery.queue.RAISE_POST_BYTES_AFTER", 2,
                        raising=False)

    def judge(received: Received) -> Reply:
        return Reply(413) if len(received.json()) > 2 else Reply(202)

    collector.judge = judge
    delivery = make_delivery(collector.url, buffer_length=4)
    names = [f"log-{n:02d}" for n in range(16)]
    for start in range(0, 16, 4):
        for name in names[start:start + 4]:
            delivery.submit(item(name, b"x" * 100))
        assert delivery.flush(10.0) is True
    assert sorted(ids(collector.logs)) == names
    assert all(len(batch) <= 2 for batch in collector.batches)
    assert len(collector.failed) >= 2  # the first 413, and one at a raised cap
    # Said once, not once a minute for as long as the limit stays.
    assert len(messages(caplog, logging.WARNING, "too large (HTTP 413")) == 1
    stats = delivery.stats
    assert (stats["sent"], stats["dropped"]) == (16, 0)
    assert adds_up(stats)


def test_a_batch_answered_503_and_413_in_turn_ends_counted_in_bounded_posts(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    """Adversarial read of the retry budget (no defect): every POST answered 503 and 413
    in turn. Each 413 splits (its halves start a budget of their own, and the answer
    ends the failures in a row, so the API is never taken for down), but the halving
    ends at single logs, which a 413 rejects: 8 logs take 2 POSTs per batch of the
    split tree (15 batches) at most, and every log is counted."""
    posts: list[int] = []

    def judge(received: Received) -> Reply:
        posts.append(len(received.json()))
        return Reply(503) if len(posts) % 2 else Reply(413)

    collector.judge = judge
    delivery = make_delivery(collector.url, buffer_length=8)
    for n in range(8):
        delivery.submit(item(f"log-{n}", b"x" * 100))
    assert delivery.flush(20.0) is False

    stats = delivery.stats
    assert (stats["dropped_rejected"], stats["dropped"], stats["queued"]) == (8, 8, 0)
    assert len(posts) <= 2 * (2 * 8 - 1)
    assert collector.logs == []
    assert adds_up(stats)
