"""delivery23: a black-holed Metrics API's return noticed without a POST (the checks of
its host, ``readme_metrics/delivery/checks.py``).

The rules on the Batcher's fake clock (no sleep is an assertion); one real-socket test
with a collector that black-holes every request, then answers.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any, Optional

import pytest

from readme_metrics.delivery import Delivery, policy, resolve
from readme_metrics.delivery.batcher import Batcher
from readme_metrics.delivery.checks import CHECK_NAME, Checker
from readme_metrics.delivery.queue import LogQueue
from tests.support.delivery import (
    API_KEY,
    SLACK,
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    clocked_batcher,
    ids,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
    put_log,
    take_batch,
)
from tests.support.drip import DripServer
from tests.support.fake_api import Collector, Reply
from tests.support.polling import wait_until
from tests.test_delivery20_findings import _down_with_a_probe_in_flight, _next_probe_after

GAP = policy.CHECK_GAP


def _checked(batcher: Batcher, now: list[float], answered: bool) -> bool:
    """A check ends now, ``answered`` or not: True if it lets the next probe go now."""
    with batcher.lock:
        return batcher.health.checked_locked(answered, now[0], GAP)


def _probe_now(queue: LogQueue, batcher: Batcher, now: list[float]) -> bool:
    """A new log queued: True if a sender may take it now (a probe)."""
    put_log(batcher, f"new-{now[0]}")
    with queue.lock:
        batch, _ = batcher.take_locked()
    if batch is not None:
        batch.sent_at = now[0]
    return batch is not None


def _held(now: list[float]) -> tuple[LogQueue, Batcher]:
    """The API taken for down, a probe in flight and unanswered, the probes' wait
    doubled twice (the next one 10 s after the last), and a hold of every sender on."""
    queue, batcher = _down_with_a_probe_in_flight(now)
    for _ in range(2):
        _next_probe_after(queue, batcher, now)
    batcher.health.hold_until = now[0] + policy.PROBE_CAP
    return queue, batcher


def test_a_check_answered_after_one_unanswered_lets_the_next_probe_go_now() -> None:
    """The probe in flight when a black-holed API came back sat on its dead connection
    and the next went up to 10 s after it (the queue full meanwhile: 5 to 5.5 s after a
    20 s black hole, delivery22). A check of the host that goes unanswered, then one
    answered, lets the next probe go at once: before the probe in flight has waited its
    wait, and through the hold. One only: the one after it waits as before."""
    now = [100.0]
    queue, batcher = _held(now)
    assert not _probe_now(queue, batcher, now)  # held: 10 s after the last probe
    assert _checked(batcher, now, answered=False) is False
    now[0] += GAP
    assert not _probe_now(queue, batcher, now)
    assert _checked(batcher, now, answered=True) is True
    assert _probe_now(queue, batcher, now)  # at once
    assert not _probe_now(queue, batcher, now)  # one early probe, not a stream
    batcher.settle(next(iter(queue.in_flight)), None)  # the API answered
    assert not batcher.health.down and not batcher.health.early


def test_checks_answered_all_along_let_no_probe_go_early() -> None:
    """A host that answers the checks while its POSTs are black-holed (the edge in front
    of a dead backend) tells nothing: no probe goes early, so a black hole sees no POST
    more than before."""
    now = [100.0]
    queue, batcher = _held(now)
    for _ in range(5):
        assert _checked(batcher, now, answered=True) is False
        now[0] += GAP
        assert not _probe_now(queue, batcher, now)


def test_one_early_probe_per_outage() -> None:
    """An early probe that the API black-holes too (a host that flaps) spends the
    outage's one: the checks stop, the probes wait as before, until the API answers;
    then the next outage has its own."""
    now = [100.0]
    queue, batcher = _held(now)
    assert not _checked(batcher, now, answered=False)
    assert _checked(batcher, now, answered=True)
    assert _probe_now(queue, batcher, now)
    with queue.lock:
        assert batcher.health.check_wait_locked(now[0], queue.in_flight, 1.0) is None
    assert not _checked(batcher, now, answered=False)
    assert not _checked(batcher, now, answered=True)
    assert not _probe_now(queue, batcher, now)
    for batch in list(queue.in_flight):
        batcher.settle(batch, None)
    assert not batcher.health.early_spent


def test_no_check_while_the_posts_fail_at_once() -> None:
    """A check goes only while a POST in flight has waited the check's bound unanswered
    (a black hole): with none in flight (an API refusing the POSTs, or failing them at
    once) the checker waits, none goes; once the API answers, none is wanted."""
    now = [100.0]
    queue, batcher = _down_with_a_probe_in_flight(now)
    health = batcher.health
    with queue.lock:
        assert health.check_wait_locked(now[0], queue.in_flight, 1.0) == 1.0
        now[0] += 1.0
        assert health.check_wait_locked(now[0], queue.in_flight, 1.0) == 0.0
        assert health.check_wait_locked(now[0], (), 1.0) == float("inf")
    assert not _checked(batcher, now, answered=False)
    with queue.lock:  # one check at a time, GAP apart
        assert health.check_wait_locked(now[0], queue.in_flight, 1.0) == GAP
    batcher.settle(next(iter(queue.in_flight)), None)
    with queue.lock:
        assert health.check_wait_locked(now[0], queue.in_flight, 1.0) is None


def test_an_early_probe_never_goes_before_a_retry_after() -> None:
    """A Retry-After is what the API asked: a check answered before it is over lets no
    probe go early."""
    now = [100.0]
    queue, batcher = _held(now)
    batcher.health.asked_until = now[0] + 30.0
    assert not _checked(batcher, now, answered=False)
    assert not _checked(batcher, now, answered=True)
    assert not _probe_now(queue, batcher, now)


# -- on real sockets ----------------------------------------------------------------------


def test_a_black_holed_api_that_answers_again_is_probed_at_once(
        make_delivery: MakeDelivery) -> None:
    """The API fails three POSTs (taken for down), then takes every request and never
    answers (a black hole): the probe in flight holds the next one back for ``timeout``
    (6 s). A check of the host goes unanswered; the API answers again; the next check is
    answered and the log waiting goes at once, while the black-holed probe has waited
    less than ``timeout`` (before: not until then). The checks carry no key; every log
    is delivered, the stats exact; the checker ends once the API answers."""
    collector = Collector().start()
    never = threading.Event()  # the black hole: held requests are never answered
    try:
        delivery = make_delivery(collector.url, buffer_length=1, timeout=6.0,
                                 shutdown_timeout=10.0)
        batcher, queue = delivery._batcher, delivery._queue
        for _ in range(policy.DOWN_AFTER):
            collector.replies.append(Reply(503))
        # (Not a 2xx: the collector counts those as received on arrival.)
        collector.default = Reply(503, gate=never)
        collector.get_v1 = lambda received: Reply(404, gate=never)
        assert delivery.submit(item("black-holed"))
        wait_until(lambda: batcher.health.down and collector.in_flight == 1)
        with queue.lock:
            (probe,) = queue.in_flight
            began = probe.sent_at
        assert delivery.submit(item("waiting"))
        wait_until(lambda: batcher.health.check_unanswered)
        collector.default = Reply()
        collector.get_v1 = None  # answered (404) at once
        collector.wait_for_logs(1)
        got = time.monotonic()
        assert [log["_id"] for log in collector.logs] == ["waiting"]
        assert got - began < 6.0, "the log waited for the probe in flight's timeout"
        assert delivery.flush(15.0)
        stats = delivery.stats
        assert (stats["sent"], stats["dropped"], stats["queued"]) == (2, 0, 0), stats
        assert adds_up(stats)
        assert sorted(log["_id"] for log in collector.logs) == ["black-holed", "waiting"]
        gets = collector.gets
        assert gets and all("Authorization" not in get.headers for get in gets)
        assert all(API_KEY not in repr(get) for get in gets)
        wait_until(lambda: not any(t.name == CHECK_NAME for t in threading.enumerate()))
    finally:
        never.set()
        collector.stop()


# -- (b) a name whose first address drops the SYN ---------------------------------------


def _syn_dropping_ipv6(port: int) -> Optional[list[socket.socket]]:
    """A listener on ``[::1]:port`` whose backlog is full (one connection never
    accepted), so the kernel drops every further SYN: an address that never answers a
    connect. None (the test skips) where ``::1`` or that port cannot be had, or a
    connect there is not left unanswered."""
    held: list[socket.socket] = []
    try:
        listener = socket.socket(socket.AF_INET6)
        held.append(listener)
        listener.bind(("::1", port))
        listener.listen(0)
        filler = socket.create_connection(("::1", port), timeout=1.0)
        held.append(filler)
        probe = socket.socket(socket.AF_INET6)
        held.append(probe)
        probe.settimeout(0.3)
        try:
            probe.connect(("::1", port))
        except (TimeoutError, socket.timeout):
            return held
    except OSError:
        pass
    for sock in held:
        sock.close()
    return None


def test_a_name_whose_first_address_drops_the_syn_still_gets_every_log(
        make_delivery: MakeDelivery, monkeypatch: pytest.MonkeyPatch) -> None:
    """A host name that gives ``::1`` first (nothing answers a connect there: a broken
    IPv6 route to a dual-stack host) and ``127.0.0.1`` second (the API). The first
    address took each POST's whole bound, the second was never tried: no log got
    through, every batch retried until dropped. Each address but the last now gets half
    of what is left, and the one that connected is tried first from then on: every log
    delivered, on the first attempt, no key in any log line."""
    collector = Collector().start()
    held = _syn_dropping_ipv6(collector.port)
    if held is None:
        collector.stop()
        pytest.skip("no [::1] listener that leaves a connect unanswered here")
    real = resolve._getaddrinfo

    def both(host: str, port: int) -> list[tuple[Any, ...]]:
        v6: tuple[Any, ...] = (socket.AF_INET6, socket.SOCK_STREAM, 6, "",
                               ("::1", port, 0, 0))
        return [v6, *real("127.0.0.1", port)]

    monkeypatch.setattr(resolve, "_getaddrinfo", both)
    try:
        delivery = make_delivery(f"http://dual-stack.test:{collector.port}",
                                 buffer_length=5, timeout=1.0)
        for n in range(20):
            assert delivery.submit(item(f"log-{n}"))
        assert delivery.flush(15.0)
        stats = delivery.stats
        assert (stats["sent"], stats["dropped"], stats["retries"]) == (20, 0, 0), stats
        assert adds_up(stats)
        assert sorted(ids(collector.logs)) == sorted(f"log-{n}" for n in range(20))
    finally:
        for sock in held:
            sock.close()
        collector.stop()


# -- (b) an answer in time whose body never ends -----------------------------------------


@pytest.mark.parametrize("head", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n",  # a body trickled
    b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n",  # HTTP/1.0, until a close
], ids=["trickled-body", "http10-no-length"])
@pytest.mark.parametrize("direct", [True, False], ids=["direct", "requests"])
def test_an_answer_whose_body_never_ends_grows_no_bound(
        make_delivery: MakeDelivery, caplog: pytest.LogCaptureFixture,
        head: bytes, direct: bool) -> None:
    """An API that answers 200 at once, then sends its body a byte at a time (or an
    HTTP/1.0 body without a length, the connection kept open). The answer counts (the
    logs are delivered once, never sent again), and the watchdog cuts the body at the
    POST's bound. That cut was taken for an API slower than the bound: it grew (0.5, 1,
    2, 4 s...), every later POST held its sender that long, and a warning said the API
    "answered a POST in 0.501s, later than timeout". The bound stays now, no warning.
    On either route (delivery32: the requests route told the watchdog of no answer)."""
    drip = DripServer(interval=0.05, max_bytes=10**6, prefix=head)
    try:
        delivery = make_delivery(drip.url, buffer_length=1, timeout=0.5, direct=direct)
        for n in range(4):
            assert delivery.submit(item(f"log-{n}"))
            assert delivery.flush(10.0)
        stats = delivery.stats
        assert (stats["sent"], stats["retries"], stats["dropped"]) == (4, 0, 0), stats
        assert adds_up(stats) and drip.requests == 4
        assert delivery._attempt.stretch == 0.5
        assert not messages(caplog, logging.WARNING, "later than timeout")
    finally:
        drip.close()


# -- (a) the POSTs a black hole holds when the API answers again ---------------------


def test_a_post_lost_in_a_black_hole_goes_again_once_a_later_one_is_answered(
        make_delivery: MakeDelivery) -> None:
    """The bound stretched (8 s: a black hole seen), a POST taken and never answered,
    then the API answers again: a POST begun after it is answered at once. The first
    was lost (on a connection that will never answer) and sat there until its stretched
    bound, its logs counted against max_queue_size: after a 20 s black hole at 1,000
    logs/s the queue stayed full 5 to 5.5 s (delivery22), no new log kept. It is cut
    now that it has waited ``timeout`` (0.5 s) and goes again; its loss is no failure
    of the API's (not taken for down), the bound grows not."""
    collector = Collector().start()
    never = threading.Event()
    try:
        delivery = make_delivery(collector.url, buffer_length=1, timeout=0.5)
        delivery._attempt.stretch = 8.0  # as after a black hole
        collector.default = Reply(503, gate=never)  # (a 2xx counts on arrival)
        assert delivery.submit(item("lost"))
        wait_until(lambda: collector.in_flight == 1)
        collector.default = Reply()
        assert delivery.submit(item("answered"))
        assert delivery.flush(5.0), delivery.stats  # not the lost POST's 8 s
        stats = delivery.stats
        assert (stats["sent"], stats["retries"], stats["dropped"]) == (2, 1, 0), stats
        assert sorted(ids(collector.logs)) == ["answered", "lost"]
        health = delivery._batcher.health
        assert not health.down and health.failures == 0
        assert delivery._attempt.stretch <= 8.0
    finally:
        never.set()
        collector.stop()


