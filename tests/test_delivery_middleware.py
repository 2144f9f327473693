"""Delivery through the middleware (SPEC sections 2 and 7, black box): requests never
wait, failures never reach the app or stdout, flush(), close() and stats, and the key is
never logged.

A ReadMe that accepts the connection and never answers (Metrics API or docs URL lookup)
changes nothing for the app's clients. In every test, no log record shows the API key.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from typing import Any, Callable

import pytest

from readme_metrics import MetricsMiddleware
from tests.support.contract import API_KEY as CONTRACT_API_KEY
from tests.support.contract import CALLER, hit, reading_app
from tests.support.delivery import (
    SLACK,
    adds_up,
    api_key_never_logged_fixture,  # noqa: F401 - autouse
)
from tests.support.fake_api import Collector, Reply
from tests.support.polling import wait_until
from tests.support.wsgi import run_wsgi, wsgi_environ

# -- through the middleware: requests never wait (SPEC 7, black box) ------------------------


@pytest.mark.parametrize("stuck", [
    pytest.param("metrics-api", id="metrics-api-hanging"),
    pytest.param("docs-lookup", id="docs-url-lookup-hanging"),
])
def test_a_hanging_readme_never_slows_or_blocks_requests(
        collector: Collector, background_wrap: Any, stuck: str) -> None:
    """SPEC 7: the request thread only enqueues (no I/O, no lock held across I/O), and
    the docs URL lookup runs off the request path: a ReadMe that accepts the connection
    and never answers changes nothing for the app's clients."""
    release = threading.Event()
    if stuck == "metrics-api":
        collector.default = Reply(hang=20.0)
        middleware = background_wrap(buffer_length=1, timeout=30.0, shutdown_timeout=0.5)
    else:
        collector.get_v1 = lambda received: Reply(200, b'{"baseUrl": "https://x.test"}',
                                                  hang=20.0)
        middleware = background_wrap(buffer_length=1, base_log_url=None,
                                     readme_api_url=collector.url, timeout=30.0,
                                     shutdown_timeout=0.5)
    assert hit(middleware, "/first").status == "200 OK"
    # ReadMe now holds a connection open without answering.
    wait_until(lambda: bool(collector.failed if stuck == "metrics-api" else collector.gets))

    results: list[Any] = []
    stats: list[dict[str, int]] = []

    def clients() -> None:
        for n in range(200):
            results.append(hit(middleware, f"/during/{n}"))
            if n % 50 == 0:
                stats.append(middleware.stats)  # readable while the worker is stuck
        release.set()

    thread = threading.Thread(target=clients, daemon=True)
    thread.start()
    # Liveness, not speed: 200 requests finish while ReadMe is still hanging (20 s).
    assert release.wait(15.0), "requests were held up by the hanging ReadMe endpoint"
    assert [r.status for r in results] == ["200 OK"] * 200
    assert all(json.loads(r.body)["path"] == f"/during/{n}" for n, r in enumerate(results))
    assert all(adds_up(s) for s in stats)
    if stuck == "docs-lookup":
        # Until the base is known, no header (and no waiting for it).
        assert all(not r.header("x-documentation-url") for r in results)
        assert len(collector.gets) == 1, "one lookup, not one per request"
    else:
        started = time.monotonic()
        middleware.close()  # bounded by shutdown_timeout (0.5 s) even now
        assert time.monotonic() - started < 0.5 + SLACK
        stats_after = middleware.stats
        assert stats_after["sent"] == 0 and adds_up(stats_after)


def test_failures_never_reach_the_app_or_stdout(
        collector: Collector, background_wrap: Callable[..., MetricsMiddleware],
        capfd: pytest.CaptureFixture[str]) -> None:
    """SPEC 7: nothing the library does may raise into the app or print to stdout."""
    collector.default = Reply(500)
    collector.get_v1 = lambda received: Reply(401, b'{"error":"APIKEY_NOTFOUND"}')

    def grouping(req: Any) -> Any:
        if req.path_info == "/bad-group":
            raise RuntimeError(f"grouping failed for {CONTRACT_API_KEY[:4]}")
        return {"api_key": CALLER["api_key"], "surprise": 1}

    middleware = background_wrap(grouping_function=grouping, buffer_length=2, base_log_url=None,
                      readme_api_url=collector.url, timeout=0.5, shutdown_timeout=0.5)
    for path in ("/a", "/bad-group", "/b", "/c", "/d"):
        result = hit(middleware, path)
        assert result.error is None and result.status == "200 OK"
    middleware.flush(1.0)
    middleware.close()
    out, _ = capfd.readouterr()
    assert out == ""


# -- flush, close and stats of the middleware, and the key never logged (SPEC 2, 7) --------


STATS_KEYS = {"captured", "skipped", "queued", "sent", "dropped", "failed_batches", "retries"}


def test_flush_sends_now_and_returns_true_close_is_idempotent(
        inline_wrap: Any, collector: Collector) -> None:
    # Background mode, a batch far from full and no flush interval: only flush() sends.
    middleware = inline_wrap(reading_app(), background_worker_mode=True, buffer_length=100,
                      flush_interval=0)
    for _ in range(3):
        run_wsgi(middleware, wsgi_environ())
    stats = middleware.stats
    assert set(stats) >= STATS_KEYS
    assert stats["captured"] == 3 and stats["queued"] == 3 and stats["sent"] == 0
    assert middleware.flush() is True
    assert len(collector.logs) == 3
    stats = middleware.stats
    assert (stats["sent"], stats["queued"], stats["dropped"]) == (3, 0, 0)
    middleware.close()
    middleware.close()  # idempotent: no error, no hang
    assert middleware.flush(0.5) is True  # nothing left to send


def test_flush_returns_false_when_a_log_was_not_delivered(inline_wrap: Any,
                                                        collector: Collector) -> None:
    collector.default = Reply(400, b'{"error": "bad log"}')  # rejected, not retried
    middleware = inline_wrap(reading_app(), background_worker_mode=True, buffer_length=100,
                      flush_interval=0)
    run_wsgi(middleware, wsgi_environ())
    assert middleware.flush(5.0) is False
    assert middleware.stats["dropped"] == 1


def test_api_key_is_never_logged(inline_wrap: Any, collector: Collector,
                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    collector.default = Reply(401, b'{"error": "bad key"}')
    middleware = inline_wrap(reading_app(), grouping_function=lambda req: 1 / 0)
    run_wsgi(middleware, wsgi_environ())
    middleware2 = inline_wrap(reading_app())
    run_wsgi(middleware2, wsgi_environ())
    middleware2.flush(2.0)
    token = base64.b64encode(f"{CONTRACT_API_KEY}:".encode()).decode()
    assert caplog.records
    for record in caplog.records:
        text = record.getMessage() + str(record.args)
        assert CONTRACT_API_KEY not in text and token not in text
    assert CONTRACT_API_KEY not in repr(middleware2.config)
