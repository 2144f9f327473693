"""newcomer34: the first hour, tried from scratch on README alone.

The documentation-URL lookup is the app's first word when "See it locally" goes wrong
(it runs at the first request, the POSTs of logs seconds later). Two of its warnings
sent the reader the wrong way:

1. ``README_API_URL=https://127.0.0.1:8001`` (and ``README_METRICS_SERVER`` alike) with
   ``readme-metrics collect`` running, which is plain HTTP: "...: SSLError); ... Nothing
   listens there: start `readme-metrics collect`", while it ran. requests' SSLError is a
   ConnectionError, taken for nothing listening. It now says what the POSTs' warning
   says, "the server does not speak TLS", and to write the URLs with http://.
2. A proxy variable that does not parse (``http_proxy=http://[::1:3128``): "...:
   InvalidURL); ... Set base_log_url (README_BASE_LOG_URL) to skip this lookup." alone,
   which leaves every POST dropped for the same proxy. It now names the proxy variables
   and NO_PROXY, as for a proxy that does not answer (newcomer23).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.support.fake_api import Collector
from tests.support.transports import clear_proxy_and_bundle
from tests.test_newcomer23_findings import _first_request, _lookup_warning


@pytest.fixture
def warnings(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.WARNING, logger="readme_metrics"):
        yield caplog


def test_an_https_url_for_the_plain_http_collector_says_it_speaks_no_tls(
        monkeypatch: pytest.MonkeyPatch, warnings: pytest.LogCaptureFixture,
        collector: Collector) -> None:
    # Fails before the fix: "... Nothing listens there: start `readme-metrics collect` ..."
    clear_proxy_and_bundle(monkeypatch)
    key = "rdme_newcomer34_https_at_plain_0001"  # the lookup is cached per key
    https = collector.url.replace("http://", "https://")
    _first_request(key, https, https)
    text = _lookup_warning(warnings)
    assert "SSLError" in text, text
    assert "Nothing listens" not in text, text
    assert "does not speak TLS" in text, text
    assert ("write readme_api_url (README_API_URL) and metrics_api (README_METRICS_SERVER)"
            " with http://") in text, text
    assert "set base_log_url" in text
    assert key not in warnings.text


def test_an_https_lookup_url_alone_names_only_its_variable(
        monkeypatch: pytest.MonkeyPatch, warnings: pytest.LogCaptureFixture,
        collector: Collector) -> None:
    # The logs go to the collector over http (delivered); only README_API_URL is wrong.
    clear_proxy_and_bundle(monkeypatch)
    key = "rdme_newcomer34_https_lookup_0001"
    _first_request(key, f"http://localhost:{collector.port}",
                   collector.url.replace("http://", "https://"))
    text = _lookup_warning(warnings)
    assert "Nothing listens" not in text, text
    assert "write readme_api_url (README_API_URL) with http://" in text, text
    assert "README_METRICS_SERVER" not in text, text


def test_a_proxy_url_that_does_not_parse_says_to_exempt_the_collector(
        monkeypatch: pytest.MonkeyPatch, warnings: pytest.LogCaptureFixture,
        collector: Collector) -> None:
    # Fails before the fix: "...: InvalidURL); ... Set base_log_url (...) to skip this
    # lookup." alone.
    clear_proxy_and_bundle(monkeypatch)
    monkeypatch.setenv("http_proxy", "http://[::1:3128")
    key = "rdme_newcomer34_bad_proxy_0001"
    _first_request(key, collector.url, collector.url)
    text = _lookup_warning(warnings)
    assert "InvalidURL" in text, text
    assert "http_proxy, HTTP_PROXY or ALL_PROXY" in text, text
    assert "NO_PROXY=127.0.0.1" in text and "set base_log_url" in text, text
    assert collector.gets == []
    assert key not in warnings.text
