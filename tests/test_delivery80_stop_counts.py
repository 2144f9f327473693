"""Every stop counts the logs the Metrics API may have as unknown (delivery80).

delivery79 had an interrupt's close tell the logs "not delivered" (never sent in full)
from the "unknown" ones (sent in full, cut unanswered: the API may have them). Left
behind: a close at its deadline said them "N logs not delivered (N of them in POSTs cut
at the close, unanswered: the Metrics API may have them)", counting them in its "not
delivered" total; ``stats`` counted them ``dropped_shutdown`` at any stop; and a batch
waiting for a retry after a POST of it timed out, sent in full, was said "not delivered"
alone when a close dropped it. Now one rule (``post_progress.may_have``) says them
unknown everywhere: "0 logs not delivered, 3 unknown (in POSTs sent in full, cut
unanswered: ...)", counted ``dropped_unknown``.

Real parts: a collector on 127.0.0.1 that reads every POST in full and holds its answer
(``Reply(gate=...)``), or answers a 503 with a ``Retry-After``; the library's own sender
threads and close; a real SIGINT to the main thread for the interrupt's case.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

import pytest

from tests.support.delivery import (  # noqa: F401 (fixtures)
    UNKNOWN,
    MakeDelivery,
    adds_up,
    item,
    make_delivery_fixture,
    said_counts,
    said_with,
)
from tests.support.fake_api import Reply
from tests.support.held_api import holding
from tests.support.polling import wait_until
from tests.support.processes import LINE_WAIT


def test_a_close_at_its_deadline_says_a_post_read_unanswered_unknown(
        make_delivery: MakeDelivery, caplog: Any) -> None:
    """3 logs in one POST the API read in full and holds unanswered; ``close()`` with
    ``shutdown_timeout`` 0.5 s cuts it at its deadline. Said "0 logs not delivered, 3
    unknown (...)", counted ``dropped_unknown`` 3, ``dropped_shutdown`` 0. Before: "3
    logs not delivered (3 of them in POSTs cut at the close, unanswered: ...)", counted
    ``dropped_shutdown`` 3."""
    with holding() as (collector, _):
        delivery = make_delivery(collector.url, buffer_length=3, shutdown_timeout=0.5,
                                 timeout=60.0)
        for name in ("a", "b", "c"):
            assert delivery.submit(item(name))
        collector.wait_for_logs(3, timeout=LINE_WAIT)  # read in full, its answer held
        caplog.set_level(logging.WARNING, logger="readme_metrics")
        delivery.close()
    said = said_with(caplog, "closing gave up")
    assert len(said) == 1, said
    assert said_counts(said[0]) == (0, 3), said
    assert UNKNOWN in said[0] and "of them in POSTs cut at the close" not in said[0], said
    stats = delivery.stats
    assert stats.get("dropped_unknown") == 3 and stats["dropped_shutdown"] == 0, stats
    assert stats["queued"] == 0 and adds_up(stats), stats


def test_a_batch_waiting_for_a_retry_after_a_timed_out_post_is_unknown_at_a_close(
        make_delivery: MakeDelivery, caplog: Any) -> None:
    """2 logs: their first POST is read in full and held past ``timeout`` (0.5 s), its
    retry answered 503 with ``Retry-After: 60``; then ``close()`` ends early (the next
    attempt due past its bound) and drops the batch. The API may have those logs (it read
    them, never answered): "0 logs not delivered, 2 unknown (...)", ``dropped_unknown``
    2. Before: "2 logs not delivered", ``dropped_shutdown`` 2."""
    with holding(then=[Reply(status=503, headers={"Retry-After": "60"})]) as (
            collector, _):
        delivery = make_delivery(collector.url, buffer_length=2, shutdown_timeout=5.0,
                                 timeout=0.5)
        for name in ("a", "b"):
            assert delivery.submit(item(name))
        # Both replies taken (the retry after the timeout answered), the batch back in
        # line for the Retry-After.
        queue = delivery._batcher.queue
        wait_until(lambda: not collector.replies and queue.retries and not queue.in_flight,
                   timeout=LINE_WAIT)
        caplog.set_level(logging.WARNING, logger="readme_metrics")
        delivery.close()
    said = said_with(caplog, "closing gave up")
    assert len(said) == 1, said
    assert said_counts(said[0]) == (0, 2), said
    assert UNKNOWN in said[0], said
    stats = delivery.stats
    assert stats.get("dropped_unknown") == 2 and stats["dropped_shutdown"] == 0, stats
    assert stats["sent"] == 0 and adds_up(stats), stats


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals reach the main thread only")
def test_an_interrupts_unknown_logs_are_not_counted_dropped_shutdown(
        make_delivery: MakeDelivery, caplog: Any) -> None:
    """3 logs in a POST read in full, held; a Ctrl-C in ``close()`` (a long
    ``shutdown_timeout``): delivery79 said "0 logs not delivered, 3 unknown", and still
    counted them ``dropped_shutdown`` 3; now ``dropped_unknown`` 3."""
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is not Python's KeyboardInterrupt here")

    def interrupt_once_closing() -> None:
        wait_until(lambda: delivery._batcher.closed, timeout=LINE_WAIT)
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    with holding() as (collector, _):
        delivery = make_delivery(collector.url, buffer_length=3, shutdown_timeout=60.0,
                                 timeout=60.0)
        for name in ("a", "b", "c"):
            assert delivery.submit(item(name))
        collector.wait_for_logs(3, timeout=LINE_WAIT)
        threading.Thread(target=interrupt_once_closing, daemon=True).start()
        caplog.set_level(logging.WARNING, logger="readme_metrics")
        with pytest.raises(KeyboardInterrupt):
            delivery.close()
    said = said_with(caplog, "closing gave up")
    assert len(said) == 1 and said_counts(said[0]) == (0, 3), said
    stats = delivery.stats
    assert stats.get("dropped_unknown") == 3 and stats["dropped_shutdown"] == 0, stats
    assert adds_up(stats), stats
