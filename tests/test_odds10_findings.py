"""odds10's items (reviewers' leftovers): each test failed on main at cfd550a and passes
with its fix, under real parts (the configuration as users build it, the collector as
the Metrics API and as a proxy, real Flask apps)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig


def _grouping(request: Any) -> None:
    return None


def _said(caplog: pytest.LogCaptureFixture, logger: logging.Logger) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == logger.name]


# -- 3. README_LOG_LEVEL, README_VERBOSE, README_METRICS_LOG_LEVEL: ignored without a word ----

_LOGGING_MEANT = (
    "README_DEVELOPMENT_MODE (which marks the logs as development's; there is no debug "
    "or log level variable: the library logs to logging.getLogger('readme_metrics') and "
    "adds no handler, so turn it on with "
    "logging.getLogger('readme_metrics').setLevel(logging.DEBUG) and logging.basicConfig())")


@pytest.mark.parametrize("name", ["README_LOG_LEVEL", "README_VERBOSE",
                                  "README_METRICS_LOG_LEVEL", "README_DEBUG"])
def test_a_guessed_logging_variable_gets_the_logging_hint(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """``README_LOG_LEVEL=DEBUG`` (or ``README_VERBOSE=1``) to see what the library does:
    ignored without a word, as README_DEBUG was before odds9 gave it the logging hint."""
    monkeypatch.setenv(name, "DEBUG")
    logger = logging.getLogger(f"odds10-guessed-{name}")  # warned once per logger
    caplog.set_level(logging.WARNING)
    MetricsApiConfig(api_key="any-key", grouping_function=_grouping, logger=logger)
    assert _said(caplog, logger) == [
        f"readme_metrics: {name} (set in the environment) is no variable of this library "
        f"and is ignored: did you mean {_LOGGING_MEANT}?"]


# -- 4. a Flask app wrapped by the plain WSGI middleware: "no request is logged" was false ----


def _flask_app(name: str) -> Any:
    from flask import Flask

    app = Flask(name)
    app.add_url_rule("/", "hello", lambda: "hello")
    return app


@pytest.mark.parametrize("outer", [False, True], ids=["wsgi-middleware", "under-another-layer"])
def test_a_flask_app_wrapped_by_the_wsgi_middleware_gets_no_init_app_warning(
        caplog: pytest.LogCaptureFixture, outer: bool) -> None:
    """``app.wsgi_app = MetricsMiddleware(app.wsgi_app, config)`` (README's plain WSGI
    way) with an unused ReadMeMetrics made elsewhere in the process: the first request
    said "was never given an app, so no request is logged", while every request was
    logged. Silent now, the middleware found in the app's wsgi_app chain (also under
    another layer that keeps it as ``.app``, as werkzeug's ProxyFix does)."""
    from werkzeug.middleware.proxy_fix import ProxyFix
    from werkzeug.test import Client

    from readme_metrics import MetricsMiddleware
    from readme_metrics.flask_readme import ReadMeMetrics

    logger = logging.getLogger(f"odds10-flask-wsgi-{outer}")
    caplog.set_level(logging.WARNING, logger=logger.name)
    config = MetricsApiConfig(api_key="any-key", grouping_function=_grouping, logger=logger,
                              metrics_api="http://127.0.0.1:9")
    unused = ReadMeMetrics(config)
    app = _flask_app("myapp")
    app.wsgi_app = MetricsMiddleware(app.wsgi_app, config)  # type: ignore[method-assign]
    if outer:
        app.wsgi_app = ProxyFix(app.wsgi_app)  # type: ignore[method-assign]
    try:
        assert Client(app).get("/").get_data() == b"hello"
        assert _said(caplog, logger) == []
    finally:
        unused.close()
        (app.wsgi_app.app if outer else app.wsgi_app).close()
