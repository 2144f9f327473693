"""review25's findings on odds10 and cpu17s (main at 60362bb): each test failed there and
passes with its fix, under real parts (the environment's proxy variables as users set
them, the middleware built as an app builds it)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.contract import reading_app
from tests.support.ports import free_port
from tests.support.wsgi import run_wsgi, wsgi_environ


def _grouping(request: Any) -> None:
    return None


def _proxy(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ALL_PROXY",
                 "all_proxy"):
        monkeypatch.setenv(name, url)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


# -- a proxy URL urlsplit refuses: the middleware could not be built ------------------------


@pytest.mark.parametrize("proxy", ["http://[::1:3128", "http://[fe80::1%lo:3128",
                                   "http://proxy]:3128"])
def test_a_malformed_proxy_variable_does_not_stop_the_app_from_starting(
        monkeypatch: pytest.MonkeyPatch, proxy: str) -> None:
    """``http_proxy=http://[::1:3128`` (a bracket left out): requests only fails the POST
    with InvalidURL, but since the proxy's host is read at start-up (a5dea283) urlsplit's
    ``ValueError: Invalid IPv6 URL`` came out of ``MetricsMiddleware(app, config)``: the
    app, which runs unwrapped, did not start at all."""
    _proxy(monkeypatch, proxy)
    config = MetricsApiConfig(api_key="any-key", grouping_function=_grouping,
                              logger=logging.getLogger("review25-malformed-proxy"),
                              metrics_api=f"http://127.0.0.1:{free_port()}")
    middleware = MetricsMiddleware(reading_app(), config)
    try:
        result = run_wsgi(middleware, wsgi_environ())
        assert result.error is None and result.status == "200 OK"
    finally:
        middleware.close()