def test_a_lost_post_is_no_failure_in_a_row() -> None:
    """Several lost POSTs cut at once (a black hole's, as the API answers again) were
    each a failure in a row: three took the API for down, every sender held and one
    POST at a time probed it, just as it answered again. A lost one waits its own
    backoff only."""
    now = [100.0]
    queue, batcher = clocked_batcher(now, logs=3)
    batches = [take_batch(queue, batcher) for _ in range(3)]
    for batch in batches:
        assert batch is not None
        batch.attempts += 1
        batcher.retry_later(batch, None, lost=True)
    assert batcher.health.failures == 0 and not batcher.health.down


def test_a_check_that_finds_the_host_back_sends_the_held_posts_again(
        make_delivery: MakeDelivery) -> None:
    """The API taken for down, the bound stretched (8 s), every log held in a probe the
    black hole took: nothing else waits (at 2,000 logs/s the POSTs in flight held the
    10,000 logs the queue allows, every new log dropped). A check finds the host silent,
    the API answers again, the next check finds it answering: the probe let go early
    had nothing to carry, and the held POST waited out its 8 s bound. Now that check
    has the POSTs begun before it cut (they waited ``timeout``) and sent again: the
    log is delivered, nothing dropped."""
    collector = Collector().start()
    never = threading.Event()
    try:
        delivery = make_delivery(collector.url, buffer_length=1, timeout=0.5)
        batcher = delivery._batcher
        with batcher.lock:  # as after three failures in a row and a black hole
            batcher.health.down, batcher.health.failures = True, policy.DOWN_AFTER
            batcher.health.down_since = time.monotonic()
        delivery._attempt.stretch = 8.0
        collector.default = Reply(503, gate=never)  # (a 2xx counts on arrival)
        collector.get_v1 = lambda received: Reply(404, gate=never)
        assert delivery.submit(item("held"))
        delivery._checker.wanted()  # (a sender's call as the third failure ends)
        wait_until(lambda: batcher.health.check_unanswered)
        collector.default = Reply()
        collector.get_v1 = None  # answered (404) at once
        assert delivery.flush(5.0), delivery.stats  # not the held POST's 8 s
        stats = delivery.stats
        assert (stats["sent"], stats["retries"], stats["dropped"]) == (1, 1, 0), stats
        assert ids(collector.logs) == ["held"]
        assert not batcher.health.down
    finally:
        never.set()
        collector.stop()


