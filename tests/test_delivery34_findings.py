"""delivery34: delivery's known leftovers, each order forced (held points, events),
against a real collector on 127.0.0.1.

1. A log refused by the full queue as ``close()`` runs (its request thread between the
   queue's lock, where ``stats`` counts it, and ``QueueFullNotice.dropped``) was in
   ``stats['dropped_queue_full']`` but in no line: the close had said its drops before
   that one was told, and the warning after it is limited to one a minute.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest

from readme_metrics.delivery import Delivery
from tests.support.delivery import (
    API_KEY,
    MakeDelivery,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
)
from tests.support.fake_api import Collector, Reply

#: A guard against a hang, not a synchronisation: every wait below is ended by an event.
GUARD = 60.0

#: The counts the queue-full lines say (as tests/test_review109_counts.py reads them).
SAID = re.compile(r"(\d+) logs? dropped (?:while it was full|as the delivery queue was full)")


def said_dropped(caplog: pytest.LogCaptureFixture) -> int:
    return sum(int(m.group(1)) for m in (SAID.search(r.getMessage()) for r in caplog.records
                                         if r.name == "readme_metrics") if m)


def close_racing_a_drop(collector: Collector, delivery: Delivery, name: str) -> None:
    """Fill the queue (one log: ``kept``, its POST held), then submit ``name`` on a
    request thread that, refused by the full queue, is held between the queue's count
    and the notice's until ``close()`` (which delivers ``kept``) has returned."""
    answer = threading.Event()
    collector.default = Reply(gate=answer)
    assert delivery.submit(item("kept"), send=False)  # (inline: queued, not sent)
    notice: Any = delivery._queue_full
    told = notice.dropped
    refused, go = threading.Event(), threading.Event()

    def held(so_far: int) -> None:
        refused.set()
        go.wait(GUARD)
        told(so_far)

    notice.dropped = held
    thread = threading.Thread(target=lambda: (delivery.submit(item(name)), refused.set()))
    thread.start()
    try:
        assert refused.wait(GUARD)
        answer.set()
        delivery.close()
    finally:
        answer.set()
        go.set()
        thread.join(GUARD)
    assert not thread.is_alive()


@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
def test_a_drop_racing_the_close_is_said(collector: Collector, make_delivery: MakeDelivery,
                                         caplog: pytest.LogCaptureFixture,
                                         background: bool) -> None:
    delivery = make_delivery(collector.url, buffer_length=10, max_queue_size=1,
                             flush_interval=60, background_worker_mode=background)
    close_racing_a_drop(collector, delivery, "refused")
    stats = delivery.stats
    assert adds_up(stats) and stats["queued"] == 0, stats
    assert stats["dropped_queue_full"] == 1 and stats["sent"] == 1, stats
    assert said_dropped(caplog) == 1, [r.getMessage() for r in caplog.records]
    assert [log["_id"] for log in collector.logs] == ["kept"]
    assert API_KEY not in caplog.text


def test_a_drop_said_by_the_close_is_not_said_again(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture) -> None:
    """The late notice of the drop the close said opens no second count."""
    delivery = make_delivery(collector.url, buffer_length=10, max_queue_size=1,
                             flush_interval=60)
    close_racing_a_drop(collector, delivery, "refused")
    delivery.say_dropped()
    delivery.close()
    assert said_dropped(caplog) == 1, [r.getMessage() for r in caplog.records]
