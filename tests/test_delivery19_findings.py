"""delivery19: delivery against a slow Metrics API, and the stretched bound's leftovers.

- At 2,000 logs/s to an API answering in 4 s, 1,377 of 20,000 logs were dropped with the
  queue full (benchmarks/bench.py). Not the senders' count (32 instead of 16 dropped as
  many): every sender took the few logs due as soon as it was free, so they were all
  held at once in POSTs of a few logs (32 POSTs of 186 on average), the logs behind them
  waited a whole round trip, and those waiting and in flight outgrew ``max_queue_size``.
  Now a POST of new logs waits the API's round trip over ``max_senders`` after the one
  before it (unless the logs waiting fill a POST): the POSTs spread over the round trip.
- The stretched bound (review69's leftovers): a POST lost on a black-holed connection
  while the others were answered at once grew it all the same; only a 2xx halved it; a
  second slowdown within the minute of the first warning went unsaid.

The Batcher and the Stretch on a fake clock: counts, no timed assertions.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math

import pytest

from readme_metrics.delivery import batcher as batcher_module
from readme_metrics.delivery import policy
from readme_metrics.delivery.batcher import Batcher
from readme_metrics.delivery.queue import LogQueue
from readme_metrics.delivery.stretch import Stretch
from tests.support.delivery import (
    MakeDelivery,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    fail_attempt,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
    take_batch,
)
from tests.support.fake_api import Collector, Reply

# -- a steady load against a slow API ----------------------------------------------------


def _sustained(rate: int, latency: float, seconds: float = 10.0,
               senders: int = policy.MAX_SENDERS, max_size: int = 10_000) -> dict[str, int]:
    """``rate`` logs a second for ``seconds`` on the fake clock (1 ms steps), the defaults'
    buffer_length, ``senders`` senders each taking the next batch due as soon as it is
    free, every POST answered ``latency`` s after it began: the queue's counters once all
    is settled."""
    now = [0.0]
    queue = LogQueue(batch_size=10, interval=0.0, max_size=max_size, max_bytes=10**9)
    batcher = Batcher(queue, max_senders=senders, clock=lambda: now[0])
    answers: list = []
    order = itertools.count()
    per_step = rate // 1000
    for step in range(int((seconds + 10 * latency + 10) * 1000)):
        now[0] = step / 1000
        if now[0] < seconds:
            for n in range(per_step):
                log = item(f"log-{step}-{n}")
                batcher.put(log, log.nbytes, inline=False)
        while answers and answers[0][0] <= now[0]:
            batch = heapq.heappop(answers)[2]
            batcher.staffing.observe(post_s=latency)
            batcher.settle(batch, None)
        while len(queue.in_flight) < senders:
            batch = take_batch(queue, batcher)
            if batch is None:
                break
            batch.sent_at = now[0]
            heapq.heappush(answers, (now[0] + latency, next(order), batch))
        if now[0] >= seconds and not queue.in_flight and len(queue.items) < 10:
            break  # (what is left waits for flush_interval, 0 here: for ever)
    return {**queue.counts, "waiting": len(queue.items), "posts": next(order)}


@pytest.mark.parametrize(("rate", "latency"), [(2000, 4.0), (2000, 1.0), (1000, 0.25),
                                               (2000, 0.05)])
def test_a_steady_load_to_a_slow_api_is_delivered_whole(rate: int, latency: float) -> None:
    """Before, at 2,000/s to the 4 s API, every sender took a POST of about ten logs
    within 0.2 s and held it 4 s; the logs behind them waited as long, and 10,000 logs
    waiting and in flight filled the queue (dropped_queue_full). Now each POST of new
    logs waits a round trip over max_senders after the one before it: all delivered."""
    counts = _sustained(rate, latency)
    assert counts["dropped_queue_full"] == 0, counts
    assert counts["sent"] + counts["waiting"] == rate * 10


def test_posts_of_new_logs_are_spaced_by_the_round_trip_over_the_senders() -> None:
    """With a POST in flight to an API answering in 3.2 s, the next batch due waits
    3.2 s / max_senders after the last one was cut; a POST's worth at the caps goes at
    once; with no POST in flight, none waits."""
    now = [100.0]
    queue = LogQueue(batch_size=1, interval=0.0, max_size=10_000, max_bytes=10**9,
                     max_post_logs=50)
    batcher = Batcher(queue, max_senders=16, clock=lambda: now[0])
    batcher.staffing.observe(post_s=3.2)
    spacing = 3.2 / 16

    def put(count: int) -> None:
        for n in range(count):
            log = item(f"log-{now[0]}-{n}")
            batcher.put(log, log.nbytes, inline=False)

    put(1)
    first = take_batch(queue, batcher)
    assert first is not None  # nothing in flight before it
    first.sent_at = now[0]
    put(3)
    with queue.lock:
        batch, wait = batcher.take_locked()
    assert batch is None and wait == pytest.approx(spacing)
    now[0] += spacing
    second = take_batch(queue, batcher)
    assert second is not None and second.count == 3
    put(50)  # a POST at the caps
    third = take_batch(queue, batcher)
    assert third is not None and third.count == 50
    put(2)
    with queue.lock:
        assert batcher.take_locked()[0] is None  # (within the spacing again)
        queue.add_waiter_locked()  # a flush() waits for what is queued: no spacing
    fourth = take_batch(queue, batcher)
    assert fourth is not None and fourth.count == 2
    for batch in (first, second, third, fourth):
        batcher.settle(batch, None)
    put(1)  # none in flight: no wait
    assert take_batch(queue, batcher) is not None


def test_an_api_turned_slow_is_paced_before_its_first_answer() -> None:
    """No POST answered yet (``post_s`` unknown): a POST of new logs cut while the
    oldest in flight had waited 2 s has the next one wait 2 s more: the POSTs in flight
    double at most per round trip, however many senders are idle."""
    now = [100.0]
    queue = LogQueue(batch_size=1, interval=0.0, max_size=10_000, max_bytes=10**9)
    batcher = Batcher(queue, max_senders=16, clock=lambda: now[0])

    def put(name: str) -> None:
        log = item(name)
        batcher.put(log, log.nbytes, inline=False)

    put("a")
    first = take_batch(queue, batcher)
    assert first is not None
    first.sent_at = 100.0
    now[0] = 102.0
    put("b")
    second = take_batch(queue, batcher)  # the first cut after the oldest began: at once
    assert second is not None
    second.sent_at = 102.0
    put("c")
    with queue.lock:
        batch, wait = batcher.take_locked()
    assert batch is None and wait == pytest.approx(2.0)
    now[0] = 104.0
    assert take_batch(queue, batcher) is not None


def test_without_pacing_the_steady_load_to_the_slow_api_drops_logs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The same load with every POST of new logs taken as soon as it is due (before):
    logs dropped with the queue full, and several times the POSTs."""
    paced = _sustained(2000, 4.0)
    monkeypatch.setattr(batcher_module, "post_wait", lambda *args: 0.0)
    unpaced = _sustained(2000, 4.0)
    assert unpaced["dropped_queue_full"] > 0, unpaced
    assert paced["posts"] < unpaced["posts"]


