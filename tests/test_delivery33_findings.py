"""delivery33: four narrow delivery leftovers, each order forced (held points, events).

1. An answer whose head ended just before the watchdog cut its POST (read just after the
   cut) is the API's verdict: at a flush's deadline or its own bound that held already
   (sent once, no retry: these pass on main too, guards), but at the close's deadline the
   attempt counted it cut (``dropped_shutdown``, "1 log not delivered"), the API having
   taken the log.
2. A late answer to a batch the close gave up on during its POST: a 400 was said
   "rejected a batch of 0 logs".
3. A close begun between a sender's check of its batch and the start of its POST: that
   POST kept its own bound (cut at it, or answered, after ``close()`` returned).
4. The ASGI lifespan's warning said all of ``shutdown_timeout`` for a flush that had only
   what was left of it.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import threading
import time
from typing import Any, Callable, Optional

import pytest
import requests
from urllib3.connection import HTTPConnection

from readme_metrics.capture.asgi_lifespan import Lifespan
from readme_metrics.capture.asgi_outlive import Outlive
from readme_metrics.config import MetricsApiConfig
from readme_metrics.delivery import Delivery, direct_connect, watchdog
from readme_metrics.delivery import direct as direct_route
from readme_metrics.delivery.transport import Transport
from tests.support.delivery import (
    API_KEY,
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
    never_fixture,  # noqa: F401 - ``never``
    new_stretch,
)
from tests.support.fake_api import Collector, Reply
from tests.support.watchdog_points import (
    GUARD,
    ROUTES,
    Cuts,
    before_the_first_verdict,
    close_ends_once_the_sender_acted,
    held_after_the_post,
)


def stats_of(delivery: Delivery) -> dict[str, int]:
    stats = delivery.stats
    assert adds_up(stats), stats
    return stats


def senders_ended(delivery: Delivery) -> None:
    delivery._pool.join(time.monotonic() + GUARD)
    assert not delivery._pool.running()


def cut_now(cuts: Cuts, at_its_bound: bool) -> None:
    """The running POST's deadline comes now: at its own bound (that bound is what it
    has waited), or at a flush's deadline (``until``); returns once it was cut."""
    running = watchdog.current()
    assert running is not None
    with watchdog.state.lock:
        now = time.monotonic()
        running.deadline = now
        if at_its_bound:
            running.bound = now - running.began
        else:
            running.until = now
        heapq.heappush(watchdog.state.heap, (now, next(watchdog.state.order), running))
        watchdog.state.wake.notify()
    assert cuts.done.wait(GUARD)


@ROUTES
@pytest.mark.parametrize("at_its_bound", [False, True], ids=["flush_deadline", "bound"])
def test_an_answer_whose_head_ended_before_the_cut_is_sent_once(
        make_delivery: MakeDelivery, collector: Collector, monkeypatch: pytest.MonkeyPatch,
        direct: bool, at_its_bound: bool) -> None:
    """The watchdog cuts the POST between its answer's head's end and the verdict: the
    answer stands, the batch is not sent again. (Passes on main too: a guard.)"""
    cuts = Cuts(monkeypatch)
    before_the_first_verdict(monkeypatch, lambda: cut_now(cuts, at_its_bound))
    delivery = make_delivery(collector.url, buffer_length=1, timeout=1.0, direct=direct)
    assert delivery.submit(item("log-0"))
    assert delivery.flush(GUARD)
    stats = stats_of(delivery)
    assert (stats["sent"], stats["retries"], stats["dropped"]) == (1, 0, 0)
    assert len(collector.received) == 1


@ROUTES
def test_an_answer_whose_head_ended_before_the_closes_cut_counts_sent(
        make_delivery: MakeDelivery, collector: Collector, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, direct: bool) -> None:
    """The API answers 202 at once; the POST's thread reads that head only once the
    close cut the POST at its deadline, and settles before the close ends. Before: the
    attempt took it for a POST the close cut, unanswered: ``sent`` 0,
    ``dropped_shutdown`` 1, "1 log not delivered (1 of them in POSTs cut at the close,
    unanswered: the Metrics API may have them)"."""
    cuts = Cuts(monkeypatch)
    entered = threading.Event()

    def hold() -> None:
        entered.set()
        assert cuts.done.wait(GUARD)  # the close's cut, at its deadline

    before_the_first_verdict(monkeypatch, hold)
    delivery = make_delivery(collector.url, buffer_length=1, timeout=5.0,
                             shutdown_timeout=0.3, direct=direct)
    close_ends_once_the_sender_acted(monkeypatch, delivery._batcher, ("settle", "cut_at_close"))
    assert delivery.submit(item("log-0"))
    assert entered.wait(GUARD)
    delivery.close()
    senders_ended(delivery)
    stats = stats_of(delivery)
    assert (stats["sent"], stats["dropped_shutdown"]) == (1, 0), stats
    assert not messages(caplog, logging.WARNING, "not delivered")
    assert len(collector.received) == 1


