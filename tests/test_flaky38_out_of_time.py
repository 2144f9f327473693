"""flaky38: a log a sender took before the close, whose POST could not begin before the
close's deadline, was dropped ("shutdown") by that sender and said by no one.

The sender checks the close's deadline after it built the batch (Attempt.__call__) and,
past it, settled the batch dropped itself (``_out_of_time``). When that came between the
close's deadline and its ``end_close``, the close found nothing waiting, nothing in
flight, nothing cut: it said nothing, and the log was lost unsaid. Seen under daphne
(tests/test_newcomer19_findings.py [daphne], whole-suite run under load: the exit's close
ran out while its one sender, starved, had not posted; and with
README_SHUTDOWN_TIMEOUT=0, 2 of 6 exits said nothing of the log they dropped).

Forced here, no timing: the build of the batch (the sender's, taken before the close)
is held until the close reaches its ``end_close``; the close's deadline is already past
(``began`` 1 s ago, a bound of 0.5 s); ``end_close`` then waits for the sender to have
settled the batch before it counts.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest

from tests.support.delivery import (
    MakeDelivery,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    build_id,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
)
from tests.support.fake_api import Collector

#: The longest the test waits for a thread it let go (never reached when it works).
PATIENCE = 10.0


def test_a_batch_out_of_time_at_the_close_is_said_not_delivered(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture) -> None:
    building = threading.Event()
    let_build = threading.Event()

    def held_build(pending: Any) -> dict:
        building.set()
        let_build.wait(PATIENCE)
        return build_id(pending)

    delivery = make_delivery(collector.url, held_build, buffer_length=1,
                             shutdown_timeout=0.5)
    queue = delivery._queue
    end_close = delivery._batcher.end_close

    def end_close_once_settled(*args: Any, **kwargs: Any) -> Any:
        let_build.set()  # the sender goes on: past the deadline, it gives the batch up
        until = time.monotonic() + PATIENCE
        with queue.lock:  # (settling notifies no one here: looked at in short waits)
            while queue.resolved < queue.accepted and time.monotonic() < until:
                queue.done.wait(0.01)
        return end_close(*args, **kwargs)

    delivery._batcher.end_close = end_close_once_settled  # type: ignore[method-assign]
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    assert delivery.submit(item("one"))
    assert building.wait(PATIENCE)  # taken by a sender, in its build
    delivery.close(began=time.monotonic() - 1.0)

    assert collector.logs == []
    stats = delivery.stats
    assert stats["dropped_shutdown"] == 1, stats
    said = messages(caplog, logging.WARNING, "not delivered")
    assert len(said) == 1 and "1 log not delivered" in said[0], caplog.text