# -- the stretched bound ----------------------------------------------------------------


def _stretch(timeout: float = 3.0) -> Stretch:
    from functools import partial

    return Stretch(timeout, partial(policy.next_timeout, timeout=timeout))


def _flapping(seconds: float, timeout: float = 0.2, every: float = 0.05,
              answer: float = 0.01) -> Stretch:
    """An API that black-holes every other POST and answers the others in ``answer`` s,
    a POST every ``every`` s for ``seconds`` on the fake clock; each POST in flight
    follows the bound as it grows and is cut at it, as the watchdog does."""
    stretch = _stretch(timeout)
    events: list = []  # (when, order, kind, began, bound)
    order = itertools.count()
    posts = int(seconds / every)
    for n in range(posts):
        began = n * every
        if n % 2:
            heapq.heappush(events, (began + answer, next(order), "answer", began, 0.0))
        else:
            heapq.heappush(events, (began + stretch.seconds, next(order), "deadline", began,
                                    0.0))
    while events:
        when, _, kind, began, _ = heapq.heappop(events)
        if when > seconds:
            break
        if kind == "answer":
            stretch.answered(began, answer, max(timeout, stretch.seconds))
            continue
        bound = when - began
        if stretch.seconds > bound + 1e-9:  # the bound grew meanwhile: it follows
            heapq.heappush(events, (began + stretch.seconds, next(order), "deadline", began,
                                    0.0))
            continue
        stretch.timed_out(bound, began)
    return stretch


