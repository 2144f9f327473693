"""odds10's items (reviewers' leftovers): each test failed on main at cfd550a and passes
with its fix, under real parts (the configuration as users build it, the collector as
the Metrics API and as a proxy, real Flask apps)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig
from tests.support.delivery import (
    MakeDelivery,
    item,
    make_delivery_fixture,  # noqa: F401 - ``make_delivery``
    messages,
    proxy_taken_for_elsewhere,
    said_on,
    through_proxy,
)
from tests.support.fake_api import Collector, Reply
from tests.support.polling import wait_until
from tests.support.ports import free_port


def _grouping(request: Any) -> None:
    return None


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
        assert said_on(caplog, logger) == []
    finally:
        unused.close()
        (app.wsgi_app.app if outer else app.wsgi_app).close()


# -- 1, 2. a proxy on this machine: no "a proxy cannot reach this machine's loopback" -------

# The library gives a log up after this many attempts while the API is taken for down
# (MAX_DOWN_ATTEMPTS, 120: some 9 s of 502s at the fixture's backoff); what it says
# then does not depend on the count.
GIVE_UP = 5
_ELSEWHERE = "a proxy cannot reach this machine's loopback address"
_COLLECT = ("nothing listens there: start `readme-metrics collect` (it prints the URL to "
            "give README_METRICS_SERVER), or correct the port in metrics_api "
            "(README_METRICS_SERVER)")


@pytest.mark.parametrize("proxy", ["http://127.1:8080", "http://0.0.0.0:8080",
                                   "http://[::]:8080", "http://[::ffff:127.0.0.1]:8080"])
def test_a_proxy_on_this_machine_written_otherwise_is_not_said_in_the_way(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        proxy: str) -> None:
    """mitmproxy's address written short (``127.1``) or as the unspecified address a
    connection takes for this machine: the start-up check said it "cannot reach this
    machine's loopback address", as it did for ``[::1]`` before review23. Nothing is
    posted (nothing is logged)."""
    from readme_metrics import MetricsMiddleware

    through_proxy(monkeypatch, proxy)
    logger = logging.getLogger(f"odds10-proxy-here-{proxy}")
    caplog.set_level(logging.WARNING, logger=logger.name)
    config = MetricsApiConfig(api_key="any-key", grouping_function=_grouping, logger=logger,
                              metrics_api=f"http://127.0.0.1:{free_port()}")
    MetricsMiddleware(lambda environ, start_response: [], config).close()
    assert said_on(caplog, logger) == []


def test_the_start_up_proxy_warning_names_the_https_variables_for_an_https_url(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """An https loopback metrics_api goes through the proxy HTTPS_PROXY names: the
    warning said "the proxy that http_proxy, HTTP_PROXY or ALL_PROXY names". The proxy is
    a documentation address (TEST-NET-1): nothing is posted."""
    from readme_metrics import MetricsMiddleware

    through_proxy(monkeypatch, "")
    for name in ("https_proxy", "HTTPS_PROXY"):
        monkeypatch.setenv(name, "http://192.0.2.10:3128")
    logger = logging.getLogger("odds10-proxy-https")
    caplog.set_level(logging.WARNING, logger=logger.name)
    url = f"https://127.0.0.1:{free_port()}"
    config = MetricsApiConfig(api_key="any-key", grouping_function=_grouping, logger=logger,
                              metrics_api=url)
    MetricsMiddleware(lambda environ, start_response: [], config).close()
    (said,) = said_on(caplog, logger)
    assert ("the POSTs went to the proxy that https_proxy, HTTPS_PROXY or ALL_PROXY names, "
            f"and {_ELSEWHERE}") in said, said


@pytest.mark.parametrize("status, level, needle, ending", [
    pytest.param(502, logging.WARNING, "could not deliver",
                 f"; the proxy on this machine could not reach it, {_COLLECT}", id="502"),
    pytest.param(403, logging.ERROR, "refused the POST of logs",
                 "; if it was the proxy's: ask for 127.0.0.1 to be let through it, or add "
                 "127.0.0.1 to NO_PROXY where it is reached without the proxy.", id="403"),
    # The proxy's own 407 (odds11): its credentials, not NO_PROXY's loopback hint.
    pytest.param(407, logging.ERROR, "asks for credentials", "give them (or the right "
                 "ones) in that variable (http://user:password@host:port), or set "
                 "NO_PROXY=127.0.0.1 (keeping what it holds, comma-separated) for the POSTs "
                 "to go without the proxy, and restart the app.", id="407"),
])
def test_a_proxy_on_this_machine_answering_gets_no_remote_proxy_hint(
        make_delivery: MakeDelivery, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch, status: int, level: int, needle: str,
        ending: str) -> None:
    """mitmproxy on 127.0.0.1 and ``readme-metrics collect`` not started: its 502 said
    "a proxy cannot reach this machine's loopback address" (false: it can) instead of
    "start `readme-metrics collect`". The proxy is a real one on 127.0.0.1 answering
    ``status``; the collector's port has nothing listening."""
    proxy = Collector().start()
    try:
        proxy.default = Reply(status)
        through_proxy(monkeypatch, proxy.url)
        delivery = make_delivery(f"http://127.0.0.1:{free_port()}", buffer_length=1,
                                 max_down_attempts=GIVE_UP)
        delivery.submit(item("a"))
        wait_until(lambda: delivery.stats["dropped"] == 1)
        assert len(proxy.failed) >= 1
        (said,) = messages(caplog, level, needle)
        assert said.endswith(ending) and _ELSEWHERE not in said, said
    finally:
        proxy.stop()


