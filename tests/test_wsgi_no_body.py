"""Requests whose framing declares no body keep the server's ``wsgi.input`` untouched.

An HTTP/1.x request without Transfer-Encoding and with no (or a zero) Content-Length has
no body: the middleware then leaves ``wsgi.input`` as the server gave it (the app reads
exactly what it would bare), gives the grouping function an empty body, and logs none.
Any other request, HTTP/2 without a length included, still has its body recorded.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.fake_api import INLINE_TIMEOUT, Collector
from tests.support.wsgi import run_wsgi, wsgi_environ


def reading_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Answers with the type of its input and what reading it to the end gave."""
    stream = environ["wsgi.input"]
    data = stream.read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{type(stream).__name__}:".encode() + data]


def middleware_for(collector: Collector, grouping_seen: list[bytes]) -> MetricsMiddleware:
    def grouping(request: Any) -> dict[str, str]:
        grouping_seen.append(request.body)
        return {"api_key": "caller"}

    return MetricsMiddleware(reading_app, MetricsApiConfig(
        api_key="rdme_abcdefghijklmnopqrstuvwxyz", metrics_api=collector.url,
        base_log_url="https://docs.test", buffer_length=1, background_worker_mode=False,
        timeout=INLINE_TIMEOUT,
        grouping_function=grouping))


def environ(protocol: str, length: Any, extra: bytes = b"stray") -> dict[str, Any]:
    env = wsgi_environ("GET", "/items")
    env["SERVER_PROTOCOL"] = protocol
    env["wsgi.input"] = io.BytesIO(extra)  # bytes past the (absent) body: a direct call
    env.pop("CONTENT_LENGTH", None)
    if length is not None:
        env["CONTENT_LENGTH"] = length
    return env


@pytest.mark.parametrize("protocol", ["HTTP/1.1", "HTTP/1.0"])
@pytest.mark.parametrize("length", [None, "", "0"])
def test_no_declared_body_leaves_the_input_alone(
        collector: Collector, protocol: str, length: Any) -> None:
    seen: list[bytes] = []
    middleware = middleware_for(collector, seen)
    bare = run_wsgi(reading_app, environ(protocol, length))
    wrapped = run_wsgi(middleware, environ(protocol, length))
    # The server's own BytesIO, read as bare: the grouping function took nothing from it.
    assert wrapped.body == bare.body == b"BytesIO:stray"
    assert seen == [b""]
    [log] = collector.wait_for_logs(1)
    request = log["request"]["log"]["entries"][0]["request"]
    assert "postData" not in request and request["bodySize"] == 0
    middleware.close()


@pytest.mark.parametrize("protocol, length, headers", [
    ("HTTP/1.1", "2", {}),
    ("HTTP/2", None, {}),  # HTTP/2 may carry a body without a length
    ("HTTP/1.1", None, {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True}),
])
def test_a_possible_body_is_still_recorded(
        collector: Collector, protocol: str, length: Any, headers: dict[str, Any]) -> None:
    seen: list[bytes] = []
    middleware = middleware_for(collector, seen)
    env = environ(protocol, length, b"hi")
    env.update(headers)
    result = run_wsgi(middleware, env)
    assert result.body.endswith(b":hi") and not result.body.startswith(b"BytesIO")
    [log] = collector.wait_for_logs(1)
    request = log["request"]["log"]["entries"][0]["request"]
    assert request["postData"]["text"] == "hi" and request["bodySize"] == 2
    middleware.close()