def test_a_flapping_api_does_not_drift_the_bound_up() -> None:
    """Half the POSTs black-holed, the others answered at once: each POST lost was cut
    at the bound and grew it, the POSTs lost after it followed and grew it again (6.4 s
    after 15 s with timeout 0.2 s, delivery18's figure). A POST begun after the lost one
    and answered at once says the API is not slow: the bound stays."""
    stretch = _flapping(15.0)
    assert stretch.seconds == 0.2


def test_a_post_lost_while_no_later_one_was_answered_fast_still_grows_the_bound() -> None:
    """A slow API (no fast answer to a POST begun after the one cut): twice the bound."""
    stretch = _stretch(3.0)
    stretch.answered(began=0.0, took=0.05, bound=3.0)  # before the POST cut began
    assert stretch.timed_out(3.0, began=1.0) is True
    assert stretch.seconds == 6.0
    stretch.answered(began=5.0, took=0.05, bound=6.0)  # answered fast, begun later:
    assert stretch.seconds == 3.0                      # halved, and
    assert stretch.timed_out(3.0, began=4.0) is False  # the one begun before was lost
    assert stretch.seconds == 3.0


@pytest.mark.parametrize("status", ["202", "503"])
def test_any_answer_within_half_the_bound_halves_it(status: str) -> None:
    """Before, only a 2xx halved it: an API back failing fast (503s) kept the bound of
    a slow one, and a POST then black-holed waited that long. The Stretch is told of
    every answer; an Attempt tells it of any status (test below)."""
    stretch = _stretch(3.0)
    stretch.timed_out(3.0, began=0.0)
    stretch.timed_out(6.0, began=0.0)
    assert stretch.seconds == 12.0
    for n in range(3):
        stretch.answered(began=20.0 + n, took=0.05, bound=stretch.seconds)
    assert stretch.seconds == 3.0


def test_each_slowdown_is_said_and_a_held_back_one_is_said_later() -> None:
    """The first answer later than timeout is said; once the bound is back to timeout,
    the next slowdown is said again; one the rate limit held back (unsaid) is asked for
    again at the next slow answer."""
    stretch = _stretch(3.0)
    assert stretch.answered(0.0, 4.0, 6.0) is True
    assert stretch.answered(1.0, 4.0, 6.0) is False
    stretch.answered(10.0, 0.05, 6.0)  # fast again: back to 3 s
    assert stretch.seconds == 3.0
    assert stretch.answered(20.0, 4.0, 6.0) is True  # a second slowdown
    stretch.unsaid()  # the warnings' rate limit held it back
    assert stretch.answered(21.0, 4.0, 6.0) is True
    assert stretch.said is True


def test_no_fast_answer_leaves_a_slow_post_taken_for_slow() -> None:
    """No answer at all yet: slow() is True for any POST (math.inf: never answered)."""
    stretch = _stretch(3.0)
    assert stretch.fast_began == -math.inf
    assert stretch.slow(0.0) is True


# -- the stretched bound, through a Delivery -------------------------------------------


def test_fast_503s_after_a_slow_api_bring_the_bound_back_to_timeout(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture) -> None:
    """An API slower than ``timeout`` (0.5 s, timeout 0.2 s) stretches the bound; it then
    fails every POST at once (503): before, only a 2xx halved the bound, which stayed
    stretched (a POST black-holed next waited that long); each fast 503 halves it now."""
    collector.default = Reply(delay=0.5)
    delivery = make_delivery(collector.url, buffer_length=1, timeout=0.2,
                             shutdown_timeout=10.0, backoff_base=0.001, backoff_cap=0.001)
    delivery.submit(item("slow"))
    assert delivery.flush(10.0) is True
    assert delivery._attempt.stretch > 0.2
    collector.default = Reply(status=503)
    delivery.submit(item("failing"))
    assert delivery.flush(1.0) is False
    assert messages(caplog, logging.DEBUG, "failed (HTTP 503")
    assert delivery._attempt.stretch == 0.2