def test_a_proxy_on_this_machine_not_answering_is_said_so(
        make_delivery: MakeDelivery, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """mitmproxy not started (http_proxy still names it): the gave-up warning said a
    proxy cannot reach this machine's loopback address; it says the proxy did not answer."""
    through_proxy(monkeypatch, f"http://127.0.0.1:{free_port()}")
    url = f"http://127.0.0.1:{free_port()}"
    delivery = make_delivery(url, buffer_length=1, max_down_attempts=GIVE_UP)
    delivery.submit(item("a"))
    wait_until(lambda: delivery.stats["dropped"] == 1)
    (said,) = messages(caplog, logging.WARNING, "could not deliver")
    assert said.endswith(
        "; the proxy on this machine that http_proxy, HTTP_PROXY or ALL_PROXY names did not "
        "answer: start it, or start the app with NO_PROXY=127.0.0.1 set (keeping what it "
        "holds, comma-separated) for the POSTs to go straight to metrics_api "
        "(README_METRICS_SERVER)"), said
    assert _ELSEWHERE not in said


def test_a_proxy_elsewhere_answering_still_gets_the_no_proxy_hint(
        collector: Collector, make_delivery: MakeDelivery,
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """The case the hint is for, a proxy on another host: a real one on 127.0.0.1 that the
    library is made to take for one elsewhere (every network test talks to loopback
    only). Its 502 ends with the NO_PROXY hint."""
    proxy_taken_for_elsewhere(monkeypatch)
    proxy = Collector().start()
    try:
        proxy.default = Reply(502)
        through_proxy(monkeypatch, proxy.url)
        delivery = make_delivery(collector.url, buffer_length=1, max_down_attempts=GIVE_UP)
        delivery.submit(item("a"))
        wait_until(lambda: delivery.stats["dropped"] == 1)
        assert len(proxy.failed) >= 1 and collector.received == []
        (said,) = messages(caplog, logging.WARNING, "could not deliver")
        assert said.endswith(f"{_ELSEWHERE}: start the app with NO_PROXY=127.0.0.1 set "
                             "(keeping what it holds, comma-separated), then the POSTs go "
                             "straight to metrics_api (README_METRICS_SERVER)"), said
    finally:
        proxy.stop()