def _black_holed_with_a_check(make_delivery: MakeDelivery, collector: Collector,
                              never: threading.Event, shutdown_timeout: float) -> Delivery:
    """A Delivery (``timeout`` 0.5 s) whose API failed three POSTs (taken for down), then
    black-holes every request until ``never`` is set: five logs submitted, returned
    once a check went unanswered."""
    delivery = make_delivery(collector.url, buffer_length=1, timeout=0.5,
                             shutdown_timeout=shutdown_timeout)
    for _ in range(policy.DOWN_AFTER):
        collector.replies.append(Reply(503))
    collector.default = Reply(503, gate=never)
    collector.get_v1 = lambda received: Reply(404, gate=never)
    for n in range(5):
        assert delivery.submit(item(f"log-{n}"))
    wait_until(lambda: delivery._batcher.health.check_unanswered)
    return delivery


def test_close_during_a_black_hole_ends_the_checker_and_counts_every_log(
        make_delivery: MakeDelivery) -> None:
    """Closed while the API black-holes (taken for down, a check running): close()
    returns within shutdown_timeout, every log is counted (sent, dropped or still in a
    POST waiting for its answer), and the checker thread ends."""
    collector = Collector().start()
    never = threading.Event()
    try:
        delivery = _black_holed_with_a_check(make_delivery, collector, never, 1.0)
        began = time.monotonic()
        delivery.close()
        assert time.monotonic() - began < 1.0 + SLACK
        stats = delivery.stats
        assert adds_up(stats) and stats["sent"] == 0, stats
        wait_until(lambda: not any(t.name == CHECK_NAME for t in threading.enumerate()))
    finally:
        never.set()
        collector.stop()


