"""newcomer23: the first hour, tried from scratch on README alone.

1. README's "See it locally" has the app export both README_METRICS_SERVER and
   README_API_URL at the collector. With the collector not running (not started yet,
   stopped, another port), or a proxy variable set that the collector's 127.0.0.1 is not
   exempt from, the first message the app printed, at its first request, was the
   documentation-URL lookup's: "could not look up the documentation URL (...:
   ConnectionError | ProxyError | InvalidSchema) ... Set base_log_url
   (README_BASE_LOG_URL) to skip this lookup." That fix leaves every log undelivered (the
   POSTs meet the same cause, and say so only seconds later). For a lookup on this
   machine that reached nothing, the warning now says to start `readme-metrics collect`;
   through a proxy, to set NO_PROXY; base_log_url stays the alternative.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, Callable

import pytest
import requests

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.fake_api import Collector, free_port
from tests.support.polling import wait_until
from tests.support.transports import clear_proxy_and_bundle
from tests.support.wsgi_servers import served

StartResponse = Callable[..., Any]


def hello_app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    """README's "Quick start: any WSGI app", its app and grouping function."""
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"hello": "world"}']


def grouping_function(request: Any) -> Any:
    api_key = request.headers.get("X-Api-Key")
    if not api_key:
        return None
    return {"api_key": api_key, "label": "Customer name", "email": "customer@example.com"}


@pytest.fixture
def warnings(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.WARNING, logger="readme_metrics"):
        yield caplog


def _lookup_warning(caplog: pytest.LogCaptureFixture) -> str:
    """The first request's documentation-URL lookup warning, once it is logged."""
    def found() -> list[str]:
        return [record.getMessage() for record in caplog.records
                if "could not look up the documentation URL" in record.getMessage()]
    wait_until(found)
    return found()[0]


def _first_request(key: str, metrics_api: str, readme_api_url: str) -> None:
    """README's WSGI quick start served by wsgiref, the first call made, the middleware
    closed (the logs not delivered are no matter here)."""
    config = MetricsApiConfig(api_key=key, grouping_function=grouping_function,
                              metrics_api=metrics_api, readme_api_url=readme_api_url,
                              shutdown_timeout=0.5)
    app = MetricsMiddleware(hello_app, config)
    try:
        with served("wsgiref", app) as port, requests.Session() as client:
            client.trust_env = False  # the proxy variable set is the app's, not curl's
            answer = client.get(f"http://127.0.0.1:{port}/", timeout=10,
                                headers={"X-Api-Key": "owlbert-key"})
            assert answer.json() == {"hello": "world"}
    finally:
        app.close()


def test_the_lookup_at_a_collector_not_running_says_to_start_it(
        monkeypatch: pytest.MonkeyPatch, warnings: pytest.LogCaptureFixture) -> None:
    # Fails before the fix: the warning ended "Set base_log_url (README_BASE_LOG_URL) to
    # skip this lookup." alone.
    clear_proxy_and_bundle(monkeypatch)
    key = "rdme_newcomer23_nothing_listens_0001"  # the lookup is cached per key
    down = f"http://127.0.0.1:{free_port()}"
    _first_request(key, down, down)
    text = _lookup_warning(warnings)
    assert "ConnectionError" in text
    assert "Nothing listens there: start `readme-metrics collect`" in text, text
    assert "README_API_URL" in text and "set base_log_url" in text
    assert key not in warnings.text


@pytest.mark.parametrize("proxy", ["http", "socks5"])
def test_the_lookup_through_a_proxy_says_to_exempt_the_collector(
        monkeypatch: pytest.MonkeyPatch, warnings: pytest.LogCaptureFixture,
        collector: Collector, proxy: str) -> None:
    # Fails before the fix: "...: ProxyError" (a proxy that does not answer) or
    # "...: InvalidSchema" (socks without PySocks), then "Set base_log_url" alone.
    clear_proxy_and_bundle(monkeypatch)
    monkeypatch.setenv("http_proxy", f"{proxy}://127.0.0.1:{free_port()}")
    key = f"rdme_newcomer23_proxy_{proxy}_0001"
    _first_request(key, collector.url, collector.url)
    text = _lookup_warning(warnings)
    assert ("ProxyError" if proxy == "http" else "InvalidSchema") in text, text
    assert "http_proxy, HTTP_PROXY or ALL_PROXY" in text, text
    assert "NO_PROXY=127.0.0.1" in text and "set base_log_url" in text, text
    assert collector.gets == []  # it never reached the collector: the proxy was asked
    assert key not in warnings.text


def test_a_lookup_elsewhere_keeps_its_advice(
        monkeypatch: pytest.MonkeyPatch, warnings: pytest.LogCaptureFixture,
        collector: Collector) -> None:
    # A README_API_URL on another host (ReadMe's, unreachable here: a name that does not
    # resolve) gets no advice about the local collector.
    clear_proxy_and_bundle(monkeypatch)
    key = "rdme_newcomer23_elsewhere_0001"
    _first_request(key, collector.url, "http://readme-api.invalid")
    text = _lookup_warning(warnings)
    assert text.endswith("Set base_log_url (README_BASE_LOG_URL) to skip this lookup."), text
    assert "readme-metrics collect" not in text and "NO_PROXY" not in text
