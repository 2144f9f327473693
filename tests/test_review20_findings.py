"""review20's items (an adversarial read of d4145a4..main): each test failed on main at
c414234 and passes with its fix, under real parts (the collector on 127.0.0.1, the public
middleware)."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

from readme_metrics import MetricsMiddleware
from tests.support.contract import json_app
from tests.support.fake_api import Collector, Reply
from tests.support.wsgi import run_wsgi, wsgi_environ

# -- 1. flush(): a drop answered for once, also when it settled before an older log --------


def test_flush_answers_for_a_drop_once_when_an_older_log_was_still_on_its_way(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    """Two senders: log 1's POST is slow, log 2's is rejected (400) meanwhile. A flush
    that runs out of time says False (log 1 on its way, log 2 dropped); once log 1 is
    delivered, the next flush has nothing new to answer for. It said False again: the
    drops answered for were counted up to the oldest log unsettled (0), not up to the
    flush's own logs, so a drop of a newer log was reported by every flush until the
    older one settled, and by the first one after."""
    gate = threading.Event()
    collector.replies.extend([Reply(gate=gate), Reply(status=400)])
    middleware = inline_wrap(json_app, background_worker_mode=True, flush_interval=0,
                             timeout=30)
    try:
        run_wsgi(middleware, wsgi_environ(path="/slow"))
        deadline = time.monotonic() + 10
        while not collector.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        run_wsgi(middleware, wsgi_environ(path="/rejected"))
        # The flush starts a second sender for log 2 (the first is held in log 1's POST),
        # which the API rejects; log 1 is still on its way when the flush gives up.
        assert middleware.flush(1.0) is False
        assert middleware.stats["dropped_rejected"] == 1
    finally:
        gate.set()
    collector.wait_for_logs(1)
    assert middleware.flush(5.0) is True  # log 2's drop was answered for
    run_wsgi(middleware, wsgi_environ(path="/later"))
    assert middleware.flush(5.0) is True
    stats: dict[str, Any] = middleware.stats
    assert (stats["sent"], stats["dropped"], stats["queued"]) == (2, 1, 0)