# -- review82 ------------------------------------------------------------------------------


def test_no_check_goes_before_a_retry_after() -> None:
    """A Retry-After is what the API asked: no request of the library's reaches it
    before then, a check's GET either (an early probe was refused before it, so a check
    then was traffic for nothing, one a second). Before, a POST in flight 1 s had one go
    at once (``check_wait_locked`` 0.0); the first goes as the Retry-After ends."""
    now = [100.0]
    queue, batcher = _down_with_a_probe_in_flight(now)
    health = batcher.health
    health.asked_until = now[0] + 30.0
    now[0] += 1.0  # the probe in flight has waited the check's bound
    with queue.lock:
        assert health.check_wait_locked(now[0], queue.in_flight, 1.0) == pytest.approx(29.0)
    now[0] += 29.0
    with queue.lock:
        assert health.check_wait_locked(now[0], queue.in_flight, 1.0) == 0.0


@pytest.mark.parametrize("in_flight", [False, True], ids=["paused", "get-in-flight"])
def test_close_ends_the_checker_before_it_returns(make_delivery: MakeDelivery,
                                                  in_flight: bool) -> None:
    """close() joins the senders; the checker thread too, before it returns: it sat in
    its 1 s pause between checks (or a check's GET, up to 1 s) and outlived close(), a
    thread of the library still running, its next look up to 2 s on, after the caller
    was told delivery was over (an early probe's back() and grow() too). A check's GET
    still in flight as shutdown_timeout ran out (a black-holed host) kept the thread up
    to its 1 s bound after close() (review84: 5 of 5 runs): its socket is cut now."""
    collector = Collector().start()
    never = threading.Event()
    try:
        # A check went unanswered: the checker now waits CHECK_GAP for the next.
        delivery = _black_holed_with_a_check(make_delivery, collector, never, 0.3)
        if in_flight:  # the next check's GET at the host, unanswered, as close() begins
            checks = len(collector.gets)
            wait_until(lambda: delivery._checker._asking and len(collector.gets) > checks)
        delivery.close()
        assert not any(t.name == CHECK_NAME for t in threading.enumerate())
        assert adds_up(delivery.stats), delivery.stats
    finally:
        never.set()
        collector.stop()


