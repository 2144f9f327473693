"""spec19's items (SPEC 2-7 read line by line, black-box): each test failed on main at
cf2edc2 and passes with its fix, under real parts (the collector on 127.0.0.1, the
public middleware)."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from readme_metrics import MetricsMiddleware
from tests.support.contract import json_app
from tests.support.fake_api import Collector
from tests.support.wsgi import run_wsgi, wsgi_environ

# -- 1. flush() after a log the full queue refused ------------------------------------------


@pytest.mark.parametrize("background", [pytest.param(True, id="background"),
                                        pytest.param(False, id="inline")])
def test_flush_says_false_once_for_a_log_the_full_queue_refused(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        background: bool) -> None:
    """A log dropped at the door (the queue's bounds reached) has no place in the queue,
    so the flush after it found only the accepted log, sent it and said True: 1 of 2 logs
    delivered. flush() answers for every log since the previous answer (8da5a73): False
    once, then True. (The log refused is larger than max_queue_bytes alone: a queue full
    by its bounds is sent at once since blackbox5, so a full queue no longer waits.)"""
    middleware = inline_wrap(json_app, buffer_length=5, max_queue_bytes=10_000,
                             flush_interval=0, background_worker_mode=background)
    run_wsgi(middleware, wsgi_environ(path="/kept"))
    run_wsgi(middleware, wsgi_environ(path="/refused", headers={"X-Big": "v" * 20_000}))
    assert middleware.stats["dropped_queue_full"] == 1
    assert middleware.flush(5.0) is False
    assert middleware.flush(5.0) is True  # said once
    run_wsgi(middleware, wsgi_environ(path="/later"))
    assert middleware.flush(5.0) is True
    paths = [log["request"]["log"]["entries"][0]["request"]["url"].rsplit("/", 1)[1]
             for log in collector.logs]
    assert paths == ["kept", "later"]
    stats: dict[str, Any] = middleware.stats
    assert stats["captured"] == stats["sent"] + stats["dropped"] + stats["queued"] + \
        stats["skipped"]
