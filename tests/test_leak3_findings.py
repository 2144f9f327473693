"""Leaks found by an adversarial pass over the places a secret could leave in clear
(leak3): each test failed before its fix.

* ``base_log_url`` with a user and password (``https://user:pw@docs.example.com``, a docs
  site behind basic auth) went into ``x-documentation-url``, which every client of the
  API receives, and into the log's response headers. Links are made without them (the
  looked-up ``baseUrl`` too), with one start-up warning.
* the docs URL lookup's warning for a redirect to a URL that cannot be read named
  ``readme_api_url`` whole, its password included (the other warnings there hid it).
* ``repr()`` of the delivery and its transport showed ``metrics_api`` with its user and
  password (the config's repr already hid them).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Callable

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware
from readme_metrics.docs_url import DocsUrl
from tests.support.asgi import http_scope, run
from tests.support.fake_api import INLINE_TIMEOUT, Collector, Reply
from tests.support.polling import wait_until
from tests.support.wsgi import run_wsgi, wsgi_environ

PASSWORD = "docs-pw-s3cr3t"


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _config(collector: Collector, **options: Any) -> MetricsApiConfig:
    return MetricsApiConfig(api_key="rdme_leak3_key", metrics_api=collector.url,
                            grouping_function=lambda req: {"api_key": "caller-key-1234"},
                            buffer_length=1, background_worker_mode=False,
                            timeout=INLINE_TIMEOUT, **options)


@pytest.mark.parametrize("server", ["wsgi", "asgi"])
def test_base_log_url_credentials_never_reach_clients_or_the_log(
        collector: Collector, caplog: pytest.LogCaptureFixture, server: str) -> None:
    caplog.set_level(logging.DEBUG)
    # (A host of its own: the warning is said once per process and URL.)
    config = _config(collector, base_log_url=f"https://owl:{PASSWORD}@{server}.example.com/")
    if server == "wsgi":
        middleware: Any = MetricsMiddleware(app, config)
        headers = dict(run_wsgi(middleware, wsgi_environ()).headers)
    else:
        import asyncio
        middleware = AsgiMetricsMiddleware(asgi_app, config)
        ran = asyncio.run(run(middleware, http_scope()))
        headers = {k.decode(): v.decode() for k, v in ran.start["headers"]}
    try:
        (log,) = collector.wait_for_logs(1, timeout=10)
    finally:
        middleware.close()
    link = headers["x-documentation-url"]
    assert re.fullmatch(rf"https://{server}\.example\.com/logs/[0-9a-f-]{{36}}", link), link
    assert PASSWORD not in json.dumps(log)
    assert PASSWORD not in caplog.text
    assert "base_log_url (README_BASE_LOG_URL) holds a user and password" in caplog.text


def test_a_looked_up_base_url_with_credentials_is_used_without_them(
        collector: Collector) -> None:
    collector.get_v1 = lambda received: Reply(
        200, json.dumps({"baseUrl": f"https://owl:{PASSWORD}@docs.example.com"}).encode())
    config = _config(collector, readme_api_url=collector.url)
    docs = DocsUrl(config)
    wait_until(lambda: docs.base() is not None)
    assert docs.base() == "https://docs.example.com"


def test_the_lookup_warning_for_an_unreadable_redirect_hides_the_password(
        collector: Collector, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    collector.get_v1 = lambda received: Reply(302, headers={"Location": "http://:80/"})
    url = collector.url.replace("http://", f"http://owl:{PASSWORD}@")
    docs = DocsUrl(_config(collector, readme_api_url=url))
    assert docs.base() is None
    wait_until(lambda: "could not look up the documentation URL" in caplog.text)
    assert "redirected to a URL that cannot be read" in caplog.text
    assert PASSWORD not in caplog.text, caplog.text


def test_the_delivery_and_transport_reprs_hide_the_urls_password() -> None:
    config = MetricsApiConfig(api_key="rdme_leak3_key", grouping_function=lambda req: None,
                              metrics_api=f"http://owl:{PASSWORD}@127.0.0.1:9")
    middleware = MetricsMiddleware(app, config)
    try:
        delivery = middleware.pipeline.delivery  # type: ignore[union-attr]
        shown = repr(delivery) + repr(delivery._transport)
    finally:
        middleware.close()
    assert PASSWORD not in shown and "http://***@127.0.0.1:9/v1/request" in shown, shown
