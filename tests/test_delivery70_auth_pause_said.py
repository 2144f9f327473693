"""delivery70 (2): a 401 from the Metrics API pauses delivery, and ``flush()`` says False
for it; the ERROR that says why ("refused the API key ... Logs are dropped for the next
...s") was logged after the batch was settled, the flush's waiter woken: a caller that
checks ``flush()`` then its log could find no reason yet. Now the ERROR is logged before
the batch is settled (``Batcher.pause``'s ``say``), so before ``flush()`` can return.

The order is made observable without timing: the log handler reads, as the ERROR is
emitted, whether the batch was settled already (``dropped_auth`` in ``stats``); and the
ERROR is among the records the moment ``flush()`` returned False.

Real parts: the collector on 127.0.0.1 answering 401, a WSGI app wrapped by the
middleware, the sender thread (background) or the calling thread (inline)."""

from __future__ import annotations

import logging
from typing import Callable

import pytest

from readme_metrics import MetricsMiddleware
from tests.support.fake_api import Collector, Reply
from tests.support.wsgi import run_wsgi, wsgi_environ


class _Order(logging.Handler):
    """Each ERROR with ``dropped_auth`` as it was emitted."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.middleware: MetricsMiddleware | None = None
        self.seen: list[tuple[str, int]] = []

    def emit(self, record: logging.LogRecord) -> None:
        dropped = self.middleware.stats["dropped_auth"] if self.middleware else -1
        self.seen.append((record.getMessage(), dropped))


@pytest.mark.parametrize("background", [True, False])
def test_the_auth_pause_error_is_logged_before_flush_returns_false(
        collector: Collector, background_wrap: Callable[..., MetricsMiddleware],
        background: bool) -> None:
    collector.default = Reply(status=401)
    handler = _Order()
    logger = logging.getLogger("readme_metrics")
    logger.addHandler(handler)
    try:
        middleware = background_wrap(buffer_length=100, flush_interval=600,
                                     background_worker_mode=background)
        handler.middleware = middleware
        for n in range(3):
            run_wsgi(middleware, wsgi_environ(path=f"/r/{n}"))
        flushed = middleware.flush(10)
        seen_at_return = list(handler.seen)
    finally:
        logger.removeHandler(handler)
    assert flushed is False
    refused = [(line, dropped) for line, dropped in seen_at_return
               if "refused the API key" in line]
    assert len(refused) == 1, seen_at_return
    assert refused[0][1] == 0, "the ERROR came after the batch was settled"
    assert middleware.stats["dropped_auth"] == 3
    assert len(collector.failed) == 1
