"""SPEC 2, MetricsMiddleware: ``flush(timeout=None) -> bool``, ``close()`` (idempotent) and
``stats`` (captured, skipped, queued, sent, dropped, failed_batches, retries), through every
public entry point that wraps an app, with metrics on and off (``enabled=False``): a
script reading ``stats["sent"]`` must work whatever the configuration.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

from readme_metrics import MetricsApiConfig
from tests.support.contract import API_KEY, caller
from tests.support.fake_api import Collector, Reply
from tests.support.wsgi import run_wsgi, wsgi_environ

SPEC_COUNTERS = {"captured", "skipped", "queued", "sent", "dropped", "failed_batches",
                 "retries"}


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _wsgi(config: MetricsApiConfig) -> Any:
    from readme_metrics import MetricsMiddleware

    return MetricsMiddleware(wsgi_app, config)


def _old_path(config: MetricsApiConfig) -> Any:
    from readme_metrics.middleware import MetricsMiddleware

    return MetricsMiddleware(wsgi_app, config)


def _flask(config: MetricsApiConfig) -> Any:
    from flask import Flask

    from readme_metrics.flask_readme import ReadMeMetrics

    return ReadMeMetrics(config, Flask(__name__))


def _asgi(config: MetricsApiConfig) -> Any:
    from readme_metrics.asgi import MetricsMiddleware

    return MetricsMiddleware(asgi_app, config)


def _fastapi(config: MetricsApiConfig) -> Any:
    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    return ReadMeMetricsMiddleware(asgi_app, config=config)


ENTRY_POINTS: list[Any] = [
    pytest.param(_wsgi, id="readme_metrics.MetricsMiddleware"),
    pytest.param(_old_path, id="readme_metrics.middleware.MetricsMiddleware"),
    pytest.param(_flask, id="readme_metrics.flask_readme.ReadMeMetrics"),
    pytest.param(_asgi, id="readme_metrics.asgi.MetricsMiddleware"),
    pytest.param(_fastapi, id="readme_metrics.fastapi.ReadMeMetricsMiddleware"),
]


@pytest.mark.parametrize("enabled", [True, False], ids=["on", "off"])
@pytest.mark.parametrize("make", ENTRY_POINTS)
def test_flush_close_and_stats_on_every_entry_point(
        collector: Collector, make: Callable[[MetricsApiConfig], Any], enabled: bool) -> None:
    wrapped = make(MetricsApiConfig(api_key=API_KEY, grouping_function=caller,
                                    metrics_api=collector.url, enabled=enabled))
    try:
        stats = wrapped.stats
        assert set(stats) >= SPEC_COUNTERS, sorted(stats)
        assert all(type(value) is int and value == 0 for value in stats.values()), stats
        assert wrapped.flush() is True  # nothing queued: all of it was delivered
        assert wrapped.flush(timeout=0.5) is True
    finally:
        wrapped.close()
    wrapped.close()  # idempotent
    assert set(wrapped.stats) >= SPEC_COUNTERS


def test_counters_add_up_through_the_wsgi_middleware(collector: Collector) -> None:
    """Logged calls are sent, skipped ones (OPTIONS, grouping None) counted apart."""
    from readme_metrics import MetricsMiddleware

    def grouping(request: Any) -> Any:
        return None if request.path == "/anonymous" else caller(request)

    middleware = MetricsMiddleware(wsgi_app, MetricsApiConfig(
        api_key=API_KEY, grouping_function=grouping, metrics_api=collector.url,
        base_log_url="https://docs.example.com"))
    try:
        for path in ("/a", "/b", "/c"):
            run_wsgi(middleware, wsgi_environ("GET", path))
        run_wsgi(middleware, wsgi_environ("OPTIONS", "/a"))
        run_wsgi(middleware, wsgi_environ("GET", "/anonymous"))
        assert middleware.flush() is True
        stats = middleware.stats
    finally:
        middleware.close()
    assert len(collector.logs) == 3
    assert {name: stats[name] for name in SPEC_COUNTERS} == {
        "captured": 5, "skipped": 2, "queued": 0, "sent": 3, "dropped": 0,
        "failed_batches": 0, "retries": 0}


@pytest.mark.parametrize("background", [True, False], ids=["background", "inline"])
@pytest.mark.parametrize("timeout", [float("inf"), 1e12, 3600], ids=["inf", "1e12", "hour"])
def test_flush_with_a_long_timeout_waits_for_delivery(
        collector: Collector, background: bool, timeout: float) -> None:
    """``flush(float("inf"))`` or any long timeout means "as long as it takes": the log
    is delivered and flush() says True (it returned False at once, sending nothing,
    past the longest wait a lock accepts)."""
    from readme_metrics import MetricsMiddleware

    middleware = MetricsMiddleware(wsgi_app, MetricsApiConfig(
        api_key=API_KEY, grouping_function=caller, metrics_api=collector.url,
        base_log_url="https://docs.example.com", background_worker_mode=background))
    try:
        run_wsgi(middleware, wsgi_environ("GET", "/a"))
        assert middleware.flush(timeout) is True
        assert middleware.stats["sent"] == 1
    finally:
        middleware.close()
    assert len(collector.logs) == 1


@pytest.mark.parametrize("timeout", [float("nan"), -1.0, 0.0], ids=["nan", "negative", "zero"])
def test_flush_with_no_time_to_wait_never_hangs(collector: Collector, timeout: float) -> None:
    """A timeout that allows no waiting answers at once (never a hang, never raises)."""
    from readme_metrics import MetricsMiddleware

    collector.default = Reply(hang=30.0)
    middleware = MetricsMiddleware(wsgi_app, MetricsApiConfig(
        api_key=API_KEY, grouping_function=caller, metrics_api=collector.url,
        base_log_url="https://docs.example.com", shutdown_timeout=0.5))
    try:
        run_wsgi(middleware, wsgi_environ("GET", "/a"))
        assert middleware.flush(timeout) is False
    finally:
        middleware.close()


DURATIONS = [("flush_interval", "README_FLUSH_INTERVAL"), ("timeout", "README_TIMEOUT"),
             ("shutdown_timeout", "README_SHUTDOWN_TIMEOUT")]


@pytest.mark.parametrize(("option", "variable"), DURATIONS)
@pytest.mark.parametrize("value", [86401, 1e12, 1e300])
def test_a_duration_past_a_day_is_refused_naming_option_and_variable(
        monkeypatch: pytest.MonkeyPatch, option: str, variable: str, value: float) -> None:
    """Such a value was accepted, then killed the delivery thread on the first wait that
    long ("Exception in thread readme-metrics-worker": OverflowError) or failed every
    POST: refused at construction instead (SPEC 2: invalid values raise ValueError)."""
    with pytest.raises(ValueError, match=rf"{option} \({variable}\) must be .*86400"):
        MetricsApiConfig(api_key=API_KEY, grouping_function=caller, **{option: value})
    monkeypatch.setenv(variable, str(value))
    with pytest.raises(ValueError, match=rf"{option} \({variable}\) must be .*86400"):
        MetricsApiConfig(api_key=API_KEY, grouping_function=caller)


def test_durations_of_a_day_keep_the_worker_alive(collector: Collector,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """At the largest accepted values every wait works: delivered, flushed, closed, and no
    thread died (threading.excepthook saw nothing)."""
    from readme_metrics import MetricsMiddleware

    died: list[Any] = []
    monkeypatch.setattr("threading.excepthook", died.append)
    middleware = MetricsMiddleware(wsgi_app, MetricsApiConfig(
        api_key=API_KEY, grouping_function=caller, metrics_api=collector.url,
        base_log_url="https://docs.example.com", buffer_length=2,
        **{option: 86400 for option, _ in DURATIONS}))
    try:
        for path in ("/a", "/b", "/c"):
            run_wsgi(middleware, wsgi_environ("GET", path))
        collector.wait_for_logs(2)  # a full batch goes at once
        assert middleware.flush(10.0) is True  # the partial one on flush
    finally:
        middleware.close()
    assert len(collector.logs) == 3 and died == []