@ROUTES
@pytest.mark.parametrize("status", [400, 413, 202, 503])
def test_a_late_answer_to_a_batch_the_close_gave_up_says_what_it_had(
        make_delivery: MakeDelivery, collector: Collector,
        caplog: pytest.LogCaptureFixture, direct: bool, status: int) -> None:
    """The answer is acted on only once the close gave the batch up at its deadline (as
    a POST the close cannot cut, through a SOCKS proxy, comes back): a 400 (or a 413 of
    one log) was said "rejected a batch of 0 logs"; now the count it had, and that the
    close had given it up. Exact in every snapshot; once its sender is back, its logs
    are counted as what came of it (delivery81: they stayed ``dropped_unknown``, a 202
    too)."""
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    collector.default = Reply(status=status, body=b'{"error": "no"}')
    go, entered = threading.Event(), threading.Event()
    delivery = make_delivery(collector.url, buffer_length=2, shutdown_timeout=0.3,
                             direct=direct)
    held_after_the_post(delivery, go, entered)
    try:
        assert delivery.submit(item("log-0")) and delivery.submit(item("log-1"))
        assert entered.wait(GUARD)
        delivery.close()
        closed = stats_of(delivery)
        # (its request went in full, its sender not back: unknown since delivery80)
        assert (closed["dropped_unknown"], closed["queued"]) == (2, 0), closed
    finally:
        go.set()
    senders_ended(delivery)
    now = {202: "sent", 400: "dropped_rejected", 413: "dropped_rejected",
           503: "dropped_shutdown"}[status]
    after = stats_of(delivery)
    assert (after[now], after["dropped_unknown"], after["queued"]) == (2, 0, 0), after
    assert after["captured"] == closed["captured"], (closed, after)
    # ("a batch of 0 logs", "the POST of 0 logs"; not the close's "0 logs not delivered,
    # 2 unknown")
    assert not [record for record in caplog.records if "of 0 logs" in record.getMessage()]
    if status in (400, 413):
        said = messages(caplog, logging.WARNING, "rejected a batch")
        assert len(said) == 1, said
        assert (f"rejected a batch of 2 logs (HTTP {status} ") in said[0], said
        assert ("which the close had given up on already (counted dropped_rejected)"
                in said[0]), said
    else:
        assert not messages(caplog, logging.WARNING, "rejected")
        said = messages(caplog, logging.DEBUG, "that the close had given up on")
        assert len(said) == 1 and f"ended: HTTP {status}" in said[0], said


