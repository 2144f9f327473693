"""The query of a request whose raw target has none (SPEC 4: ``url`` and ``queryString``).

werkzeug's test environ, under Flask's test client too
(``client.get("/search", query_string={"q": "owl"})``), gives RAW_URI and REQUEST_URI
as the path alone and the query in QUERY_STRING only. The app reads the query; the log
must show it as well, in ``url`` and in ``queryString``, masked and redacted as any query.
Found by the second outside acceptance suite (blackbox2), written from SPEC.md alone.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder, run_wsgi_app

from readme_metrics import MetricsApiConfig
from readme_metrics.masking import mask
from tests.support.contract import API_KEY, caller, reading_app
from tests.support.fake_api import INLINE_TIMEOUT, Collector
from tests.support.har_check import assert_valid_log


def _request(log: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = log["request"]["log"]["entries"][0]["request"]
    return entry


def test_flask_test_client_query_string_is_logged(collector: Collector) -> None:
    flask = pytest.importorskip("flask")
    from readme_metrics.flask_readme import ReadMeMetrics

    app = flask.Flask(__name__)

    @app.get("/search")
    def search() -> Any:
        return {"args": flask.request.args.to_dict()}

    metrics = ReadMeMetrics(MetricsApiConfig(
        api_key=API_KEY, grouping_function=caller, metrics_api=collector.url,
        buffer_length=1, background_worker_mode=False, timeout=INLINE_TIMEOUT), app)
    try:
        with app.test_client() as client:
            response = client.get("/search", query_string={"q": "owl", "page": "2"})
            assert response.json == {"args": {"q": "owl", "page": "2"}}
            response.close()
        [log] = collector.wait_for_logs(1)
    finally:
        metrics.close()
    request = _request(log)
    assert request["url"] == "http://localhost/search?q=owl&page=2"
    assert request["queryString"] == [{"name": "q", "value": "owl"},
                                      {"name": "page", "value": "2"}]
    assert_valid_log(log)


def test_a_callers_key_only_in_query_string_is_masked(inline_wrap: Any,
                                                       collector: Collector) -> None:
    """The key the grouping function returned, sent in such a query, is logged masked
    (SPEC 6), and a denylisted parameter redacted in ``url`` and ``queryString``."""
    key = "owl-key-from-the-query-4321"
    middleware = inline_wrap(
        reading_app(), denylist=["token"],
        grouping_function=lambda req: {"api_key": req.GET["key"]})
    environ = EnvironBuilder(path="/p", query_string={"key": key, "token": "abc"}
                             ).get_environ()
    assert "?" not in environ["RAW_URI"]  # the werkzeug shape this test is about
    run_wsgi_app(middleware, environ, buffered=True)
    [log] = collector.wait_for_logs(1)
    request = _request(log)
    assert request["queryString"] == [{"name": "key", "value": mask(key)},
                                      {"name": "token", "value": "[REDACTED 3]"}]
    assert parse_qsl(urlsplit(request["url"]).query) == [
        ("key", mask(key)), ("token", "[REDACTED 3]")]
    assert key not in str(log)
    assert_valid_log(log)


def test_a_raw_target_with_its_own_query_is_kept_as_received(inline_wrap: Any,
                                                             collector: Collector) -> None:
    """A raw target that has a query (every real server's) stays exactly as received."""
    middleware = inline_wrap(reading_app())
    environ = EnvironBuilder(path="/p").get_environ()
    environ.update(RAW_URI="/p?a=%2B+b", REQUEST_URI="/p?a=%2B+b", QUERY_STRING="a=%2B+b")
    run_wsgi_app(middleware, environ, buffered=True)
    [log] = collector.wait_for_logs(1)
    assert _request(log)["url"] == "http://localhost/p?a=%2B+b"
    assert _request(log)["queryString"] == [{"name": "a", "value": "+ b"}]


_NAMES = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1,
                 max_size=8)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=st.lists(st.tuples(_NAMES, st.text(max_size=8)), min_size=1, max_size=5))
def test_any_query_string_of_the_test_environ_is_logged(
        inline_wrap: Any, collector: Collector, pairs: list[tuple[str, str]]) -> None:
    """For any pairs the app receives through QUERY_STRING alone, ``queryString`` holds
    them, in the order the app gets them, and ``url``'s query decodes to the same pairs."""
    before = len(collector.logs)
    middleware = inline_wrap(reading_app())
    environ = EnvironBuilder(path="/q", query_string=pairs).get_environ()
    received = parse_qsl(environ["QUERY_STRING"], keep_blank_values=True)
    assert sorted(received) == sorted(pairs)
    run_wsgi_app(middleware, environ, buffered=True)
    middleware.close()
    log = collector.wait_for_logs(before + 1)[before]
    request = _request(log)
    assert [(p["name"], p["value"]) for p in request["queryString"]] == received
    assert parse_qsl(urlsplit(request["url"]).query, keep_blank_values=True) == received
