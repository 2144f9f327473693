"""Response headers in shapes PEP 3333 does not allow still give one log per call.

werkzeug's development server takes ``start_response`` headers without checking them
and fails only while writing, so the app's call happened: it must show up. A 3-tuple or a
bare string among the headers made the log fail to build on the worker, and it was
dropped. Entries that are no (name, value) pair are now left out of the log; the rest is
logged as the app gave it. The answers themselves are the server's business, bare or
wrapped (tests/test_hostile_servers.py compares them under the real servers).
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

from readme_metrics.cli.collector.validation import validate_log
from tests.support.capture_wrap import wrap_fixture  # noqa: F401 - the fixture
from tests.support.fake_api import Collector
from tests.support.minimal_server import call, environ_for


@pytest.mark.parametrize(("headers", "logged"), [
    pytest.param([("Content-Type", "text/plain", "x"), ("X-A", "1")], [("X-A", "1")],
                 id="three-items"),
    pytest.param(["Content-Type: text/plain", ("X-A", "1")], [("X-A", "1")], id="a-string"),
    pytest.param([None, ("X-A", "1")], [("X-A", "1")], id="none"),
    pytest.param([("X-N", 5), (b"X-B", b"b")], [("X-N", "5"), ("X-B", "b")],
                 id="int-and-bytes"),
])
def test_malformed_response_headers_still_give_a_log(wrap: Any, collector: Collector,
                                                     headers: list[Any],
                                                     logged: list[tuple[str, str]]) -> None:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", headers)
        return [b"ok"]

    assert call(wrap(app), environ_for()).body == b"ok"
    log = collector.wait_for_logs(1)[0]
    assert validate_log(log) == []
    response = log["request"]["log"]["entries"][0]["response"]
    assert [(h["name"], h["value"]) for h in response["headers"]] == logged


@pytest.mark.parametrize("documented", [False, True], ids=["no-doc-url", "doc-url"])
@pytest.mark.parametrize("headers", [None, 5], ids=["none", "an-int"])
def test_headers_that_are_no_sequence_are_the_servers_to_refuse(
        wrap: Any, collector: Collector, headers: Any, documented: bool) -> None:
    # A server that does not check them (werkzeug's development server fails only while
    # writing) takes such headers from the app bare: wrapped, start_response must not
    # raise into the app either (copying them for the log raised TypeError), and the
    # call still gives a log, without headers.
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", headers)
        return [b"ok"]

    wrapped = wrap(app, base_log_url="https://docs.example.com") if documented else wrap(app)
    result = call(wrapped, environ_for())
    assert (result.headers, result.body) == (headers, b"ok")
    log = collector.wait_for_logs(1)[0]
    assert validate_log(log) == []
    response = log["request"]["log"]["entries"][0]["response"]
    assert [h for h in response["headers"] if h["name"] != "x-documentation-url"] == []
