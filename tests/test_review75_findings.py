"""review75: defects found in the session's change (320d47b..110fa78).

- delivery20: a sender ending as surplus (``Staffing.surplus_locked``) told why it ended
  by reading ``batcher.closed`` after ``next_batch`` returned. A release() whose close
  another sender began in between (``_close_released_locked``) made the ending sender
  take the unattended close for its own: ``end_unattended`` dropped every log waiting as
  "shutdown" at once, the deadline far off, while the sender that stayed would have sent
  them.
"""

from __future__ import annotations

import pytest

from readme_metrics.delivery import staffing as staffing_module
from tests.support.delivery import (
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    put_log,
)
from tests.support.fake_api import Collector


def test_a_surplus_sender_ending_as_a_release_begins_drops_nothing(
        collector: Collector, make_delivery: MakeDelivery,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two senders counted in, a span over with no POST: the one that looks ends. Just
    after its next_batch returned, the other begins the close a release() asked for
    (what its own next_batch does at its next look). Before, the ending sender saw
    ``closed`` and ended the close unattended: 3 logs dropped "shutdown" (the
    deadline 2 s away), none sent. Now it just ends; the close sends all 3."""
    monkeypatch.setattr(staffing_module, "IDLE_END", 0.0)
    delivery = make_delivery(collector.url, buffer_length=10)
    batcher = delivery._batcher
    batcher.staffing.sender_began()  # the sender that stays (no thread: driven below)
    batcher.staffing.sender_began()  # the one that ends
    for n in range(3):
        put_log(batcher, f"waiting-{n}")  # fewer than buffer_length: none due
    surplus = batcher.staffing.surplus_locked

    def then_released() -> bool:
        ends = surplus()
        if ends and not batcher.released:
            # The owner gone (a finalizer's release()) and the other sender's look
            # beginning its close, before this one is back in its loop (under the lock
            # here; the same for this sender as just after it).
            delivery.release()
            assert batcher._close_released_locked()
        return ends

    monkeypatch.setattr(batcher.staffing, "surplus_locked", then_released)
    delivery._loop(batcher)  # the surplus sender, in this thread
    assert batcher.staffing.senders == 1
    stats = delivery.stats
    assert stats["dropped"] == 0, stats
    assert batcher.closing and len(batcher.queue.items) == 3
    delivery._loop(batcher)  # the one that stayed: sends what waits, ends the close
    stats = delivery.stats
    assert stats["sent"] == 3 and stats["dropped"] == 0 and adds_up(stats), stats
    assert sorted(log["_id"] for log in collector.logs) == [
        "waiting-0", "waiting-1", "waiting-2"]
