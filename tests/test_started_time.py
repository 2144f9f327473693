"""The logged ``startedDateTime`` is when the request arrived, not when its log was built.

The request thread reads one clock (``perf_counter``); the wall-clock start is derived on
the worker. A log built well after its request must still carry the request's time.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.fake_api import INLINE_TIMEOUT, Collector
from tests.support.wsgi import run_wsgi, wsgi_environ


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def test_started_date_time_is_the_request_s_not_the_build_s(collector: Collector) -> None:
    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key="rdme_abcdefghijklmnopqrstuvwxyz", metrics_api=collector.url,
        grouping_function=lambda request: {"api_key": "caller"},
        buffer_length=100, flush_interval=0, background_worker_mode=False, timeout=INLINE_TIMEOUT))
    before = time.time()
    assert run_wsgi(middleware, wsgi_environ("GET", "/")).status == "200 OK"
    after = time.time()
    time.sleep(0.5)  # the log is built only at the flush, half a second later
    assert middleware.flush(10)
    [log] = collector.wait_for_logs(1)
    text = log["request"]["log"]["entries"][0]["startedDateTime"]
    started = datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    # Milliseconds in the log: allow their rounding, not the half second.
    assert before - 0.002 <= started <= after + 0.002, (before, text, after)
    middleware.close()
