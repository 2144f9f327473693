"""delivery20: senders that outlive a burst, the queue's bound against a slow API, and
the probes of a black-holed API.

- Up to 32 sender threads started for a burst against a slow Metrics API stayed for the
  life of the process, each waking every IDLE_LOOK seconds. Now, at the end of each
  span of IDLE_END seconds, the senders beyond the most POSTs in flight at once during
  it end as they find nothing to take; one always stays.
- max_queue_size bounds every log held, those in POSTs in flight included, so
  stats["queued"] never exceeds it (SPEC 7). Against a slow API the traffic times its
  answer time must fit in it: 2,000 logs/s to an API answering in 8 s drops about
  2,000 of 12,000 at the default 10,000, none at 20,000 (the fix is to raise it).

The Batcher on a fake clock where it can; one test with the real sender threads, whose
waits are the events they wait for (no sleep is an assertion).
"""

from __future__ import annotations

import textwrap

import pytest

from readme_metrics.delivery import batcher as batcher_module
from readme_metrics.delivery import policy
from readme_metrics.delivery import staffing as staffing_module
from readme_metrics.delivery.batcher import Batcher
from readme_metrics.delivery.queue import LogQueue
from tests.support.contract import run_python
from tests.support.delivery import (
    EXIT_CLOCK,
    EXIT_KEY,
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    assert_exit_sent,
    fail_attempt,
    ids,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    put_log,
    second_post_while_the_first_is_held,
    take_batch,
)
from tests.support.fake_api import Collector, Reply
from tests.support.polling import wait_until
from tests.test_delivery19_findings import _sustained

# -- (a) senders a burst started end once the traffic no longer needs them ------------


def _burst(now: list[float], senders: int = 32) -> tuple[LogQueue, Batcher]:
    """``senders`` sender threads counted in, each holding one POST at once (a burst
    against a slow API), then every POST answered: the Batcher as they leave it."""
    queue = LogQueue(batch_size=1, interval=0.0, max_size=10_000, max_bytes=10**9,
                     max_post_logs=1)
    batcher = Batcher(queue, clock=lambda: now[0])
    for _ in range(senders):
        batcher.staffing.sender_began()
    for n in range(senders):
        put_log(batcher, f"burst-{n}")
    taken = [batcher.next_or_end()[0] for _ in range(senders)]
    assert all(batch is not None for batch in taken)
    assert len(queue.in_flight) == senders
    for batch in taken:
        assert batch is not None
        batch.sent_at = now[0]
    now[0] += 4.0
    for batch in taken:
        assert batch is not None
        batcher.settle(batch, None)
    return queue, batcher


def test_idle_senders_beyond_the_span_s_busiest_end_and_one_stays() -> None:
    """32 senders held 32 POSTs at once; then nothing for two spans. Before, none ever
    ended (next_batch only returned None once closed). Now the span that had the burst
    keeps them all; at the end of the next, quiet one, 31 end as they look, one stays."""
    now = [100.0]
    queue, batcher = _burst(now)
    now[0] = 100.0 + staffing_module.IDLE_END + 1  # the span with the burst is over
    with queue.lock:
        assert batcher.staffing.surplus_locked() is False  # it needed all 32
    now[0] += staffing_module.IDLE_END  # a whole span with no POST at all
    ended = 0
    while batcher.staffing.senders > 1:
        assert batcher.next_or_end()[0] is None  # nothing to take: it ends
        ended += 1
    assert ended == 31 and batcher.staffing.senders == 1
    with queue.lock:
        assert batcher.staffing.surplus_locked() is False  # the last one stays
    put_log(batcher, "after")  # and takes what comes
    assert batcher.next_or_end()[0] is not None


def test_the_senders_a_span_needed_stay() -> None:
    """A quiet span in which 3 POSTs were in flight at once keeps 3 senders; one
    started meanwhile (a burst: the pool grew) has none end before the span after."""
    now = [100.0]
    queue, batcher = _burst(now, senders=8)
    now[0] = 100.0 + staffing_module.IDLE_END + 1
    with queue.lock:
        batcher.staffing.surplus_locked()  # the burst's span over: 8 kept for this one
    for n in range(3):
        put_log(batcher, f"steady-{n}")
    steady = [batcher.next_or_end()[0] for _ in range(3)]
    for batch in steady:
        assert batch is not None
        batcher.settle(batch, None)
    now[0] += staffing_module.IDLE_END
    while batcher.staffing.senders > 3:
        assert batcher.next_or_end()[0] is None
    with queue.lock:
        assert batcher.staffing.surplus_locked() is False
    batcher.staffing.sender_began()  # the pool grew for a burst
    with queue.lock:
        assert batcher.staffing.surplus_locked() is False  # none ends in this span
    now[0] += staffing_module.IDLE_END  # a quiet span again: one stays
    while batcher.staffing.senders > 1:
        assert batcher.next_or_end()[0] is None