@ROUTES
def test_a_post_begun_after_the_close_began_ends_by_its_deadline(
        make_delivery: MakeDelivery, collector: Collector, never: threading.Event,
        caplog: pytest.LogCaptureFixture, direct: bool) -> None:
    """A sender checked its batch (still its own, no close yet) and is held before its
    POST begins; a close begins (its ``end_by`` found no POST in flight), then the POST
    goes, to an API that never answers. Before: it kept its own bound (2 s, spared and
    grown) and was cut 3.0 s past the close's deadline of 1 s, after ``close()``
    returned; now at the close's deadline, once sent."""
    collector.default = Reply(gate=never)
    go, entered, began = threading.Event(), threading.Event(), threading.Event()
    delivery = make_delivery(collector.url, buffer_length=1, timeout=2.0,
                             shutdown_timeout=1.0, direct=direct)
    batcher = delivery._batcher
    on_close = batcher.on_close

    def close_began(deadline: float) -> None:
        on_close(deadline)
        began.set()

    batcher.on_close = close_began
    sender = delivery._attempt._sender
    real = sender.post
    cuts: list[tuple[float, bool]] = []

    def post(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        go.wait(GUARD)
        try:
            return real(*args, **kwargs)
        finally:
            cuts.append(watchdog.last_cut())

    sender.post = post  # type: ignore[method-assign]
    closer = threading.Thread(target=delivery.close)
    try:
        assert delivery.submit(item("log-0"))
        assert entered.wait(GUARD)
        closer.start()
        assert began.wait(GUARD)
    finally:
        go.set()
    closer.join(GUARD)
    assert not closer.is_alive()
    senders_ended(delivery)
    # (Before: cut at its own bound, seconds after the close's deadline.)
    assert cuts == [(batcher.deadline, True)], [at - batcher.deadline for at, _ in cuts]
    stats = stats_of(delivery)
    assert (stats["sent"], stats["dropped_unknown"]) == (0, 1), stats
    # (delivery80: "1 log not delivered (1 of them in POSTs cut at the close, ...)")
    assert messages(caplog, logging.WARNING, "0 logs not delivered, 1 unknown (in POSTs "
                    "sent in full, cut unanswered: the Metrics API may have them)")


@ROUTES
def test_a_post_cut_while_it_connects_is_cut_once_connected(
        collector: Collector, never: threading.Event, monkeypatch: pytest.MonkeyPatch,
        direct: bool) -> None:
    """The POST's deadline comes while its connection is being made (held here until
    the watchdog cut it, which found no socket to shut down), to an API that never
    answers. Before: the direct route's socket then blocked with nothing to bound it,
    the POST bounded to 0.3 s answered after 60 s (the collector's gate); the requests
    route's reads waited their own timeout (up to the stretch's longest, 30 s). Now the
    socket is shut down as soon as it is connected."""
    collector.default = Reply(gate=never)
    cuts = Cuts(monkeypatch)

    def held(call: Callable[..., Any]) -> Callable[..., Any]:
        def connect(*args: Any, **kwargs: Any) -> Any:
            assert cuts.done.wait(GUARD)
            return call(*args, **kwargs)
        return connect

    monkeypatch.setattr(direct_connect, "open_socket", held(direct_route._open))
    monkeypatch.setattr(HTTPConnection, "connect", held(HTTPConnection.connect))
    config = MetricsApiConfig(api_key=API_KEY, grouping_function=lambda request: None,
                              metrics_api=collector.url)
    transport = Transport(config, direct=direct)
    try:
        with pytest.raises(requests.Timeout):
            transport.post_logs(b"[]", 0.3, new_stretch(0.3))
    finally:
        transport.close()
    assert not never.is_set()  # (the API answered nothing)
    assert cuts.made[0] is False and True in cuts.made, cuts.made


def lifespan_warning(caplog: pytest.LogCaptureFixture, outlived: bool,
                     timeout: float = 0.2) -> tuple[Optional[float], str]:
    """The lifespan's flush at shutdown, which delivers nothing (3 logs left): with a
    cancelled exchange's log still being made past ``timeout`` (``outlived``), or none.
    (The flush it had, the warning.)"""
    had: list[Optional[float]] = []
    logger = logging.getLogger("readme_metrics")

    def flush(seconds: Optional[float]) -> bool:
        had.append(seconds)
        return False

    async def shut_down() -> None:
        outlive = Outlive()
        gate = asyncio.Event()
        if outlived:
            outlive.start(gate.wait())
        await Lifespan(flush, timeout, logger, outlive, lambda: 3).flush_off_loop()
        gate.set()

    caplog.set_level(logging.WARNING, logger=logger.name)
    asyncio.run(shut_down())
    said = messages(caplog, logging.WARNING, "the flush at the ASGI lifespan's shutdown")
    assert len(had) == 1 and len(said) == 1, (had, said)
    return had[0], said[0]


def test_the_lifespans_warning_says_the_time_its_flush_had(
        caplog: pytest.LogCaptureFixture) -> None:
    """Waiting for a cancelled exchange's log took the whole timeout: the flush had
    what was left (0.0 s) and says so. Before: "gave up after shutdown_timeout
    (README_SHUTDOWN_TIMEOUT) of 0.2s", as if it had had all of it."""
    had, said = lifespan_warning(caplog, outlived=True)
    assert had is not None and had < 0.2
    assert (f"gave up after the {had:.1f}s left of shutdown_timeout "
            "(README_SHUTDOWN_TIMEOUT) of 0.2s, the rest spent waiting for the logs of "
            "the exchanges the server cancelled: 3 logs not delivered yet") in said, said


def test_the_lifespans_warning_says_the_whole_timeout_when_it_had_it(
        caplog: pytest.LogCaptureFixture) -> None:
    had, said = lifespan_warning(caplog, outlived=False)
    assert had == 0.2
    assert ("gave up after shutdown_timeout (README_SHUTDOWN_TIMEOUT) of 0.2s: 3 logs "
            "not delivered yet") in said, said
