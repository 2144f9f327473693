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
2. README_API_KEY set empty in the environment (``README_API_KEY=$RDME_KEY`` of an
   unset RDME_KEY) was told "api_key is required: ... set README_API_KEY": it now says
   that the variable is set, but empty.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


# 2. `README_API_KEY=$RDME_KEY python app.py` with RDME_KEY unset in that shell (or
#    `export README_API_KEY=` left over) set the variable empty, which counts as unset:
#    the error said "api_key is required: ... set README_API_KEY in the environment", to a
#    reader who believed it set. It now says it is set, but empty.

EMPTY_SAID = "README_API_KEY is set in the environment but empty, which counts as unset"


def _key_error() -> str:
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(grouping_function=grouping_function)
    return str(raised.value)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blank=st.text(alphabet=" \t", max_size=4))
def test_a_key_variable_set_empty_is_said_to_be(monkeypatch: pytest.MonkeyPatch,
                                                blank: str) -> None:
    # Fails before the fix: the error never said the variable was set.
    monkeypatch.setenv("README_API_KEY", blank)
    text = _key_error()
    assert text.startswith("readme_metrics: api_key is required, and " + EMPTY_SAID), text
    assert "README_API_KEY=any-key" in text  # the way out without a key is still there


def test_a_key_variable_unset_is_not_said_to_be_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("README_API_KEY", raising=False)
    text = _key_error()
    assert text.startswith("readme_metrics: api_key is required: pass api_key=..."), text
    assert EMPTY_SAID not in text


def test_an_empty_key_variable_over_a_dotenv_key_is_said_once(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The .env file's wording already says the empty variable hides its value.
    (tmp_path / ".env").write_text("README_API_KEY=rdme_from_the_file_0001\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("README_API_KEY", "")
    text = _key_error()
    assert "README_API_KEY is set empty in the environment, and the environment wins" in text
    assert EMPTY_SAID not in text
    assert "rdme_from_the_file_0001" not in text
