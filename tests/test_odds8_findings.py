"""odds8's items (leftovers of earlier sessions' notes): each test failed on main at
ed38dd6 and passes with its fix, under real parts (the collector on 127.0.0.1, real WSGI
servers, the middleware as users build it)."""

from __future__ import annotations

import http.client
from typing import Any, Callable

import pytest

from tests.support.fake_api import Collector
from tests.support.wsgi_servers import served

# -- 1. the response's httpVersion when the app raises in its call --------------------------


def _raising(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    raise RuntimeError("odds8: the app raised before answering")


@pytest.mark.parametrize("kind", ["wsgiref", "werkzeug-unthreaded", "waitress"])
def test_an_app_raising_in_its_call_logs_the_version_of_the_servers_500(
        collector: Collector, inline_wrap: Any, kind: str) -> None:
    """wsgiref answers its own 500 to an app that raised in HTTP/1.0 whatever the request's
    version (as it answers everything): the log said HTTP/1.1, the request's. odds6 took
    the status line's version where the app returned; an app that raised before it
    returned never got there. Checked against what the client read."""
    with served(kind, inline_wrap(_raising)) as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/raises")
        answer = connection.getresponse()
        answer.read()
        connection.close()
    entry = collector.wait_for_logs(1)[0]["request"]["log"]["entries"][0]
    assert answer.status == 500 and entry["response"]["status"] == 500
    assert entry["request"]["httpVersion"] == "HTTP/1.1"  # http.client's
    assert entry["response"]["httpVersion"] == f"HTTP/{answer.version / 10:.1f}", (
        kind, answer.version)
