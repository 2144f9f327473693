"""SPEC sections 2, 4, 5, 8 and 9, line by line, through the public API only (spec27).

Every case runs the real middleware against the real collector (tests/support) and checks
the log with the strict HAR 1.2 checker (tests.support.har_check.assert_valid_log) before
asserting exactly what the SPEC line says. The odd cases are the point: binary and empty
bodies, 1xx/204/304, HEAD, file_wrapper, write(), redirects, odd Cookie and Set-Cookie
headers, odd query strings, status lines with unusual reasons. Lines already covered
elsewhere are not repeated here (the spec27 report maps each line to its test).
"""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional
from wsgiref.util import FileWrapper

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.contract import (
    API_KEY,
    CALLER,
    DOCS,
    caller,
    exchange,
    inline_options,
    pairs,
    spec_mask,
)
from tests.support.fake_api import Collector
from tests.support.har_check import assert_valid_log
from tests.support.wsgi import run_wsgi, wsgi_environ
from tests.test_acceptance_cli import collect  # noqa: F401 - the ``collect`` fixture

StartResponse = Callable[..., Any]


def app_answering(status: str = "200 OK",
                  headers: Optional[list[tuple[str, str]]] = None,
                  chunks: Optional[list[bytes]] = None) -> Callable[..., Any]:
    """An app that reads its whole body, then answers as told."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response(status, list(headers if headers is not None
                                    else [("Content-Type", "text/plain")]))
        return list(chunks if chunks is not None else [b"ok"])

    return app


def one_entry(inline_wrap: Any, collector: Collector, app: Any, **request: Any
              ) -> tuple[Any, dict[str, Any]]:
    """One call through a fresh inline middleware: (WSGIResult, HAR entry), log checked."""
    result, _log, entry = exchange(inline_wrap(app), collector, **request)
    return result, entry


# ------------------------------------------------------------------ SPEC 2: public API


def test_every_documented_import_path_resolves_to_the_documented_kind() -> None:
    import readme_metrics
    import readme_metrics.asgi
    import readme_metrics.django
    import readme_metrics.fastapi
    import readme_metrics.flask_readme
    import readme_metrics.webhooks
    from readme_metrics.VerifyWebhook import VerifyWebhook

    assert readme_metrics.MetricsApiConfig is MetricsApiConfig
    assert readme_metrics.MetricsMiddleware is MetricsMiddleware
    assert hasattr(readme_metrics.flask_readme.ReadMeMetrics, "init_app")
    assert callable(readme_metrics.django.MetricsMiddleware)
    assert VerifyWebhook is readme_metrics.webhooks.VerifyWebhook
    assert issubclass(readme_metrics.webhooks.VerificationError, Exception)
    assert callable(readme_metrics.fastapi.ReadMeMetricsMiddleware)
    assert callable(readme_metrics.asgi.MetricsMiddleware)


def test_flask_extension_init_app_logs_with_the_status_line_reason(collector: Collector
                                                                     ) -> None:
    flask = pytest.importorskip("flask")
    from readme_metrics.flask_readme import ReadMeMetrics

    app = flask.Flask("spec27")

    @app.route("/tea", methods=["POST"])
    def tea() -> Any:
        return flask.Response(flask.request.get_data(), status="299 Short And Stout",
                              mimetype="text/plain")

    extension = ReadMeMetrics(MetricsApiConfig(api_key=API_KEY, metrics_api=collector.url,
                                               **inline_options({})))
    extension.init_app(app)
    try:
        response = app.test_client().post("/tea?cup=1", data=b"brew")
        assert response.status == "299 Short And Stout" and response.data == b"brew"
        response.close()  # as a server does: the log is finished when the answer closes
        assert extension.flush(5.0)
        log, = collector.wait_for_logs(1)
        assert_valid_log(log)
        entry = log["request"]["log"]["entries"][0]
        assert entry["response"]["status"] == 299
        assert entry["response"]["statusText"] == "Short And Stout"
        assert entry["request"]["postData"] == {"mimeType": "text/plain", "text": "brew"}
        assert log["group"]["id"] == spec_mask(CALLER["api_key"])
    finally:
        extension.close()


def _django_configured() -> None:
    from django.conf import settings

    if not settings.configured:  # alone; in a whole run tests/test_django.py did it
        import django

        settings.configure(DEBUG=False, SECRET_KEY="tests-not-secret", ALLOWED_HOSTS=["*"],
                           USE_TZ=True, INSTALLED_APPS=[])
        django.setup()


def test_django_middleware_reads_settings_and_logs_the_reason_phrase(collector: Collector
                                                                     ) -> None:
    pytest.importorskip("django")
    _django_configured()
    from django.core.handlers.wsgi import WSGIRequest
    from django.http import HttpResponse
    from django.test import override_settings

    import readme_metrics.django as adapter

    def view(request: Any) -> HttpResponse:
        return HttpResponse(request.body, status=299, reason="Custom Reason",
                            content_type="application/json")

    config = MetricsApiConfig(api_key=API_KEY, metrics_api=collector.url,
                              **inline_options({}))
    with override_settings(README_METRICS_CONFIG=config):
        middleware = adapter.MetricsMiddleware(view)  # no config: settings' one
        environ = wsgi_environ("PUT", "/d", {"Content-Type": "application/json"}, b'{"a":1}')
        response = middleware(WSGIRequest(environ))
        response.close()
    try:
        assert middleware.pipeline.flush(5.0)
        log, = collector.wait_for_logs(1)
        assert_valid_log(log)
        entry = log["request"]["log"]["entries"][0]
        assert entry["response"]["statusText"] == "Custom Reason"
        assert entry["request"]["postData"] == {"mimeType": "application/json",
                                                "text": '{"a":1}'}
        assert response["x-documentation-url"].startswith(DOCS)
    finally:
        middleware.pipeline.close()


def test_fastapi_middleware_grouping_gets_starlettes_request(collector: Collector) -> None:
    starlette = pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    del starlette
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from readme_metrics.fastapi import ReadMeMetricsMiddleware

    seen: list[Any] = []

    def grouping(request: Any) -> dict[str, str]:
        seen.append(request)
        return dict(CALLER)

    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hi " + " & ".join(request.query_params.getlist("n")))

    app = Starlette(routes=[Route("/hello", hello)])
    config = MetricsApiConfig(api_key=API_KEY, metrics_api=collector.url,
                              **inline_options({"grouping_function": grouping}))
    app.add_middleware(ReadMeMetricsMiddleware, config=config)
    with TestClient(app) as client:
        response = client.get("/hello?n=a+b&e=&n=%ZZ")
    assert response.text == "hi a b & %ZZ"
    log, = collector.wait_for_logs(1)
    assert_valid_log(log)
    assert isinstance(seen[0], Request)
    assert log["request"]["log"]["entries"][0]["request"]["queryString"] == [
        {"name": "n", "value": "a b"}, {"name": "e", "value": ""},
        {"name": "n", "value": "%ZZ"}]


def test_middleware_flush_close_and_stats_counters(collector: Collector) -> None:
    middleware = MetricsMiddleware(app_answering(), MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url, grouping_function=caller,
        base_log_url=DOCS, buffer_length=10, flush_interval=0))
    run_wsgi(middleware, wsgi_environ())
    run_wsgi(middleware, wsgi_environ("OPTIONS"))
    assert collector.logs == []  # a partial batch waits (no interval)
    assert middleware.flush(5.0) is True
    assert len(collector.wait_for_logs(1)) == 1
    stats = middleware.stats
    for counter in ("captured", "skipped", "queued", "sent", "dropped", "failed_batches",
                    "retries"):
        assert isinstance(stats[counter], int), counter
    assert stats["sent"] == 1 and stats["skipped"] == 1 and stats["dropped"] == 0
    middleware.close()
    middleware.close()  # idempotent


# ------------------------------------------------------------------ SPEC 4: payload


_MP_BODY = (b'--XX\r\nContent-Disposition: form-data; name="f"\r\n\r\nv 1\r\n'
            b'--XX\r\nContent-Disposition: form-data; name="up"; filename="a b.bin"\r\n'
            b'Content-Type: application/octet-stream\r\n\r\n\x00\x01\xff\r\n--XX--\r\n')

# (id, request kwargs, expected request.postData (None: absent), expected bodySize)
_REQUEST_BODIES = [
    pytest.param({"method": "GET"}, None, 0, id="get-without-body"),
    pytest.param({"method": "POST", "body": b'{"a": [1, 2]}',
                  "headers": {"Content-Type": "application/json"}},
                 {"mimeType": "application/json", "text": '{"a": [1, 2]}'}, 13, id="json"),
    pytest.param({"method": "PATCH", "body": b'{"x":1}',
                  "headers": {"Content-Type": "application/merge-patch+json"}},
                 {"mimeType": "application/merge-patch+json", "text": '{"x":1}'}, 7,
                 id="plus-json"),
    pytest.param({"method": "PUT", "body": b"<a>1</a>",
                  "headers": {"Content-Type": "Application/XML; Charset=UTF-8"}},
                 {"mimeType": "Application/XML; Charset=UTF-8", "text": "<a>1</a>"}, 8,
                 id="xml-type-as-sent"),
    pytest.param({"method": "DELETE", "body": b"hello there"},
                 {"mimeType": "text/plain", "text": "hello there"}, 11,
                 id="no-content-type-is-text-plain"),
    pytest.param({"method": "POST", "body": b"a=1+2&b=&a=%41&c",
                  "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
                 {"mimeType": "application/x-www-form-urlencoded",
                  "params": [{"name": "a", "value": "1 2"}, {"name": "b", "value": ""},
                             {"name": "a", "value": "A"}, {"name": "c", "value": ""}]},
                 16, id="form"),
    pytest.param({"method": "POST", "body": _MP_BODY,
                  "headers": {"Content-Type": "multipart/form-data; boundary=XX"}},
                 {"mimeType": "multipart/form-data; boundary=XX",
                  "params": [{"name": "f", "value": "v 1"},
                             {"name": "up", "fileName": "a b.bin",
                              "contentType": "application/octet-stream",
                              "value": "data:application/octet-stream;name=a b.bin;base64,"
                                       + base64.b64encode(b"\x00\x01\xff").decode()}]},
                 len(_MP_BODY), id="multipart-file"),
    pytest.param({"method": "POST", "body": b"\x00\x01\xfe\xff",
                  "headers": {"Content-Type": "application/octet-stream"}},
                 {"mimeType": "application/octet-stream",
                  "text": base64.b64encode(b"\x00\x01\xfe\xff").decode(),
                  "comment": "base64"}, 4, id="binary"),
    pytest.param({"method": "POST", "body": b"\x89PNG\r\n\x1a\n\x00",
                  "headers": {"Content-Type": "image/png"}},
                 {"mimeType": "image/png",
                  "text": base64.b64encode(b"\x89PNG\r\n\x1a\n\x00").decode(),
                  "comment": "base64"}, 9, id="binary-image"),
]


@pytest.mark.parametrize(("request_kwargs", "post_data", "body_size"), _REQUEST_BODIES)
def test_request_post_data_per_spec_4(inline_wrap: Any, collector: Collector,
                                      request_kwargs: dict[str, Any],
                                      post_data: Optional[dict[str, Any]],
                                      body_size: int) -> None:
    _result, entry = one_entry(inline_wrap, collector, app_answering(), **request_kwargs)
    request = entry["request"]
    assert request.get("postData") == post_data
    assert request["bodySize"] == body_size
    if "body" in request_kwargs:
        assert pairs(request["headers"])["Content-Length"] == str(body_size)


_QUERIES = [
    pytest.param("a=1+2&b=&c&a=3", [("a", "1 2"), ("b", ""), ("c", ""), ("a", "3")],
                 id="plus-blank-bare-repeat"),
    pytest.param("x=%41%2B%20y&%7E=%E2%82%AC", [("x", "A+ y"), ("~", "€")], id="escapes"),
    pytest.param("bad=%ZZ&half=%4&end=%", [("bad", "%ZZ"), ("half", "%4"), ("end", "%")],
                 id="invalid-escapes-kept"),
    pytest.param("=v&k=&&k", [("", "v"), ("k", ""), ("k", "")], id="empty-names-and-pairs"),
    pytest.param("eq=a=b&sp=%20", [("eq", "a=b"), ("sp", " ")], id="equals-in-value"),
]


@pytest.mark.parametrize(("query", "expected"), _QUERIES)
def test_query_string_decoded_in_order_url_left_encoded(
        inline_wrap: Any, collector: Collector, query: str,
        expected: list[tuple[str, str]]) -> None:
    _result, entry = one_entry(inline_wrap, collector, app_answering(), path="/q",
                               query=query)
    assert entry["request"]["url"].endswith("/q?" + query)
    assert [(p["name"], p["value"]) for p in entry["request"]["queryString"]] == expected


@pytest.mark.parametrize(("cookie", "names"), [
    pytest.param("a=1; b=2", ["a", "b"], id="plain"),
    pytest.param("a=1;;b=2; ", ["a", "b"], id="empty-pieces"),
    pytest.param(" a = 1 ;b=2", ["a", "b"], id="blanks-around"),
    pytest.param("a=1; a=2", ["a", "a"], id="repeated-name"),
    pytest.param("flag; =x", ["", ""], id="no-name"),
    pytest.param('q="x y"; e=', ["q", "e"], id="quoted-and-empty"),
])
def test_request_cookies_parsed_from_odd_cookie_headers(inline_wrap: Any,
                                                        collector: Collector, cookie: str,
                                                        names: list[str]) -> None:
    _result, entry = one_entry(inline_wrap, collector, app_answering(),
                               headers={"Cookie": cookie})
    cookies = entry["request"]["cookies"]
    assert [c["name"] for c in cookies] == names
    assert pairs(entry["request"]["headers"])["Cookie"] == spec_mask(cookie)


def test_response_cookies_from_set_cookie_with_odd_attributes(inline_wrap: Any,
                                                              collector: Collector) -> None:
    headers = [
        ("Content-Type", "text/plain"),
        ("Set-Cookie", "sid=abc123; Path=/api; Domain=Example.COM; HttpOnly; Secure; "
                       "SameSite=Lax; Priority=High; Partitioned"),
        ("Set-Cookie", "old=1; Expires=Sun, 06-Nov-94 08:49:37 GMT"),
        ("Set-Cookie", "gone=1; Max-Age=0; Expires=Wed, 21 Oct 2099 07:28:00 GMT"),
        ("Set-Cookie", "odd=2; max-age=abc; expires=never; secure"),
    ]
    before = datetime.now(timezone.utc)
    _result, entry = one_entry(inline_wrap, collector, app_answering(headers=headers))
    cookies = {c["name"]: c for c in entry["response"]["cookies"]}
    assert list(cookies) == ["sid", "old", "gone", "odd"]
    assert cookies["sid"]["value"] == spec_mask("abc123")
    assert (cookies["sid"]["path"], cookies["sid"]["domain"]) == ("/api", "Example.COM")
    assert cookies["sid"]["httpOnly"] is True and cookies["sid"]["secure"] is True
    assert cookies["old"]["expires"] == "1994-11-06T08:49:37.000Z"
    # Max-Age wins over Expires (RFC 6265 5.3): 0 means already expired.
    gone = datetime.strptime(cookies["gone"]["expires"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert gone.replace(tzinfo=timezone.utc) <= before + timedelta(seconds=1)
    assert "expires" not in cookies["odd"] and cookies["odd"]["secure"] is True
    masked = [h["value"] for h in entry["response"]["headers"] if h["name"] == "Set-Cookie"]
    assert masked == [spec_mask(value) for name, value in headers if name == "Set-Cookie"]


@pytest.mark.parametrize(("status", "text"), [
    pytest.param("200 OK", "OK", id="ok"),
    pytest.param("418 I'm a teapot", "I'm a teapot", id="teapot"),
    pytest.param("299 Words  With   Spaces", "Words  With   Spaces", id="spaces-kept"),
    pytest.param("200 Everything Is Fine", "Everything Is Fine", id="not-the-standard"),
    pytest.param("599 ", "", id="empty-reason"),
])
def test_status_text_is_the_status_lines_reason(inline_wrap: Any, collector: Collector,
                                               status: str, text: str) -> None:
    _result, entry = one_entry(inline_wrap, collector, app_answering(status))
    assert entry["response"]["status"] == int(status[:3])
    assert entry["response"]["statusText"] == text


# (id, app answer, request kwargs, expected content, expected bodySize)
_RESPONSES = [
    pytest.param(("200 OK", [], [b"hello"]), {}, {"size": 5, "mimeType": "", "text": "hello"},
                 5, id="no-content-type"),
    pytest.param(("200 OK", [("Content-Type", "application/octet-stream")],
                  [b"\x00\xff", b"\xfe"]), {},
                 {"size": 3, "mimeType": "application/octet-stream", "text": "AP/+",
                  "encoding": "base64"}, 3, id="binary-in-chunks"),
    pytest.param(("204 No Content", [], []), {"method": "DELETE"},
                 {"size": 0, "mimeType": "", "text": ""}, 0, id="204"),
    pytest.param(("304 Not Modified", [("ETag", '"v1"')], []),
                 {"headers": {"If-None-Match": '"v1"'}},
                 {"size": 0, "mimeType": "", "text": ""}, 0, id="304"),
    pytest.param(("100 Continue", [], []), {}, {"size": 0, "mimeType": "", "text": ""}, 0,
                 id="1xx"),
    pytest.param(("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")], []),
                 {"method": "HEAD"}, {"size": 0, "mimeType": "text/plain", "text": ""}, 0,
                 id="head"),
    pytest.param(("200 OK", [("Content-Type", "text/plain; charset=utf-8")],
                  [b"", b"caf\xc3\xa9", b""]), {},
                 {"size": 5, "mimeType": "text/plain; charset=utf-8", "text": "café"}, 5,
                 id="empty-chunks-and-utf8"),
]


@pytest.mark.parametrize(("answer", "request_kwargs", "content", "body_size"), _RESPONSES)
def test_response_content_size_mime_type_encoding(inline_wrap: Any, collector: Collector,
                                                  answer: tuple[Any, ...],
                                                  request_kwargs: dict[str, Any],
                                                  content: dict[str, Any],
                                                  body_size: int) -> None:
    status, headers, chunks = answer
    _result, entry = one_entry(inline_wrap, collector, app_answering(status, headers, chunks),
                               **request_kwargs)
    assert entry["response"]["content"] == content
    assert entry["response"]["bodySize"] == body_size
    assert entry["response"]["status"] == int(status[:3])


@pytest.mark.parametrize("location", ["/next?x=1", "https://other.example/a%20b", ""])
def test_redirect_url_is_the_location_header(inline_wrap: Any, collector: Collector,
                                             location: str) -> None:
    headers = [("Content-Type", "text/html")]
    if location:
        headers.append(("Location", location))
    _result, entry = one_entry(inline_wrap, collector,
                               app_answering("302 Found", headers, [b""]))
    assert entry["response"]["redirectURL"] == location


def test_started_date_time_and_time_is_the_sum_of_the_timings(inline_wrap: Any,
                                                              collector: Collector) -> None:
    before = datetime.now(timezone.utc)

    def slow_chunks(environ: dict[str, Any], start_response: StartResponse) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain")])
        for chunk in (b"a", b"b", b"c"):
            time.sleep(0.01)  # some receive time, never asserted as a duration
            yield chunk

    _result, entry = one_entry(inline_wrap, collector, slow_chunks)
    after = datetime.now(timezone.utc)
    started = entry["startedDateTime"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", started)
    moment = datetime.strptime(started, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert before - timedelta(milliseconds=1) <= moment <= after
    timings = entry["timings"]
    assert set(timings) >= {"send", "wait", "receive"}
    assert all(timings[k] >= 0 for k in ("send", "wait", "receive"))
    assert entry["time"] == pytest.approx(timings["send"] + timings["wait"]
                                          + timings["receive"], abs=1e-9)
    assert entry["cache"] == {}


def test_http_version_is_server_protocol_on_both_sides(inline_wrap: Any,
                                                       collector: Collector) -> None:
    environ = wsgi_environ()
    environ["SERVER_PROTOCOL"] = "HTTP/1.1"
    middleware = inline_wrap(app_answering())
    run_wsgi(middleware, environ)
    assert middleware.flush(5.0)
    log, = collector.wait_for_logs(1)
    assert_valid_log(log)
    entry = log["request"]["log"]["entries"][0]
    assert entry["request"]["httpVersion"] == "HTTP/1.1"
    assert entry["response"]["httpVersion"] == "HTTP/1.1"


# ------------------------------------------------------------------ SPEC 5: capture


def test_write_callable_and_iterable_are_one_body(inline_wrap: Any,
                                                  collector: Collector) -> None:
    def writer(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"abc")
        write(b"")
        write(b"def")
        return [b"ghi"]

    result, entry = one_entry(inline_wrap, collector, writer)
    assert result.body == b"abcdefghi"
    assert entry["response"]["content"] == {"size": 9, "mimeType": "text/plain",
                                            "text": "abcdefghi"}
    assert entry["response"]["bodySize"] == 9


def test_file_wrapper_is_the_same_object_logged_with_size_and_no_text(
        inline_wrap: Any, collector: Collector) -> None:
    returned: list[Any] = []
    closes: list[int] = []

    class File(io.BytesIO):
        def close(self) -> None:  # FileWrapper.close is the file's close
            closes.append(1)
            super().close()

    def sends_a_file(environ: dict[str, Any], start_response: StartResponse) -> Any:
        start_response("200 OK", [("Content-Type", "application/pdf"),
                                  ("Content-Length", "10")])
        returned.append(environ["wsgi.file_wrapper"](File(b"0123456789")))
        return returned[0]

    middleware = inline_wrap(sends_a_file)
    environ = wsgi_environ()
    environ["wsgi.file_wrapper"] = FileWrapper
    got: dict[str, Any] = {}
    result = middleware(environ, lambda s, h, e=None: got.update(status=s, headers=h))
    assert result is returned[0]  # the very same object: the server's sendfile path
    body = b"".join(result)
    result.close()
    assert body == b"0123456789" and closes == [1]
    assert middleware.flush(5.0)
    log, = collector.wait_for_logs(1)
    assert_valid_log(log)
    response = log["request"]["log"]["entries"][0]["response"]
    assert response["content"]["size"] == 10 and response["bodySize"] == 10
    assert response["content"]["mimeType"] == "application/pdf"
    assert not response["content"].get("text")
    assert pairs(response["headers"])["Content-Length"] == "10"


def test_app_iterable_close_is_called_exactly_once(inline_wrap: Any,
                                                   collector: Collector) -> None:
    closes: list[int] = []

    class Body:
        def __iter__(self) -> Any:
            return iter([b"x", b"y"])

        def close(self) -> None:
            closes.append(1)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Body:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Body()

    _result, entry = one_entry(inline_wrap, collector, app)
    assert closes == [1]
    assert entry["response"]["content"]["text"] == "xy"


@pytest.mark.parametrize("when", ["before-start", "while-iterating"])
def test_an_app_exception_propagates_unchanged_and_is_logged(inline_wrap: Any,
                                                             collector: Collector,
                                                             when: str) -> None:
    error = LookupError("the app's own")

    def raising(environ: dict[str, Any], start_response: StartResponse) -> Any:
        if when == "before-start":
            raise error
        start_response("201 Created", [("Content-Type", "text/plain")])
        yield b"part"
        raise error

    middleware = inline_wrap(raising)
    result = run_wsgi(middleware, wsgi_environ())
    assert result.error is error
    assert middleware.flush(5.0)
    log, = collector.wait_for_logs(1)
    assert_valid_log(log)
    assert log["request"]["log"]["entries"][0]["response"]["status"] == (
        500 if when == "before-start" else 201)


def test_skip_methods_given_replaces_the_default(inline_wrap: Any,
                                                 collector: Collector) -> None:
    middleware = inline_wrap(app_answering(), skip_methods=["HEAD"])
    head = run_wsgi(middleware, wsgi_environ("HEAD"))
    options = run_wsgi(middleware, wsgi_environ("OPTIONS"))
    assert middleware.flush(5.0)
    logs = collector.wait_for_logs(1)
    assert [log["request"]["log"]["entries"][0]["request"]["method"] for log in logs] == [
        "OPTIONS"]
    assert head.header("x-documentation-url") == []
    assert len(options.header("x-documentation-url")) == 1


# ------------------------------------------------------------------ SPEC 8: companions


def _cors_app(vary: Optional[str] = None) -> Callable[..., Any]:
    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        headers = [("Content-Type", "text/plain"), ("X-Total", "3")]
        if vary is not None:
            headers.append(("Vary", vary))
        start_response("200 OK", headers)
        return [b"app:" + environ["REQUEST_METHOD"].encode()]

    return app


def test_cors_every_option_from_its_environment_variable(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    from readme_metrics.cors import CORSMiddleware

    monkeypatch.setenv("CORS_ALLOWED", "https://a.example, https://b.example:8443")
    monkeypatch.setenv("CORS_ALLOW_CREDENTIALS", "true")
    monkeypatch.setenv("CORS_ALLOW_METHODS", "GET, post")
    monkeypatch.setenv("CORS_ALLOW_HEADERS", "X-Token, Content-Type")
    monkeypatch.setenv("CORS_EXPOSE_HEADERS", "X-Total")
    monkeypatch.setenv("CORS_MAX_AGE", "42")
    app = CORSMiddleware(_cors_app())
    preflight = run_wsgi(app, wsgi_environ("OPTIONS", headers={
        "Origin": "https://b.example:8443", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-token"}))
    assert preflight.status is not None and preflight.status.startswith("204")
    assert preflight.body == b""  # answered here: the app was not called
    got = {name.lower(): value for name, value in preflight.headers}
    assert got["access-control-allow-origin"] == "https://b.example:8443"
    assert got["access-control-allow-credentials"] == "true"
    assert got["access-control-allow-methods"] == "GET, POST"
    assert got["access-control-allow-headers"] == "X-Token, Content-Type"
    assert got["access-control-max-age"] == "42"
    assert got["vary"] == "Origin"

    actual = run_wsgi(app, wsgi_environ("GET", headers={"Origin": "https://a.example"}))
    assert actual.body == b"app:GET"
    assert actual.header("Access-Control-Allow-Origin") == ["https://a.example"]
    assert actual.header("Access-Control-Allow-Credentials") == ["true"]
    assert actual.header("Access-Control-Expose-Headers") == ["X-Total"]
    assert actual.header("Vary") == ["Origin"]


def test_cors_other_origins_get_no_cors_headers_and_vary_is_extended(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from readme_metrics.cors import CORSMiddleware

    monkeypatch.setenv("CORS_ALLOWED", "https://a.example")
    app = CORSMiddleware(_cors_app(vary="Accept-Encoding"))
    for origin in ("https://evil.example", "https://a.example.evil.example", "null", None):
        result = run_wsgi(app, wsgi_environ(headers={"Origin": origin} if origin else {}))
        assert not [n for n, _ in result.headers if n.lower().startswith("access-control-")]
        assert result.header("Vary") == ["Accept-Encoding, Origin"]
    allowed = run_wsgi(app, wsgi_environ(headers={"Origin": "HTTPS://A.example:443"}))
    assert allowed.header("Access-Control-Allow-Origin") == ["HTTPS://A.example:443"]
    assert allowed.header("Vary") == ["Accept-Encoding, Origin"]
    # A preflight from another origin is the app's to answer.
    other = run_wsgi(app, wsgi_environ("OPTIONS", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}))
    assert other.body == b"app:OPTIONS"


def test_cors_empty_variable_means_no_origin_and_nothing_touched(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from readme_metrics.cors import CORSMiddleware

    monkeypatch.setenv("CORS_ALLOWED", "")
    app = CORSMiddleware(_cors_app())
    bare = run_wsgi(_cors_app(), wsgi_environ(headers={"Origin": "https://a.example"}))
    wrapped = run_wsgi(app, wsgi_environ(headers={"Origin": "https://a.example"}))
    assert (wrapped.status, wrapped.headers, wrapped.body) == (bare.status, bare.headers,
                                                               bare.body)


def test_request_id_header_variable_current_id_in_threads_and_metrics_log(
        monkeypatch: pytest.MonkeyPatch, collector: Collector) -> None:
    from readme_metrics.request_id import ENVIRON_KEY, RequestIdMiddleware, current_request_id

    monkeypatch.setenv("REQUEST_ID_HEADER", "X-Correlation-Id")
    seen: dict[str, Any] = {}
    barrier = threading.Barrier(2, timeout=10)

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        barrier.wait()  # both requests inside the app at once, on two threads
        seen[environ["PATH_INFO"]] = (environ[ENVIRON_KEY], current_request_id())
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("X-Correlation-Id", "the-apps-own")])
        return [b"ok"]

    # README's order: request ids outermost, so the metrics log carries the id.
    metrics = MetricsMiddleware(app, MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url, **inline_options({})))
    stack = RequestIdMiddleware(metrics)
    results: dict[str, Any] = {}

    def one(path: str, headers: dict[str, str]) -> None:
        results[path] = run_wsgi(stack, wsgi_environ(path=path, headers=headers))

    threads = [threading.Thread(target=one, args=("/sent", {"X-Correlation-Id": "abc-123"})),
               threading.Thread(target=one, args=("/made", {"X-Correlation-Id": "bad id"}))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert seen["/sent"] == ("abc-123", "abc-123")
    made = seen["/made"][0]
    assert seen["/made"] == (made, made) and re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", made)
    assert results["/sent"].header("X-Correlation-Id") == ["abc-123"]
    assert results["/made"].header("X-Correlation-Id") == [made]
    assert current_request_id() is None
    assert metrics.flush(5.0)
    logs = collector.wait_for_logs(2)
    for log in logs:
        assert_valid_log(log)
        entry = log["request"]["log"]["entries"][0]
        expected = "abc-123" if entry["request"]["url"].endswith("/sent") else made
        assert pairs(entry["request"]["headers"]).get("X-Correlation-Id") == expected
    metrics.close()


@pytest.mark.parametrize(("log_tokens", "token_shown"), [
    pytest.param(None, True, id="default-true"),
    pytest.param("false", False, id="off"),
    pytest.param("1", True, id="on"),
])
def test_request_id_filter_and_log_tokens(monkeypatch: pytest.MonkeyPatch,
                                          log_tokens: Optional[str],
                                          token_shown: bool) -> None:
    from readme_metrics.request_id import RequestIdFilter, RequestIdMiddleware

    if log_tokens is not None:
        monkeypatch.setenv("LOG_TOKENS", log_tokens)
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("spec27.request_id")
    handler = Keep()
    handler.addFilter(RequestIdFilter())
    logger.addHandler(handler)
    logger.propagate = False
    try:
        def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
            logger.warning("inside")
            start_response("200 OK", [])
            return [b""]

        logger.warning("outside")
        run_wsgi(RequestIdMiddleware(app), wsgi_environ(headers={
            "X-Request-Id": "req-1", "Authorization": "Bearer tok-secret-9876"}))
    finally:
        logger.removeHandler(handler)
    outside, inside = records
    assert (outside.request_id, outside.auth_token) == ("-", "-")  # type: ignore[attr-defined]
    assert inside.request_id == "req-1"  # type: ignore[attr-defined]
    expected = spec_mask("tok-secret-9876") if token_shown else "-"
    assert inside.auth_token == expected  # type: ignore[attr-defined]
    assert "tok-secret-9876" not in repr(vars(inside))


# ------------------------------------------------------------------ SPEC 9: command line


def _odd_apps() -> list[tuple[str, Callable[..., Any], dict[str, Any]]]:
    def file_app(environ: dict[str, Any], start_response: StartResponse) -> Any:
        start_response("200 OK", [("Content-Type", "application/pdf"),
                                  ("Content-Length", "4")])
        return environ["wsgi.file_wrapper"](io.BytesIO(b"%PDF"))

    def writer(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])(b"written")
        return []

    return [
        ("/binary-up", app_answering(), {"method": "POST", "body": b"\x00\xff",
                                         "headers": {"Content-Type": "application/x-bin"}}),
        ("/binary-down", app_answering(headers=[("Content-Type", "image/png")],
                                       chunks=[b"\x89PNG\x00"]), {}),
        ("/no-content", app_answering("204 No Content", [], []), {"method": "DELETE"}),
        ("/not-modified", app_answering("304 Not Modified", [], []), {}),
        ("/continue", app_answering("100 Continue", [], []), {}),
        ("/head", app_answering(headers=[("Content-Type", "text/plain")], chunks=[]),
         {"method": "HEAD"}),
        ("/file", file_app, {}),
        ("/write", writer, {}),
        ("/redirect", app_answering("307 Temporary Redirect", [("Location", "/x")], []), {}),
        ("/cookies", app_answering(headers=[("Set-Cookie", "a=1; Max-Age=0; Partitioned"),
                                            ("Set-Cookie", "b; Expires=garbage")]),
         {"headers": {"Cookie": "flag; =x; a=1;;"}, "query": "q=%ZZ&+=&x"}),
        ("/empty-post", app_answering(), {"method": "POST", "body": b"",
                                          "headers": {"Content-Type": "text/plain"}}),
        ("/reason", app_answering("299 Custom Words"), {}),
    ]


def test_collect_accepts_every_odd_log_the_middleware_sends(collect: Any) -> None:  # noqa: F811
    """SPEC 9: collect "validates each log against this contract": every odd but valid
    exchange above must be accepted and written, not refused."""
    _proc, url, har = collect
    cases = _odd_apps()
    for path, app, request in cases:
        middleware = MetricsMiddleware(app, MetricsApiConfig(
            api_key="any-key", metrics_api=url, **inline_options({})))
        environ = wsgi_environ(path=path, **request)
        environ["wsgi.file_wrapper"] = FileWrapper
        run_wsgi(middleware, environ)
        assert middleware.flush(10.0) is True, path
        stats = middleware.stats
        middleware.close()
        assert stats["sent"] == 1 and stats["dropped"] == 0, (path, stats)
    deadline = time.monotonic() + 10
    urls: list[str] = []
    while time.monotonic() < deadline:
        try:
            document = json.loads(har.read_text())
            urls = [entry["request"]["url"] for entry in document["log"]["entries"]]
        except (OSError, ValueError):
            pass
        if len(urls) >= len(cases):
            break
        time.sleep(0.05)
    assert [u.split("127.0.0.1")[1].split("?")[0] for u in urls] == [c[0] for c in cases]


def test_cli_exit_codes() -> None:
    from tests.support.contract import run_python

    ok = run_python("import sys, runpy; sys.argv = ['readme-metrics', '--help'];"
                    "runpy.run_module('readme_metrics', run_name='__main__')")
    assert ok.returncode == 0 and "collect" in ok.stdout and "demo" in ok.stdout
    for argv in ("['readme-metrics', 'bogus']", "['readme-metrics', 'collect', '--port', 'x']",
                 "['readme-metrics', 'demo', '--requests', '-1']"):
        bad = run_python(f"import sys, runpy; sys.argv = {argv};"
                         "runpy.run_module('readme_metrics', run_name='__main__')")
        assert bad.returncode == 2, (argv, bad.stderr)
        assert "usage:" in bad.stderr


@pytest.mark.parametrize(("set_cookie", "path", "domain"), [
    pytest.param("a=1; Path", None, None, id="path-without-value"),
    pytest.param("a=1; Path=", None, None, id="empty-path"),
    pytest.param("a=1; Path=api", None, None, id="path-not-starting-with-slash"),
    pytest.param("a=1; Path=/x; Path=", None, None, id="last-path-wins-even-empty"),
    pytest.param("a=1; Path=; Path=/y", "/y", None, id="last-path-wins"),
    pytest.param("a=1; Domain=", None, None, id="empty-domain-ignored"),
    pytest.param("a=1; Domain=ex.com; Domain=", None, "ex.com", id="empty-domain-keeps-earlier"),
])
def test_set_cookie_path_and_domain_as_rfc_6265_reads_them(
        inline_wrap: Any, collector: Collector, set_cookie: str, path: Optional[str],
        domain: Optional[str]) -> None:
    """SPEC 4 "cookies (from Set-Cookie)": a Path that is empty or does not start with
    "/" gives the cookie the default path (RFC 6265 5.2.4), and an empty Domain is
    ignored (5.2.3): neither is a path or domain of "" or "api" in the HAR cookie."""
    headers = [("Content-Type", "text/plain"), ("Set-Cookie", set_cookie)]
    _result, entry = one_entry(inline_wrap, collector, app_answering(headers=headers))
    cookie, = entry["response"]["cookies"]
    assert cookie.get("path") == path
    assert cookie.get("domain") == domain
