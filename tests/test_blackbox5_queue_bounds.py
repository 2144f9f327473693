"""blackbox5 (SPEC 2's buffer_length, max_queue_size and max_queue_bytes, read together,
black-box): when the queue's bounds hold fewer logs than ``buffer_length``, a batch could
never fill. With ``flush_interval=0`` (background) or inline (``background_worker_mode=False``)
nothing was sent and every log after the first few was dropped as "queue full", against a
Metrics API answering at once. A queue at its bounds is a full batch: it is sent. Each case
failed on main at 5189f6d (no log delivered before flush(), 9 of 12 dropped) and passes with
the fix."""

from __future__ import annotations

import time
from typing import Any, Callable

import pytest

from readme_metrics import MetricsMiddleware
from tests.support.contract import json_app
from tests.support.fake_api import PATIENCE, Collector
from tests.support.wsgi import run_wsgi, wsgi_environ

MODES = [pytest.param(True, id="background"), pytest.param(False, id="inline")]


def _room(middleware: MetricsMiddleware, held: int, room: int) -> None:
    """Wait (background mode) until the queue holds fewer than ``held`` logs and at most
    ``room`` bytes: the sender thread took the batch due and its POST settled (held
    meanwhile as its JSON, which counts against max_queue_bytes since delivery48), as
    it does between two requests at a server's pace."""
    deadline = time.monotonic() + PATIENCE
    while ((middleware.stats["queued"] >= held or middleware.stats["queued_bytes"] > room)
           and time.monotonic() < deadline):
        time.sleep(0.01)


@pytest.mark.parametrize("background", MODES)
@pytest.mark.parametrize("bound", [
    pytest.param({"max_queue_size": 3}, id="max_queue_size-below-buffer_length"),
    pytest.param({"max_queue_bytes": 3_000}, id="max_queue_bytes-below-a-batch"),
])
def test_a_queue_at_its_bounds_is_sent_not_left_to_drop(
        collector: Collector, background_wrap: Callable[..., MetricsMiddleware],
        background: bool, bound: dict[str, Any]) -> None:
    middleware = background_wrap(json_app, buffer_length=10, flush_interval=0,
                                 background_worker_mode=background, **bound)
    run_wsgi(middleware, wsgi_environ(path="/00"))
    # The logs the bounds hold (every log here has the same size: paths of one length).
    held = bound.get("max_queue_size") or bound["max_queue_bytes"] // max(
        1, middleware.stats["queued_bytes"])
    assert 1 < held < 10
    one = middleware.stats["queued_bytes"]
    room = bound.get("max_queue_bytes", 1 << 30) - one
    for n in range(1, 12):
        if background:
            _room(middleware, held, room)
        run_wsgi(middleware, wsgi_environ(path=f"/{n:02d}"))
    assert middleware.stats["dropped"] == 0, middleware.stats
    assert len(collector.logs) >= 12 - held  # sent without flush(), as each batch filled
    assert middleware.flush(5.0) is True
    assert len(collector.logs) == 12
