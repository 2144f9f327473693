"""review64: a grouping function that never returns on the library's thread made every
``stats`` read wait FINISH_WAIT (1 s), for as long as the process lived; and the bounds
of Flask's ReadMeMetrics over several apps, against a Metrics API
that never answers (a loopback socket that accepts connections and says nothing).

``ReadMeMetrics.flush(timeout)`` and ``close()`` went through the apps' middlewares in
turn, each with the whole bound: with N apps, flush(1.5) took up to N x 1.5 s and close()
N x shutdown_timeout (exit13 noted it; SPEC 7: within shutdown_timeout). Measured before
the fix, 3 apps: flush(1.0) 3.0 s, close() with shutdown_timeout=2 5.5-6.0 s.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from flask import Flask

from readme_metrics import MetricsApiConfig
from readme_metrics.flask_readme import ReadMeMetrics
from readme_metrics.handed_over import FINISH_WAIT
from tests.support.fake_api import Collector
from tests.support.polling import wait_until
from tests.test_exit13_findings import _finishing_on_the_thread

APPS = 4


@pytest.fixture
def silent_api() -> Iterator[str]:
    """A Metrics API that accepts every connection and never answers."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as server:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


def _extension(url: str, shutdown_timeout: float) -> tuple[ReadMeMetrics, list[Flask]]:
    """``APPS`` apps under one extension, one log each queued for the silent API."""
    extension = ReadMeMetrics(MetricsApiConfig(
        api_key="rdme_test_key_1234", metrics_api=url, flush_interval=60.0,
        grouping_function=lambda request: {"api_key": "caller-key-1"},
        shutdown_timeout=shutdown_timeout))
    apps = []
    for number in range(APPS):
        app = Flask(f"app{number}")
        app.add_url_rule("/", "index", lambda: "ok")
        extension.init_app(app)
        apps.append(app)
    for app in apps:
        assert app.test_client().get("/").status_code == 200
    return extension, apps


def test_flush_of_several_apps_keeps_to_its_one_timeout(silent_api: str) -> None:
    extension, apps = _extension(silent_api, shutdown_timeout=1.0)
    try:
        began = time.monotonic()
        assert extension.flush(1.5) is False  # nothing answered
        took = time.monotonic() - began
        # One timeout (1.5 s) and slack for a busy machine; in turn it was 4 x 1.5 = 6 s.
        assert took < 1.5 * 2, took
    finally:
        extension.close()


def test_close_of_several_apps_keeps_to_one_shutdown_timeout(silent_api: str) -> None:
    extension, apps = _extension(silent_api, shutdown_timeout=2.5)
    began = time.monotonic()
    extension.close()
    took = time.monotonic() - began
    # One shutdown_timeout (2.5 s) and slack; in turn it was 4 x 2.5 = 10 s.
    assert took < 2.5 * 2, took
    for middleware in extension.middlewares:
        assert not middleware.pipeline.delivery.accepting  # type: ignore[union-attr]


def test_stats_does_not_wait_again_and_again_for_a_grouping_function_that_never_returns(
        collector: Collector) -> None:
    """``stats`` lets a finish another thread is in end first, at most FINISH_WAIT: that
    wait counted from each call, so with the library's thread stuck in a grouping
    function every read of ``stats`` (a health endpoint's, each request) took 1 s, for
    ever (measured before the fix: 1.00 s, 1.00 s, 1.00 s). It counts from when the
    finish began now: a finish under way longer than FINISH_WAIT is not waited for."""
    middleware, _, release = _finishing_on_the_thread(collector, background=True,
                                                      shutdown_timeout=1.0)
    try:
        time.sleep(FINISH_WAIT * 1.2)  # the finish is now older than FINISH_WAIT
        began = time.monotonic()
        for _ in range(3):
            assert middleware.stats["captured"] == 0
        took = time.monotonic() - began
        assert took < FINISH_WAIT, took  # was 3 x FINISH_WAIT
    finally:
        release.set()
    wait_until(lambda: middleware.stats["captured"] == 1, timeout=30.0)
    middleware.close()
