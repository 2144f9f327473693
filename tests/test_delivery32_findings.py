"""delivery32: the counts as ``close()`` returns, at its deadline.

blackbox6 saw, once in two runs against an API answering a byte a second, ``stats``
right after ``close()`` returned show ``queued`` 100 while the close's warning had already
said "100 logs not delivered": they became ``dropped_shutdown`` within 1 s. The order: the
close waits for its senders until its deadline (``WorkerPool.join``), the POSTs still in
flight are cut at that same deadline (``watchdog.end_by``), and each sender counted its
batch (``Batcher.cut_at_close``) once back from the cut POST, which may be after the
closing thread has said what it gave up on and returned. The close now gives those
batches up itself as it ends at its deadline (``Batcher.end_close(in_flight=True)``).

Here the senders are held at the points where they count (patched), released only once
``close()`` returned: the order blackbox6 met by chance, forced.

Under hypercorn, which runs Python's exit hooks, an API that never answers had both the
ASGI lifespan's flush (blackbox6) and the exit's close say the logs were not delivered,
"3 logs not delivered yet, still queued" and then "3 logs not delivered", as if 6 were
lost. The close's warning now says they are the same logs.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from readme_metrics.delivery import Delivery
from tests.support.delivery import (
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
    said_counts,
)
from tests.support.fake_api import Collector, Reply
from tests.support.polling import wait_until
from tests.test_blackbox6_findings import stop_unanswered

#: A guard against a hang, not a synchronisation: every wait below is ended by an event.
GUARD = 60.0


def held(go: threading.Event, entered: threading.Event,
         call: Callable[..., Any]) -> Callable[..., Any]:
    """``call``, made only once ``go`` is set (``entered`` set as it is called)."""
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        go.wait(GUARD)
        return call(*args, **kwargs)
    return wrapper


def counts(delivery: Delivery) -> tuple[int, int, int, int]:
    """``sent``, ``queued``, ``dropped_shutdown``, ``dropped_unknown`` (delivery80)."""
    stats = delivery.stats
    assert adds_up(stats), stats
    return (stats["sent"], stats["queued"], stats["dropped_shutdown"],
            stats["dropped_unknown"])


def after_the_senders(delivery: Delivery, go: threading.Event) -> tuple[int, int, int, int]:
    """The counts once the held senders went on and ended."""
    go.set()
    delivery._pool.join(time.monotonic() + GUARD)
    assert not delivery._pool.running()
    return counts(delivery)


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "requests"])
def test_close_returns_with_the_post_it_cut_counted(
        make_delivery: MakeDelivery, collector: Collector,
        caplog: pytest.LogCaptureFixture, direct: bool) -> None:
    """A POST the API reads and never answers, cut at the close's deadline; its sender
    counts it only once ``close()`` returned. Before: ``queued`` 1, ``dropped_shutdown``
    0 right after ``close()`` said "1 log not delivered"."""
    never, go, entered = threading.Event(), threading.Event(), threading.Event()
    collector.default = Reply(gate=never)
    try:
        delivery = make_delivery(collector.url, buffer_length=1, timeout=5.0,
                                 shutdown_timeout=0.5, direct=direct)
        batcher = delivery._batcher
        batcher.cut_at_close = held(go, entered, batcher.cut_at_close)  # type: ignore[method-assign]
        assert delivery.submit(item("log-0"))
        wait_until(lambda: collector.in_flight == 1, timeout=GUARD)
        delivery.close()
        # (read in full, unanswered: unknown, since delivery80; "1 log not delivered")
        assert counts(delivery) == (0, 0, 0, 1)
        assert messages(caplog, logging.WARNING, "0 logs not delivered, 1 unknown")
        assert after_the_senders(delivery, go) == (0, 0, 0, 1)  # counted once
        assert entered.is_set()  # (the sender did come back through the held point)
    finally:
        go.set()
        never.set()


def test_a_batch_taken_before_the_close_ended_is_not_kept_after_it(
        make_delivery: MakeDelivery, collector: Collector) -> None:
    """A sender that took a batch while the close drained, and comes to post it only
    once the close gave up (held here in the batch's encoding): the batch was put back
    in line, ``queued`` for good after ``close()`` (no sender left to take it). Now the
    close gave it up as it ended, and the sender drops it."""
    go, entered = threading.Event(), threading.Event()
    delivery = make_delivery(collector.url, buffer_length=1, shutdown_timeout=0.5)
    sender = delivery._attempt._sender
    try:
        sender.encode_upto = held(  # type: ignore[method-assign]
            go, entered, sender.encode_upto)
        assert delivery.submit(item("log-0"))
        assert entered.wait(GUARD)
        delivery.close()
        assert counts(delivery) == (0, 0, 1, 0)
        assert after_the_senders(delivery, go) == (0, 0, 1, 0)
        assert not delivery._queue.retries and not delivery._queue.in_flight
        assert collector.logs == []
    finally:
        go.set()


SAME = ", of the 3 logs the flush at the ASGI lifespan's shutdown said were still queued"


def test_a_hypercorn_stop_says_the_lifespans_logs_and_the_exits_are_the_same(
        collector: Collector, tmp_path: Path) -> None:
    said = stop_unanswered(collector, tmp_path, "hypercorn")
    lines = [line for line in said.splitlines() if "not delivered" in line]
    assert len(lines) == 2, said
    assert "the flush at the ASGI lifespan's shutdown gave up" in lines[0], said
    assert "else the exit's close says what became of them" in lines[0]  # (review114)
    # Before: "closing gave up ...: 3 logs not delivered (3 of them in POSTs cut at the
    # close, ...)" and nothing saying they were the lifespan's 3.
    # (delivery80: read in full, unanswered, "0 logs not delivered, 3 unknown")
    assert "closing gave up" in lines[1] and sum(said_counts(lines[1])) == 3, said
    assert SAME + " (the same logs, not more)" in lines[1], said


def test_the_close_says_the_same_logs_only_if_none_came_since(
        make_delivery: MakeDelivery, collector: Collector,
        caplog: pytest.LogCaptureFixture) -> None:
    """A log accepted after the flush said what it left may be among those the close
    gives up on: then the close says nothing of the flush's."""
    never = threading.Event()
    collector.default = Reply(gate=never)
    try:
        same = make_delivery(collector.url, buffer_length=10, shutdown_timeout=0.3)
        more = make_delivery(collector.url, buffer_length=10, shutdown_timeout=0.3)
        for delivery in (same, more):
            for n in range(3):
                assert delivery.submit(item(f"log-{n}"))
            assert delivery.left_said() == 3
        assert more.submit(item("log-3"))
        same.close()
        more.close()
    finally:
        never.set()
    said = messages(caplog, logging.WARNING, "closing gave up")
    assert len(said) == 2, said
    assert SAME in said[0] and sum(said_counts(said[0])) == 3, said
    assert "lifespan" not in said[1] and sum(said_counts(said[1])) == 4, said
