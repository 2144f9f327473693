"""README_SKIP_METHODS naming a method no registry has (newcomer20: FETCH, which no
server sends to the app in practice) was taken without a word. A custom method is legal
HTTP (RFC 9110 9.1), so it is kept, and a warning at start-up names it and the
registered ones: a misspelt method skips nothing.
"""

from __future__ import annotations

import http.client
import logging
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.list_checks import REGISTERED_METHODS, unknown_methods_warning
from readme_metrics.options import OPTIONS
from tests.support.fake_api import Collector
from tests.support.polling import PATIENCE, wait_until
from tests.support.wsgi import ThreadedWSGIServer

SAID = ("no method of the HTTP method registry (GET, HEAD, POST, PUT, PATCH, DELETE, "
        "OPTIONS, TRACE, CONNECT and WebDAV's): kept, it skips only requests sent with "
        "that very method")


def caller(request: Any) -> dict[str, str]:
    return {"api_key": "grouping22-caller"}


def test_an_unknown_method_is_kept_warned_about_and_skipped_when_sent(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """README_SKIP_METHODS=FETCH,head: one warning naming FETCH (not HEAD); a real wsgiref
    server's FETCH request reaches the app and is not logged, a GET is. Fails on
    df48492: no warning."""
    monkeypatch.setenv("README_SKIP_METHODS", "FETCH,head")
    seen: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["REQUEST_METHOD"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    collector = Collector().start()
    try:
        with caplog.at_level(logging.WARNING, "readme_metrics"):
            config = MetricsApiConfig(api_key="rdme_grouping22_key", grouping_function=caller,
                                      metrics_api=collector.url, buffer_length=1)
        assert config.skip_methods == ["FETCH", "HEAD"]
        warnings = [r.getMessage() for r in caplog.records if SAID in r.getMessage()]
        assert warnings == [
            "readme_metrics: skip_methods (README_SKIP_METHODS) lists 'FETCH', " + SAID
            + ", which servers pass on as any other; a misspelt method skips nothing"
        ], caplog.text
        middleware = MetricsMiddleware(app, config)
        with ThreadedWSGIServer(middleware) as server:
            for method in ("FETCH", "GET"):
                connection = http.client.HTTPConnection(server.url[len("http://"):],
                                                        timeout=PATIENCE)
                connection.request(method, "/x")
                answer = connection.getresponse()
                assert (answer.status, answer.read()) == (200, b"ok")
                connection.close()
            logs = collector.wait_for_logs(1)
            wait_until(lambda: middleware.stats["skipped"] == 1)
        middleware.close()
        assert seen == ["FETCH", "GET"]
        assert [log["request"]["log"]["entries"][0]["request"]["method"] for log in logs] \
            == ["GET"]
    finally:
        collector.stop()


OPTION = next(option for option in OPTIONS if option.name == "skip_methods")


@given(st.lists(st.one_of(st.sampled_from(sorted(REGISTERED_METHODS)),
                          st.from_regex(r"[A-Z][A-Z0-9\-]{0,11}", fullmatch=True)),
                max_size=5))
def test_the_warning_names_exactly_the_unregistered_methods(methods: list[str]) -> None:
    said = unknown_methods_warning(OPTION, ",".join(methods), methods)
    unknown = [method for method in methods if method not in REGISTERED_METHODS]
    if not unknown:
        assert said is None
        return
    assert said is not None and SAID in said
    named = said.split(" lists ", 1)[1].split(", no method of", 1)[0]
    assert named == ", ".join(repr(method) for method in unknown)