def test_a_second_slowdown_within_the_minute_is_said_once_the_minute_is_over(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture) -> None:
    """The API turns slow (said), fast again, slow again within the minute: the
    warnings' limit held the second one back, and it was never said while the API
    stayed slow. Now it is said at the first slow answer after the minute (the limit's
    clock moved on here)."""
    collector.default = Reply(delay=0.5)
    delivery = make_delivery(collector.url, buffer_length=1, timeout=0.2,
                             shutdown_timeout=10.0)
    delivery.submit(item("slow-1"))
    assert delivery.flush(10.0) is True
    collector.default = Reply()
    for n in range(6):
        delivery.submit(item(f"fast-{n}"))
        assert delivery.flush(10.0) is True
    assert delivery._attempt.stretch == 0.2
    collector.default = Reply(delay=0.5)
    delivery.submit(item("slow-2"))
    assert delivery.flush(10.0) is True
    assert len(messages(caplog, logging.WARNING, "later than timeout")) == 1
    limiter = delivery._attempt.warnings
    limiter._last = {key: when - policy.WARN_INTERVAL for key, when in limiter._last.items()}
    delivery.submit(item("slow-3"))
    assert delivery.flush(10.0) is True
    assert len(messages(caplog, logging.WARNING, "later than timeout")) == 2


# -- a black-holed API that comes back ------------------------------------------------


def test_a_probe_unanswered_for_timeout_lets_the_next_one_go() -> None:
    """The API taken for down, one probe in flight on a connection it black-holed (the
    bound stretched to 30 s): before, no other POST went until that probe's 30 s were
    out, though the API might be back. Now the next probe goes once it has waited
    ``timeout`` (3 s) unanswered, and the hold; not before."""
    now = [100.0]
    queue = LogQueue(batch_size=1, interval=0.0, max_size=1000, max_bytes=10**7)
    batcher = Batcher(queue, backoff_base=policy.BACKOFF_BASE,
                      backoff_cap=policy.BACKOFF_CAP, clock=lambda: now[0],
                      probe_after=3.0)

    def put(name: str) -> None:
        log = item(name)
        batcher.put(log, log.nbytes, inline=False)

    for n in range(policy.DOWN_AFTER):
        put(f"failed-{n}")
        batch = take_batch(queue, batcher)
        assert batch is not None
        fail_attempt(batcher, batch)
    assert batcher.health.down
    now[0] = batcher.health.hold_until
    with queue.lock:  # the failed batches' retries are jittered: one may come due later
        probe, wait = batcher.take_locked()
    if probe is None and wait is not None:
        now[0] += wait
        probe = take_batch(queue, batcher)
    assert probe is not None
    probe.sent_at = now[0]
    put("new")
    now[0] += 2.9
    assert take_batch(queue, batcher) is None  # one probe at a time
    with queue.lock:
        assert batcher.staffing.claim_sender_locked() is False
    now[0] += 0.2  # the probe has waited timeout, unanswered
    with queue.lock:
        assert batcher.take_locked()[0] is not None


def test_a_post_still_being_encoded_before_the_first_answer_holds_no_one_for_long() -> None:
    """Before any answer, a batch taken and not yet sent (``sent_at`` 0.0: being
    encoded) was read as a POST begun at the clock's zero: the next batch due waited
    about the clock's whole reading (the monotonic clock's seconds since boot) instead
    of the spacing. It counts as not begun yet: the wait is the spacing at most."""
    now = [50_000.0]  # a machine up for half a day
    queue = LogQueue(batch_size=1, interval=0.0, max_size=10_000, max_bytes=10**9,
                     max_post_logs=50)
    batcher = Batcher(queue, max_senders=16, clock=lambda: now[0])
    batcher.staffing.observe(post_s=3.2)
    log = item("first")
    batcher.put(log, log.nbytes, inline=False)
    first = take_batch(queue, batcher)
    assert first is not None and not first.sent_at  # taken, being encoded
    log = item("second")
    batcher.put(log, log.nbytes, inline=False)
    with queue.lock:
        batch, wait = batcher.take_locked()
    assert batch is not None or (wait is not None and wait <= 3.2 / 16 + 1e-9), wait
