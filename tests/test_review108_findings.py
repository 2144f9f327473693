"""review108: an adversarial read of delivery32 (the close counts the batches in flight).

delivery32's ``Batcher.end_close(in_flight=True)`` settles the batches still in flight
``dropped_shutdown`` as a close ends at its deadline (``Queue.settle_locked``: the batch's
count set to 0), and a sender back after "counts nothing more". A sender held in the
batch's encoding is not quite done with it, though:

* a log of it that cannot be built was dropped alone (``Queue.drop_one_locked``) from a
  batch already settled: ``dropped_build_error`` 1 more, the batch's count -1, and the
  sender's ``settle(batch, "shutdown")`` then resolved -1 log: ``dropped_shutdown`` went
  *down* (2 to 1) after ``close()`` returned, a second failed batch counted;
* a close that gave up inside ``EARLY`` of its deadline, its deadline not reached yet
  (``left <= EARLY``, ``left > 0``: the senders it knew of ended, one started after it
  looked still encoding), had that sender POST the batch after ``close()`` returned,
  bounded by the deadline's remainder: the API took logs the close had said "not
  delivered" (counted ``cut_unsent``, no "may have them"), and no ``sent`` counted.

The senders are held at their encoding (patched) and released only once ``close()``
returned: the order forced, no sleep.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from readme_metrics.delivery import Delivery, closing
from tests.support.delivery import (
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    build_id,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    pool_join_at_once,
)
from tests.support.fake_api import Collector
from tests.test_delivery32_findings import GUARD, after_the_senders, held


def build_or_fail(pending: Any) -> dict[str, Any]:
    """``build_id``, but a log named ``bad...`` cannot be built."""
    if pending.to_exchange().id.startswith("bad"):
        raise ValueError("cannot build this one")
    return build_id(pending)


def encoding_held(delivery: Delivery, go: threading.Event, *names: str) -> None:
    """Submit ``names``, their sender held in the batch's encoding until ``go``."""
    entered = threading.Event()
    sender = delivery._attempt._sender
    sender.encode_upto = held(  # type: ignore[method-assign]
        go, entered, sender.encode_upto)
    assert all(delivery.submit(item(name)) for name in names)
    assert entered.wait(GUARD)


def test_a_build_error_in_a_batch_the_close_gave_up_counts_nothing_more(
        make_delivery: MakeDelivery, collector: Collector) -> None:
    """Before: ``dropped_shutdown`` 2 as ``close()`` returned, then 1 (and
    ``dropped_build_error`` 1) once the held sender's encoding met the bad log."""
    go = threading.Event()
    delivery = make_delivery(collector.url, build_or_fail, buffer_length=2,
                             shutdown_timeout=0.5)
    try:
        encoding_held(delivery, go, "ok-0", "bad-1")
        delivery.close()
        closed = delivery.stats
        assert (closed["queued"], closed["dropped_shutdown"]) == (0, 2), closed
        assert after_the_senders(delivery, go) == (0, 0, 2, 0)
        stats = delivery.stats
        assert stats["dropped_build_error"] == 0 and stats["failed_batches"] == 1, stats
        assert adds_up(stats)
        assert collector.logs == []
    finally:
        go.set()


def test_a_batch_the_close_gave_up_before_its_deadline_is_not_posted_after(
        make_delivery: MakeDelivery, collector: Collector,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The close gives up inside ``EARLY`` of its deadline (widened here, and the pool's
    join returning at once: the senders it looked at ended) while a sender still
    encodes its batch. Before: that batch was POSTed after ``close()`` returned, the
    API took the log the close had counted ``dropped_shutdown`` ("not delivered")."""
    go = threading.Event()
    monkeypatch.setattr(closing, "EARLY", 60.0)
    delivery = make_delivery(collector.url, buffer_length=1, shutdown_timeout=30.0)
    try:
        encoding_held(delivery, go, "log-0")
        with pool_join_at_once(delivery):
            delivery.close()
        assert delivery._batcher.deadline > time.monotonic()  # gave up before it
        assert after_the_senders(delivery, go) == (0, 0, 1, 0)
        assert collector.logs == []  # not posted after close() returned
    finally:
        go.set()
