"""Honest stop lines and counts, delivery81's leftovers (delivery85).

Each against a real server on 127.0.0.1 (tests/support/fake_api.py's collector, or a
raw socket server where the answer must stop half-way):

1. The close's line was written as the close ended, before the senders of the POSTs it
   cut at its deadline were back: a 202 whose head came as the cut came was said
   "0 logs not delivered, 3 unknown" while ``stats`` said ``sent`` 3 a moment later
   (``ended_late``). Now the close waits a moment (``SETTLE``) for those senders, and
   its line and ``stats`` as ``close()`` returns are the final figures.
2. A close ending before its deadline with a POST still in flight said "1 log not
   delivered (1 of them in POSTs still waiting for the Metrics API's answer: it may
   have them)", the POST's logs ``queued`` in ``stats``, then ``sent``. Now it waits for
   that POST (within its deadline) and says nothing it did not count.
3. (a check, no change) Retries running out after POSTs the server read in full and
   closed unanswered are ``dropped_unknown``, said "the Metrics API may have them"
   (delivery81's rule, ``Batch.cut_short``): the server read them, so the API may have
   stored them; "not delivered" would be a guess.
4. A 401 after a POST of the same batch was read in full and closed unanswered counted
   its logs ``dropped_auth`` (so did a batch waiting for its retry so when the pause
   dropped it): the API may have them from that POST. Now ``dropped_unknown``.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest

from readme_metrics.delivery import Delivery
from tests.support.delivery import (  # noqa: F401 (fixtures)
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,
    item,
    make_delivery_fixture,
    pool_join_at_once,
    posting,
    retried_out,
    said_counts,
    said_with,
)
from tests.support.fake_api import Collector, Reply
from tests.support.held_head import (  # noqa: F401 (``head_then_held``)
    closed_as_the_head_came,
    head_then_held_fixture,
)
from tests.support.paused_retry import paused_with_a_retry_waiting
from tests.support.polling import wait_until
from tests.support.processes import LINE_WAIT
from tests.support.watchdog_points import (
    GUARD,
    Cuts,
    before_the_first_verdict,
    senders_settle_once_the_close_waits,
)

ROUTES = pytest.mark.parametrize("direct", [True, False], ids=["direct", "requests"])


def _said_as_counted(lines: list[str], stats: dict[str, int]) -> None:
    """The close's line (if any) says the counts ``stats`` has for what it gave up on:
    "N not delivered" ``dropped_shutdown``, "M unknown" ``dropped_unknown``."""
    assert len(lines) <= 1, lines
    said = said_counts(lines[0]) if lines else (0, 0)
    assert said == (stats["dropped_shutdown"], stats["dropped_unknown"]), (lines, stats)


def _senders_back(delivery: Delivery) -> dict[str, int]:
    """``stats`` once every sender thread ended (none is left in a POST)."""
    assert delivery._pool.join(time.monotonic() + LINE_WAIT)
    return delivery.stats


@ROUTES
def test_the_close_line_says_a_202_read_as_it_cut_the_post_as_delivered(
        make_delivery: MakeDelivery,
        head_then_held: tuple[str, threading.Event],
        caplog: Any, monkeypatch: pytest.MonkeyPatch, direct: bool) -> None:
    """1. 3 logs in one POST, read in full; the 202's head comes at once, its body
    held; ``close()`` (0.5 s) cuts the POST at its deadline. Before: "0 logs not
    delivered, 3 unknown" and ``dropped_unknown`` 3 as ``close()`` returned, ``sent`` 3
    once the sender was back. Now no line (nothing lost), ``sent`` 3 as it returns.

    The sender acts on the cut only once the close waits for it (or once ``close()``
    returned, if it never does): a close that gives its senders no time fails every
    run, however the threads are scheduled (flaky62: 2 of 8 passed, the sender faster)."""
    url, body = head_then_held
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    head = threading.Event()
    before_the_first_verdict(monkeypatch, head.set)
    cuts = Cuts(monkeypatch)
    held: list[threading.Event] = []

    def hold(delivery: Delivery) -> None:
        assert head.wait(GUARD)  # (the 202's head read before the close begins)
        held.append(senders_settle_once_the_close_waits(monkeypatch, delivery._batcher,
                                                        cuts))

    delivery = closed_as_the_head_came(make_delivery, url, direct, hold)
    closed = delivery.stats
    held[0].set()
    body.set()
    final = _senders_back(delivery)
    assert adds_up(closed) and closed == final, (closed, final)
    _said_as_counted(said_with(caplog, "closing gave up"), final)
    assert (final["sent"], final["dropped"]) == (3, 0), final


def test_a_close_ending_early_waits_for_the_post_in_flight(
        make_delivery: MakeDelivery, collector: Collector, caplog: Any) -> None:
    """2. One log's POST answered 202 after 0.3 s; the close (``shutdown_timeout`` 10
    s) finds no sender to wait for (the pool's join returns at once, as for a sender
    started after it looked: review108's seam) and nothing due. Before: it ended at
    once, "1 log not delivered (1 of them in POSTs still waiting for the Metrics API's
    answer: it may have them)", ``queued`` 1, then ``sent`` 1. Now it waits for the
    POST: no line, ``sent`` 1 as ``close()`` returns."""
    collector.replies.append(Reply(delay=0.3))
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    delivery = make_delivery(collector.url, buffer_length=1, shutdown_timeout=10.0)
    posting(delivery, "a", timeout=LINE_WAIT)
    with pool_join_at_once(delivery):
        delivery.close()
    closed = delivery.stats
    final = _senders_back(delivery)
    lines = said_with(caplog, "closing gave up")
    assert not any("still waiting" in line for line in lines), lines
    assert adds_up(closed) and closed == final, (closed, final)
    _said_as_counted(lines, final)
    assert final["sent"] == 1, final


@ROUTES
def test_retries_out_after_posts_read_and_closed_unanswered_are_unknown(
        make_delivery: MakeDelivery, collector: Collector, caplog: Any,
        direct: bool) -> None:
    """3. Every POST read in full, then its connection closed unanswered; retries
    out at ``max_attempts`` 2: ``dropped_unknown`` 2, said as logs the Metrics API may
    have (the same before: a check of delivery81's rule for a server's close)."""
    collector.judge = lambda received: Reply(drop=True)
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    stats = retried_out(make_delivery, collector.url, direct=direct).stats
    assert adds_up(stats), stats
    assert (stats["dropped_unknown"], stats["dropped_retries_exhausted"]) == (2, 0), stats
    said = said_with(caplog, "could not deliver a batch of 2 logs")
    assert len(said) == 1 and "the Metrics API may have them" in said[0], said
    assert len(collector.failed) >= 2  # (each POST reached the server in full)


@ROUTES
def test_a_401_after_a_post_read_and_closed_unanswered_is_unknown(
        make_delivery: MakeDelivery, collector: Collector, caplog: Any,
        direct: bool) -> None:
    """4. A log's POST read in full and closed unanswered, its retry answered 401:
    the pause drops it. Before: ``dropped_auth`` 1; the API may have it from the first
    POST: now ``dropped_unknown`` 1. The pause's one error line as before."""
    collector.replies.extend([Reply(drop=True), Reply(status=401)])
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    delivery = make_delivery(collector.url, buffer_length=1, direct=direct)
    assert delivery.submit(item("a"))
    wait_until(lambda: delivery.stats["dropped"] == 1, timeout=LINE_WAIT)
    stats = delivery.stats
    assert adds_up(stats), stats
    assert (stats["dropped_unknown"], stats["dropped_auth"]) == (1, 0), stats
    assert len(said_with(caplog, "refused the API key")) == 1


def test_a_retry_waiting_after_a_post_closed_unanswered_is_unknown_at_a_pause(
        make_delivery: MakeDelivery, collector: Collector) -> None:
    """4. Log ``a``'s POST read in full and closed unanswered, its retry due in 30 s;
    log ``b``'s POST answered 401: the pause drops ``b`` (``auth``) and ``a``, waiting.
    Before: ``dropped_auth`` 2; now ``a`` is ``dropped_unknown``."""
    stats = paused_with_a_retry_waiting(make_delivery, collector).stats
    assert adds_up(stats), stats
    assert (stats["dropped_unknown"], stats["dropped_auth"]) == (1, 1), stats

