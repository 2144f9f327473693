"""blackbox7: what a user running the library under load found.

(a) The Metrics API down for a minute at full speed (uvicorn + FastAPI, 50 connections,
nothing listening, then a black hole): the queue kept its 10,000 logs, RSS stayed
bounded, and those 10,000 were delivered once the API came back. But 190,679 (refused)
and 227,782 (black hole) logs were dropped, and the only line said was the queue-full
warning's ``new logs are dropped (1 so far)``: it is said at most once a minute, and
the drops after it were said by no line, nor at the exit. Now, once the queue takes a log
again (at most once a minute), one warning says how many it dropped while full and for
how long; the close says those no line counted yet. Every case here fails before (no
such line).

(b) ``README_MAX_QUEUE_BYTES`` below one log's bytes (``5``, a typo, or kilobytes meant)
stopped delivery for good: every log was dropped as "queue full" with the queue empty,
against an API answering at once (uvicorn, 4 calls: 0 delivered). A log larger than the
bound is now taken when the queue holds nothing else, and sent; memory stays bounded by
the larger of the bound and one log. Fails before (0 of 3 delivered).
"""

from __future__ import annotations

import logging
import re
import threading

import pytest

from tests.support.delivery import (
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
)
from tests.support.fake_api import INLINE_TIMEOUT, Collector, Reply
from tests.support.polling import wait_until

HELD = 3  # max_queue_size: the logs a full queue holds (one POST's worth, in flight)
SENT = 20  # logs submitted while the API holds that POST


def _said_counts(caplog: pytest.LogCaptureFixture) -> list[int]:
    """The counts the lines after the queue-full warning said, in order."""
    said = (messages(caplog, logging.WARNING, "takes logs again")
            + messages(caplog, logging.WARNING, "as the delivery queue was full"))
    return [int(re.search(r": (\d+) logs? dropped", line).group(1)) for line in said]


def _fill(collector: Collector, make_delivery: MakeDelivery) -> tuple:
    """A delivery whose one POST the API holds, and SENT logs submitted meanwhile: HELD
    of them taken, the rest dropped as the queue is full."""
    gate = threading.Event()
    collector.default = Reply(gate=gate)
    # The held POST answered past 3 s (a loaded machine) went again: HELD logs counted
    # twice (at-least-once, SPEC 7); the timeout is not these tests' subject (flaky62).
    delivery = make_delivery(collector.url, max_queue_size=HELD, buffer_length=10,
                             timeout=INLINE_TIMEOUT)
    for n in range(SENT):
        delivery.submit(item(f"log-{n}"))
    assert delivery.stats["dropped_queue_full"] == SENT - HELD, delivery.stats
    return delivery, gate


@pytest.mark.parametrize("then", ["a log taken again", "a flush", "the close"])
def test_the_logs_a_full_queue_dropped_are_said_in_number(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture, then: str) -> None:
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    delivery, gate = _fill(collector, make_delivery)
    try:
        assert messages(caplog, logging.WARNING, "new logs are dropped (1 so far)")
        gate.set()  # the API is back
        wait_until(lambda: delivery.stats["queued"] == 0)  # delivered what it held
        assert len(collector.logs) == HELD
        assert _said_counts(caplog) == []  # no log taken since: nothing said yet
        if then == "a flush":  # uvicorn's lifespan flush, then no exit hook (SIGTERM)
            assert delivery.flush(5.0) is False  # some were dropped
        elif then == "the close":
            delivery.close()
        else:
            delivery.submit(item("after"))
    finally:
        gate.set()
    assert _said_counts(caplog) == [SENT - HELD], caplog.text
    assert adds_up(delivery.stats)


def test_drops_after_a_line_are_said_by_the_next_or_the_close(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture) -> None:
    """Two runs of drops within a minute: the first is said as the queue takes logs
    again, the second (held back a minute) at the close; together, every drop."""
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    delivery, gate = _fill(collector, make_delivery)
    try:
        gate.set()
        wait_until(lambda: delivery.stats["queued"] == 0)
        delivery.submit(item("after-1"))  # says the first run
        gate.clear()
        for n in range(SENT):  # the API holds a POST again: a second run
            delivery.submit(item(f"again-{n}"))
        gate.set()
        wait_until(lambda: delivery.stats["queued"] == 0)
        delivery.submit(item("after-2"))  # within the minute: held back
        assert len(_said_counts(caplog)) == 1, caplog.text
        delivery.close()
    finally:
        gate.set()
    counts = _said_counts(caplog)
    assert counts[0] == SENT - HELD and len(counts) == 2, counts
    assert sum(counts) == delivery.stats["dropped_queue_full"], (counts, delivery.stats)


@pytest.mark.parametrize("background", [pytest.param(True, id="background"),
                                        pytest.param(False, id="inline")])
def test_a_byte_bound_below_one_log_still_delivers(
        collector: Collector, make_delivery: MakeDelivery, background: bool) -> None:
    delivery = make_delivery(collector.url, max_queue_bytes=5,
                             background_worker_mode=background)
    for n in range(3):
        assert delivery.submit(item(f"log-{n}", body=b"x" * 100)) is True
        assert delivery.flush(5.0) is True
    assert [log["_id"] for log in collector.logs] == ["log-0", "log-1", "log-2"]
    assert delivery.stats["dropped"] == 0 and adds_up(delivery.stats), delivery.stats


def test_a_byte_bound_below_one_log_holds_one_log_at_most(
        collector: Collector, make_delivery: MakeDelivery) -> None:
    """The API holds the POST: the one log it carries is all the queue holds."""
    gate = threading.Event()
    collector.default = Reply(gate=gate)
    delivery = make_delivery(collector.url, max_queue_bytes=5, timeout=INLINE_TIMEOUT)
    try:
        for n in range(5):
            delivery.submit(item(f"log-{n}", body=b"x" * 100))
        assert delivery.stats["queued"] == 1, delivery.stats
        assert delivery.stats["dropped_queue_full"] == 4, delivery.stats
    finally:
        gate.set()
    assert delivery.flush(5.0) is False  # 4 were dropped
    assert [log["_id"] for log in collector.logs] == ["log-0"]