@pytest.mark.parametrize("down", [False, True], ids=["answering", "taken-for-down"])
def test_a_batch_lost_again_and_again_still_runs_out_of_attempts(down: bool) -> None:
    """A lost POST is due again at once and no failure in a row, but still an attempt of
    its batch: one lost each time (a backend that black-holes what it is given while the
    others answer) is dropped as ``retries_exhausted`` after ``max_attempts`` (11 tries
    with the defaults), or ``max_down`` while the API is taken for down, never retried
    for ever (pinned, review82: Attempt calls exhausted() before retry_later)."""
    now = [100.0]
    queue, batcher = clocked_batcher(now, logs=1)
    batch = take_batch(queue, batcher)
    assert batch is not None
    batcher.health.down = down
    tries = 0
    while True:
        tries += 1
        batch.attempts += 1
        if batcher.exhausted(batch, policy.MAX_ATTEMPTS, max_down=3):
            break
        batcher.retry_later(batch, None, lost=True)
        assert batch.not_before == now[0]  # due again at once
        assert tries < 1000
    assert tries == (11 if not down else 9)  # 6 below the 30 s backoff, then 5 or 3
    assert batcher.health.failures == 0


def test_a_lost_post_does_not_say_the_api_was_taken_for_down_again() -> None:
    """The warning "3 POSTs in a row to ... failed" is said as the failure that takes the
    API for down comes (retry_later's second value True). A lost POST counts no failure:
    when it came back with the API taken for down by exactly three (the check's early
    probe going as the API answers again, the POSTs before it cut), it said so again, as
    if a third failure had just come (said once the minute's limit let it: an outage
    over a minute). Only a failure that counts may say it."""
    now = [100.0]
    queue, batcher = clocked_batcher(now, logs=policy.DOWN_AFTER + 1)
    for _ in range(policy.DOWN_AFTER - 1):
        batch = take_batch(queue, batcher)
        assert batch is not None
        batch.attempts += 1
        assert batcher.retry_later(batch, None) is not None
    lost = take_batch(queue, batcher)  # in flight as the API is taken for down
    third = take_batch(queue, batcher)
    assert lost is not None and third is not None
    third.attempts += 1
    later = batcher.retry_later(third, None)
    assert later is not None and later[1]  # the third failure: taken for down, said
    lost.attempts += 1
    later = batcher.retry_later(lost, None, lost=True)
    assert later is not None and not later[1]
    assert batcher.health.failures == policy.DOWN_AFTER


def test_a_route_that_cannot_check_starts_no_checker_again() -> None:
    """Through a proxy (the requests route) no check can be made (``answers`` gives
    None): the checker thread ends at its first look. Every sender's call after an
    attempt while the API is taken for down (``wanted``) started it again, for a look
    that could only end the same way: once told, it starts no more."""
    now = [100.0]
    queue, batcher = _down_with_a_probe_in_flight(now)
    now[0] += 1.0  # the probe in flight has waited the check's bound: a check is due
    asked: list[float] = []

    def answers(seconds: float) -> Optional[bool]:
        asked.append(seconds)
        return None

    checker = Checker(batcher, answers, lambda: None, timeout=3.0)
    for _ in range(3):
        checker.wanted()
        thread = checker._thread
        if thread is not None:
            thread.join(5.0)
    assert len(asked) == 1
