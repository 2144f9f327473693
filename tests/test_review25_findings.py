"""review25's findings on odds10 and cpu17s (main at 60362bb): each test failed there and
passes with its fix, under real parts (the environment's proxy variables as users set
them, the middleware built as an app builds it)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.contract import reading_app
from tests.support.delivery import said_on, through_proxy
from tests.support.ports import free_port
from tests.support.wsgi import run_wsgi, wsgi_environ


def _grouping(request: Any) -> None:
    return None


def _said_at_start_up(caplog: pytest.LogCaptureFixture, logger_name: str,
                      metrics_api: str) -> list[str]:
    """What a WSGI middleware sending to ``metrics_api`` says at start-up (and close)."""
    logger = logging.getLogger(logger_name)  # the start-up warnings: once per logger
    caplog.set_level(logging.WARNING, logger=logger.name)
    config = MetricsApiConfig(api_key="any-key", grouping_function=_grouping, logger=logger,
                              metrics_api=metrics_api)
    MetricsMiddleware(lambda environ, start_response: [], config).close()
    return said_on(caplog, logger)


# -- a proxy URL urlsplit refuses: the middleware could not be built ------------------------


@pytest.mark.parametrize("proxy", ["http://[::1:3128", "http://[fe80::1%lo:3128",
                                   "http://proxy]:3128"])
def test_a_malformed_proxy_variable_does_not_stop_the_app_from_starting(
        monkeypatch: pytest.MonkeyPatch, proxy: str) -> None:
    """``http_proxy=http://[::1:3128`` (a bracket left out): requests only fails the POST
    with InvalidURL, but since the proxy's host is read at start-up (a5dea283) urlsplit's
    ``ValueError: Invalid IPv6 URL`` came out of ``MetricsMiddleware(app, config)``: the
    app, which runs unwrapped, did not start at all."""
    through_proxy(monkeypatch, proxy)
    config = MetricsApiConfig(api_key="any-key", grouping_function=_grouping,
                              logger=logging.getLogger("review25-malformed-proxy"),
                              metrics_api=f"http://127.0.0.1:{free_port()}")
    middleware = MetricsMiddleware(reading_app(), config)
    try:
        result = run_wsgi(middleware, wsgi_environ())
        assert result.error is None and result.status == "200 OK"
    finally:
        middleware.close()


# -- an HTTPS:// metrics_api (scheme in capitals): the hint named http_proxy -----------------


def test_the_proxy_hint_names_the_https_variables_for_a_capitalised_https_url(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """``README_METRICS_SERVER=HTTPS://127.0.0.1:8443``: requests takes the scheme in any
    case (HTTPS_PROXY's proxy carries the POSTs), but the hint looked for ``https:`` as
    written and named "http_proxy, HTTP_PROXY or ALL_PROXY", variables not in play. The
    proxy is a documentation address (TEST-NET-1): nothing is posted."""
    through_proxy(monkeypatch, "")
    for name in ("https_proxy", "HTTPS_PROXY"):
        monkeypatch.setenv(name, "http://192.0.2.10:3128")
    said = _said_at_start_up(caplog, "review25-proxy-HTTPS",
                             f"HTTPS://127.0.0.1:{free_port()}")
    assert len(said) == 1 and (
        "the POSTs went to the proxy that https_proxy, HTTPS_PROXY or ALL_PROXY names"
        in said[0]), said


# -- metrics_api on this machine written otherwise: taken for another host ------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "127.1", "[::ffff:127.0.0.1]"])
def test_a_proxy_in_the_way_of_this_machine_written_otherwise_is_said(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, host: str) -> None:
    """``readme-metrics collect --host 0.0.0.0`` says "listening on http://0.0.0.0:8001";
    with that as README_METRICS_SERVER and a proxy elsewhere in the way, the start-up
    check (whose proxy side odds10 taught these forms) said nothing: the metrics_api side
    (is_loopback_url) knew only 127/8, ::1 and localhost. The proxy is a documentation
    address (TEST-NET-1): nothing is posted."""
    through_proxy(monkeypatch, "http://192.0.2.10:3128")
    said = _said_at_start_up(caplog, f"review25-proxy-to-{host}",
                             f"http://{host}:{free_port()}")
    assert len(said) == 1 and (
        "a proxy cannot reach this machine's loopback address" in said[0]), said