def test_sender_threads_a_burst_started_end_and_delivery_stays_exact(
        collector: Collector, make_delivery: MakeDelivery,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The real senders: a second POST while the first is held starts a second sender;
    once the API answers and a span passes with nothing to send, one sender is left,
    it sends what comes next, and flush(), stats and close() are exact. Before, the
    second sender stayed (the wait below ran out)."""
    monkeypatch.setattr(staffing_module, "IDLE_END", 0.2, raising=False)
    monkeypatch.setattr(batcher_module, "IDLE_LOOK", 0.05)
    delivery = make_delivery(collector.url, buffer_length=1)
    second_post_while_the_first_is_held(collector, delivery,
                                        [f"burst-{n}" for n in range(6)], held=1)
    assert delivery.flush(10.0) is True
    pool = delivery._pool  # (this Delivery's senders: another test's may still run)
    assert pool.running() >= 2
    collector.default = Reply()
    wait_until(lambda: pool.running() == 1)  # each ended at an idle look
    assert delivery._batcher.staffing.senders == 1
    for n in range(5):
        assert delivery.submit(item(f"after-{n}"))
    assert delivery.flush(10.0) is True
    stats = delivery.stats
    assert stats["sent"] == 11 and stats["queued"] == 0 and adds_up(stats)
    delivery.close()
    assert pool.running() == 0
    assert len({log["_id"] for log in collector.logs}) == 11


#: A burst during a slow POST starts a second sender; once one is left (spans of 0.2 s
#: here), 5 more logs, then the interpreter's exit: all 35 must be delivered within
#: shutdown_timeout (1 s).
RETIRED_EXIT_SCRIPT = EXIT_CLOCK + textwrap.dedent("""
    import sys, time
    from readme_metrics.delivery import batcher, staffing
    staffing.IDLE_END, batcher.IDLE_LOOK = 0.2, 0.05
    from readme_metrics.config import MetricsApiConfig
    from readme_metrics.delivery import Delivery
    from readme_metrics.exchange import Exchange, Group

    config = MetricsApiConfig(api_key=sys.argv[2], grouping_function=lambda req: None,
                              metrics_api=sys.argv[1], buffer_length=1,
                              shutdown_timeout=1.0)
    delivery = Delivery(config, lambda item: {"_id": item.to_exchange().id})

    def log(name):
        delivery.submit(Exchange(name, 0.0, "GET", "http://a/", "HTTP/1.1", [], "1",
                                 Group("g")))

    def until(predicate, what):
        deadline = time.monotonic() + 20
        while not predicate():
            assert time.monotonic() < deadline, what
            time.sleep(0.01)

    for n in range(30):
        log(f"burst-{n}")
    until(lambda: delivery._pool.running() >= 2, "a second sender")
    until(lambda: delivery._pool.running() == 1, "one sender left")
    for n in range(5):
        log(f"after-{n}")
    exit_begins()
""")


def test_the_exit_flush_with_one_sender_left_sends_everything(
        collector: Collector) -> None:
    """After the senders a burst started have ended, the exit still sends every log
    within shutdown_timeout."""
    collector.default = Reply(delay=0.3)
    child = run_python(RETIRED_EXIT_SCRIPT, collector.url, EXIT_KEY)
    assert_exit_sent(child, collector, 35)
    assert len(set(ids(collector.logs))) == 35


# -- (b) max_queue_size bounds every log held, those in POSTs in flight too -----------
# (delivery20 first had it bound only the logs waiting; the lead kept SPEC 7: "The queue
# is bounded by max_queue_size logs", stats["queued"] included.)


def test_against_a_slow_api_queued_never_exceeds_max_queue_size(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    """A Metrics API that answers every POST 2 s late: the first POST of 10 logs is in
    flight, then 290 more come at once. stats["queued"] (accepted and not settled, the
    logs in flight included) never exceeds max_queue_size (100); the rest is counted
    as dropped_queue_full, and every log accepted is delivered. With the logs in
    flight counted apart (delivery20's first rule), queued reached 110 and more."""
    collector.default = Reply(delay=2.0)
    delivery = make_delivery(collector.url, buffer_length=10, max_queue_size=100,
                             timeout=30.0, shutdown_timeout=5.0)
    total, peak = 300, 0
    for n in range(total):
        delivery.submit(item(f"log-{n}"))
        stats = delivery.stats
        peak = max(peak, stats["queued"])
        assert stats["queued"] <= 100 and adds_up(stats), (n, stats)
        if n == 9:  # the lone sender's POST of these ten, answered 2 s late
            wait_until(lambda: collector.in_flight == 1)
    delivery.flush(30.0)
    stats = delivery.stats
    assert stats["queued"] == 0 and adds_up(stats)
    assert stats["dropped_queue_full"] > 0 and peak == 100, (peak, stats)
    assert stats["sent"] + stats["dropped_queue_full"] == total, stats
    assert len(set(ids(collector.logs))) == stats["sent"]


def test_traffic_times_answer_time_must_fit_in_max_queue_size() -> None:
    """The documented sizing: 6 s at 2,000 logs/s to an API answering in 8 s (16,000
    logs in flight at that rate) drops the excess over the default 10,000 as
    dropped_queue_full; with max_queue_size 20,000 every log is delivered."""
    default = _sustained(2000, 8.0, seconds=6.0)
    assert default["dropped_queue_full"] > 0, default
    assert default["sent"] + default["waiting"] + default["dropped_queue_full"] == 12_000
    raised = _sustained(2000, 8.0, seconds=6.0, max_size=20_000)
    assert raised["dropped_queue_full"] == 0, raised
    assert raised["sent"] + raised["waiting"] == 12_000


# -- (c) the probes of a black-holed API back off -----------------------------------------


def _down_with_a_probe_in_flight(now: list[float]) -> tuple[LogQueue, Batcher]:
    """The API taken for down (3 failures in a row), ``timeout`` 3 s, the hold over and
    a first probe in flight, unanswered."""
    queue = LogQueue(batch_size=1, interval=0.0, max_size=1000, max_bytes=10**7)
    batcher = Batcher(queue, clock=lambda: now[0], probe_after=3.0)
    for n in range(policy.DOWN_AFTER):
        put_log(batcher, f"failed-{n}")
        batch = take_batch(queue, batcher)
        assert batch is not None
        fail_attempt(batcher, batch)
    assert batcher.health.down
    for batch in queue.retries:  # (their own backoffs are jittered: all due at the hold)
        batch.not_before = batcher.health.hold_until
    now[0] = batcher.health.hold_until
    probe = take_batch(queue, batcher)
    assert probe is not None
    probe.sent_at = now[0]
    return queue, batcher


def _next_probe_after(queue: LogQueue, batcher: Batcher, now: list[float]) -> float:
    """Seconds the probe in flight holds the next one back (the fake clock moved there,
    and on to the next probe sent: the logs' pacing may add to it)."""
    with queue.lock:
        probing, wait = batcher.health.probing_locked(now[0], queue.in_flight)
    assert probing and wait is not None
    now[0] += wait + 1e-9  # (past it, whatever the float sums)
    put_log(batcher, f"new-{now[0]}")
    while True:
        with queue.lock:
            probe, more = batcher.take_locked()
        if probe is not None:
            break
        assert more is not None
        now[0] += more + 1e-9
    probe.sent_at = now[0]
    return round(wait, 3)


def test_the_probes_of_a_black_holed_api_go_ever_further_apart() -> None:
    """Each probe unanswered for ``timeout`` let the next one go: a black-holed API saw
    one POST every 3 s and the hold, 13.6 a minute, up to 10 open at once (the 30 s
    bound). Now each probe let go while none was answered doubles the wait, up to
    PROBE_OVERLAP_CAP (10 s): 3, 6, 10, 10 s; the first answer brings it back to 3 s."""
    now = [100.0]
    queue, batcher = _down_with_a_probe_in_flight(now)
    waits = [_next_probe_after(queue, batcher, now) for _ in range(4)]
    assert waits == [3.0, 6.0, policy.PROBE_OVERLAP_CAP, policy.PROBE_OVERLAP_CAP]
    answered = next(iter(queue.in_flight))
    batcher.settle(answered, None)  # an answer: the API is up
    assert batcher.health.overlaps == 0 and not batcher.health.down
