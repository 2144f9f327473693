"""Honest counts of what was and was not delivered (delivery81).

delivery80 made one rule (``post_progress.may_have``) say "unknown" of logs the Metrics
API may have. Left behind, each shown here against a real server on 127.0.0.1:

(a) A POST the close gave up on at its deadline (counted ``dropped_unknown``) whose
    answer came all the same: its status line and headers read before the cut, a 202.
    Its sender came back with that verdict after the close and counted nothing: the
    stats said ``dropped_unknown`` 3 for good of 3 logs the API had taken. Now the final
    figures are what happened (``sent`` 3), each log counted once.
(b) A batch whose POSTs went in full and timed out, retried until ``max_attempts``: it
    was counted ``dropped_retries_exhausted`` and said "dropping it", though the API
    read every one of its POSTs. Now ``dropped_unknown``, said "the Metrics API may
    have them". One refused at connect (never sent) stays ``retries_exhausted``.
(c) The exit's bound's line said "1 log not delivered: in POSTs cut at the exit's
    bound, ...; unanswered: the Metrics API may have them" of a POST read in full: now
    the one wording, "0 logs not delivered, 1 unknown (in POSTs sent in full, ...)".
(d) On the ``requests`` route a POST was marked as being written before it connected:
    cut by the close while still connecting (a listener whose backlog is full), its
    log was said "unknown" and counted ``dropped_unknown`` though no byte of it went.
    The direct route was exact; now both say "1 log not delivered".
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any, Iterator

import pytest

from readme_metrics.delivery import process
from tests.support.delivery import (  # noqa: F401 (fixtures)
    UNKNOWN,
    MakeDelivery,
    adds_up,
    item,
    make_delivery_fixture,
    posting,
    retried_out,
    said_counts,
    said_with,
)
from tests.support.held_api import holding
from tests.support.held_head import (  # noqa: F401 (``head_then_held``)
    closed_as_the_head_came,
    head_then_held_fixture,
)
from tests.support.polling import wait_until
from tests.support.ports import free_port
from tests.support.processes import LINE_WAIT

ROUTES = pytest.mark.parametrize("direct", [True, False], ids=["direct", "requests"])


@ROUTES
def test_a_202_read_as_the_close_gave_the_post_up_is_counted_sent(
        make_delivery: MakeDelivery, head_then_held: tuple[str, threading.Event],
        caplog: Any, direct: bool) -> None:
    """(a) 3 logs, one POST read in full; the API's 202 head comes at once, its body
    held. ``close()`` (``shutdown_timeout`` 0.5 s) gives the POST up at its deadline
    ("3 unknown"); its sender comes back with the 202. Before: ``dropped_unknown`` 3
    for good. Now ``sent`` 3, ``dropped`` 0, every log once."""
    url, body = head_then_held
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    delivery = closed_as_the_head_came(make_delivery, url, direct)
    assert adds_up(delivery.stats), delivery.stats
    body.set()
    # Its sender back: the close's debug line of the POST it had given up on.
    wait_until(lambda: said_with(caplog, "that the close had given up on", logging.DEBUG)
               or delivery.stats["sent"] == 3, timeout=LINE_WAIT)
    delivery._pool.join(time.monotonic() + LINE_WAIT)
    stats = delivery.stats
    assert adds_up(stats), stats
    assert (stats["sent"], stats["dropped"], stats["dropped_unknown"]) == (3, 0, 0), stats
    assert (stats["batches"], stats["failed_batches"]) == (1, 0), stats


def test_retries_exhausted_after_posts_read_in_full_are_unknown(
        make_delivery: MakeDelivery, caplog: Any) -> None:
    """(b) 2 logs; every POST is read in full and never answered (``timeout`` 0.3 s),
    ``max_attempts`` 2 (each at the backoff's cap). Before: ``dropped_retries_exhausted``
    2, "dropping it". Now ``dropped_unknown`` 2, said as logs the Metrics API may have."""
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    with holding() as (collector, _):
        delivery = retried_out(make_delivery, collector.url, timeout=0.3)
    stats = delivery.stats
    assert adds_up(stats), stats
    assert (stats["dropped_unknown"], stats["dropped_retries_exhausted"]) == (2, 0), stats
    said = said_with(caplog, "could not deliver a batch of 2 logs")
    assert len(said) == 1 and "the Metrics API may have them" in said[0], said


def test_retries_exhausted_never_sent_stay_retries_exhausted(
        make_delivery: MakeDelivery, caplog: Any) -> None:
    """(b)'s counterpart: nothing listens (each connect refused): no byte went,
    ``dropped_retries_exhausted`` 2 as before, no "may have them"."""
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    stats = retried_out(make_delivery, f"http://127.0.0.1:{free_port()}").stats
    assert (stats["dropped_retries_exhausted"], stats["dropped_unknown"]) == (2, 0), stats
    said = said_with(caplog, "could not deliver a batch of 2 logs")
    assert len(said) == 1 and "may have them" not in said[0], said


def test_a_post_cut_at_the_exits_bound_is_said_in_the_one_wording(
        make_delivery: MakeDelivery, caplog: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """(c) Inline, the main thread ended: a log's POST, read in full and never
    answered, is cut at the exit's bound (``shutdown_timeout`` 0.5 s); a log past it
    gives the close a bound of its own, which delivers it. The line says "0 logs not
    delivered, 1 unknown (in POSTs sent in full, cut unanswered: ...)" with where it was
    cut; before: "1 log not delivered: in POSTs cut at the exit's bound, ...;
    unanswered: the Metrics API may have them"."""
    with holding(then=()) as (collector, _):
        delivery = make_delivery(collector.url, buffer_length=10, shutdown_timeout=0.5,
                                 background_worker_mode=False)
        delivery.post_waiting()  # (the main thread's end: nothing waits)
        assert delivery.submit(item("cut"))  # posted inline at once, cut at exit_by
        wait_until(lambda: collector.failed or collector.received)
        assert delivery.submit(item("late"))  # past the bound: the close's own
        began = time.monotonic()
        monkeypatch.setattr(process, "exit_began", lambda: began)
        caplog.set_level(logging.WARNING, logger="readme_metrics")
        caplog.clear()
        delivery.close()
    stats = delivery.stats
    assert adds_up(stats) and stats["sent"] == 1 and stats["dropped_unknown"] == 1, stats
    said = said_with(caplog, "exit's bound")
    assert len(said) == 1, said
    assert said_counts(said[0]) == (0, 1) and UNKNOWN in said[0], said


@pytest.fixture
def backlog_full() -> Iterator[str]:
    """A listener on 127.0.0.1 that never accepts, its backlog filled: a connect to it
    hangs (its SYN dropped), no byte of a request can go."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    fillers = []
    address = server.getsockname()
    for _ in range(3):  # (Linux queues one at backlog 0; the rest time out)
        filler = socket.socket()
        filler.settimeout(0.2)
        try:
            filler.connect(address)
        except OSError:
            pass
        fillers.append(filler)
    try:
        yield f"http://127.0.0.1:{address[1]}"
    finally:
        for filler in fillers:
            filler.close()
        server.close()


@ROUTES
def test_a_post_cut_while_connecting_is_not_delivered_not_unknown(
        make_delivery: MakeDelivery, backlog_full: str, caplog: Any,
        direct: bool) -> None:
    """(d) 1 log; its POST hangs connecting (``timeout`` 60 s); ``close()`` with
    ``shutdown_timeout`` 0.5 s gives it up: nothing was sent, "1 log not delivered",
    ``dropped_shutdown`` 1. Before, through ``requests``: "0 logs not delivered, 1
    unknown", ``dropped_unknown`` 1 (marked being written before it connected)."""
    delivery = make_delivery(backlog_full, buffer_length=1, shutdown_timeout=0.5,
                             timeout=60.0, direct=direct)
    posting(delivery, "a", timeout=LINE_WAIT)
    time.sleep(0.2)  # (well into its connect)
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    delivery.close()
    said = said_with(caplog, "closing gave up")
    assert len(said) == 1 and said_counts(said[0]) == (1, 0), said
    stats = delivery.stats
    assert (stats["dropped_shutdown"], stats["dropped_unknown"]) == (1, 0), stats
    assert adds_up(stats), stats
