"""delivery56: the close a ``release()`` began says the logs it refused.

When the owner is gone (the pipeline, and so the middleware, collected: a finalizer's
``Delivery.release``), a sender (background) or ``drain_released`` (inline) drains what
waits and ends the close itself (``Batcher.end_unattended``). A log that came while that
close drained and that no POST of it carried (inline: every one; background: at the
queue's bounds, past the deadline, once the close's own logs settled) was counted in
``dropped_shutdown`` as ``refused_closing``, but only the exit's close and ``close()``
said those (``Closing._say_refused_closing``): the release path's close said nothing of
them (delivery53 left it). Now said once as that close ends, as the others do.

Real parts: the loopback collector, its POSTs held at a gate while the late log comes.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from tests.support.delivery import (  # noqa: F401 (fixtures)
    MakeDelivery,
    adds_up,
    item,
    make_delivery_fixture,
    messages,
)
from tests.support.fake_api import Collector, Reply
from tests.support.polling import wait_until

_REFUSED = "of calls the server answered after the close began"


@pytest.mark.parametrize("background", [False, True])
def test_a_log_refused_while_a_released_close_drains_is_said_once(
        make_delivery: MakeDelivery, collector: Collector, caplog: Any,
        background: bool) -> None:
    """The close a release began, its POST held: one more log comes and is refused
    (inline: only the close's thread sends; background: at the queue's bound of 1).
    Once that close ended, one warning says it, and no later close says it again.
    Before: counted in dropped_shutdown, said by no line (0 of 1)."""
    caplog.set_level(logging.DEBUG, logger="readme_metrics")
    delivery = make_delivery(collector.url, buffer_length=1 if background else 100,
                             background_worker_mode=background,
                             max_queue_size=1 if background else 100,
                             shutdown_timeout=30.0, timeout=30.0,
                             flush_interval=600)
    answer = threading.Event()
    collector.default = Reply(gate=answer)
    try:
        assert delivery.submit(item("log-0"))
        if background:
            wait_until(lambda: collector.in_flight == 1)  # the sender's POST, held
            assert not delivery.release()
            wait_until(lambda: delivery._batcher.closing)
        else:
            assert delivery.release()  # held by the process: a thread of ours drains
            drain = threading.Thread(target=delivery.drain_released, daemon=True)
            drain.start()
            wait_until(lambda: collector.in_flight == 1)
        assert not delivery.submit(item("refused"))
    finally:
        answer.set()
    if background:
        wait_until(lambda: not delivery._batcher.closing)
        wait_until(lambda: not delivery._pool.running())
    else:
        drain.join(30)
        assert not drain.is_alive()
    said = messages(caplog, logging.WARNING, _REFUSED)
    assert len(said) == 1 and said[0].startswith("readme_metrics: 1 log not delivered"), said
    delivery.close()
    assert len(messages(caplog, logging.WARNING, _REFUSED)) == 1
    stats = delivery.stats
    assert adds_up(stats), stats
    assert (stats["sent"], stats["dropped_shutdown"]) == (1, 1), stats
    assert [log["_id"] for log in collector.logs] == ["log-0"]
