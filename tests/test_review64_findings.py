"""review64: bounds of Flask's ReadMeMetrics over several apps, against a Metrics API
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
