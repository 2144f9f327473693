"""review28's items (an adversarial read of what review27, spec21, newcomer6 and review26
landed after 56b32bc): each test failed on main at 18ddf48 and passes with its fix, under
real parts (the collector in-process on 127.0.0.1, raw sockets where the bytes matter)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware
from readme_metrics.cli.collector import LocalCollector
from tests.support.contract import API_KEY, caller, json_app
from tests.support.raw_requests import status_lines
from tests.support.sample_logs import valid_log

# -- 1. collect: a body sent with OPTIONS or GET is read, not taken for the next request --


@pytest.mark.parametrize("method", ["OPTIONS", "GET"])
def test_a_body_on_a_request_that_takes_none_is_not_read_as_the_next_request(
        local: LocalCollector, method: str) -> None:
    """f64ff8e/30d168b answer OPTIONS (204) on a kept-alive connection, where
    http.server's 501 closed it; the handler read no body, so one sent with it (here a
    whole request, as a smuggled one would be) was answered as a request of its own.
    GET, its 405 on /v1/request new too, did the same."""
    port = local.url.rsplit(":", 1)[1]
    host = f"Host: 127.0.0.1:{port}\r\n".encode()
    inner = b"DELETE /api/logs HTTP/1.1\r\n" + host + b"Content-Length: 0\r\n\r\n"
    answers = status_lines(local.port, f"{method} /v1/request HTTP/1.1\r\n".encode() + host
                       + f"Content-Length: {len(inner)}\r\n\r\n".encode() + inner
                       + b"GET /api/summary HTTP/1.1\r\n" + host
                       + b"Connection: close\r\n\r\n")
    assert answers == [b"HTTP/1.1 204 No Content" if method == "OPTIONS"
                       else b"HTTP/1.1 405 Method Not Allowed", b"HTTP/1.1 200 OK"]
    assert local.store.generation == 0  # the DELETE in the body was not served


# -- 2. collect: Transfer-Encoding in two header lines is one list ------------------------


def test_transfer_encoding_in_two_lines_is_read_as_one_list(local: LocalCollector) -> None:
    """RFC 9110 5.3: two Transfer-Encoding lines are one list, 'chunked, gzip' here, whose
    last coding is not chunked: 501, as for the one-line spelling. Only the first line was
    read, so this body was taken as chunked and its logs accepted."""
    port = local.url.rsplit(":", 1)[1]
    body = json.dumps([valid_log("two-lines")]).encode()
    answers = status_lines(local.port, (
        f"POST /v1/request HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        "Transfer-Encoding: gzip\r\n\r\n").encode()
        + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    assert answers == [b"HTTP/1.1 501 Not Implemented"]
    assert local.store.accepted == 0


# -- 3. a MetricsApiConfig given alone, in the app's place ---------------------------------


@pytest.mark.parametrize("middleware", [MetricsMiddleware, AsgiMetricsMiddleware])
def test_a_config_given_alone_is_not_said_to_be_missing(middleware: type) -> None:
    """MetricsMiddleware(config) (the app left out, as Flask's ReadMeMetrics(config) is
    made) was told 'config is missing: pass MetricsApiConfig(...)' by 102aa64's default,
    a MetricsApiConfig being what it was given: the app is what is missing."""
    config = MetricsApiConfig(api_key=API_KEY, grouping_function=caller, enabled=False)
    with pytest.raises(TypeError) as raised:
        middleware(config)
    message = str(raised.value)
    assert "config is missing" not in message
    assert "the MetricsApiConfig was given in the app's place" in message
    assert f"{middleware.__name__}(app, config)" in message
    # The usual call is untouched.
    app = json_app if middleware is MetricsMiddleware else _asgi_app
    assert middleware(app, config).config is config


async def _asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An ASGI app (never called: the middlewares here have metrics off)."""


def test_an_asgiref_adapter_outside_django_is_not_told_of_djangos_setting() -> None:
    """README's way to serve a WSGI app (Flask) under an ASGI server is the ASGI
    middleware around asgiref's WsgiToAsgi; made without its config, 102aa64 took any
    asgiref object for Django's handler and added "in Django's MIDDLEWARE setting, name
    'readme_metrics.django.MetricsMiddleware' instead" to a project with no Django.
    asgiref's adapter counts only around a function of Django's (AsyncToSync of its
    chain under ASGI, which tests/test_newcomer6_findings.py runs)."""
    from asgiref.wsgi import WsgiToAsgi

    with pytest.raises(TypeError) as raised:
        AsgiMetricsMiddleware(WsgiToAsgi(json_app))
    assert str(raised.value).endswith("config is missing: pass MetricsApiConfig(...) (or "
                                      "MetricsApiConfig(), which reads the README_* "
                                      "variables)")
