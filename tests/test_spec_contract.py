"""Acceptance audit of SPEC sections 1-6, as an outside tester: public API only.

Every test here goes through the documented import paths (``readme_metrics``,
``readme_metrics.flask_readme``, ``readme_metrics.django``, ``readme_metrics.VerifyWebhook``,
``readme_metrics.webhooks``) and the real collector of tests/utils.py. Expected values are
computed from the SPEC's words (the mask from hashlib, the creator from platform), never
from the library's helpers, so a drift in the library cannot hide in the test.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import urlsplit
from wsgiref.util import FileWrapper

import pytest
import requests
import webob

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.contract import pairs
from tests.utils import (
    Collector,
    Reply,
    ThreadedWSGIServer,
    assert_valid_log,
    basic_auth,
    run_wsgi,
    wsgi_environ,
)

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "rdme_contract_audit_key_9876"
DOCS = "https://docs.example.com"
CALLER = {"api_key": "caller-key-0042", "label": "Owlbert", "email": "owlbert@example.com"}


def spec_mask(value: str) -> str:
    """SPEC 4: "sha512-" + base64(sha512(value)) + "?" + value[-4:]."""
    digest = hashlib.sha512(value.encode("utf-8")).digest()
    return "sha512-" + base64.b64encode(digest).decode("ascii") + "?" + value[-4:]


def caller(req: Any) -> dict[str, str]:
    return dict(CALLER)


# -- helpers -----------------------------------------------------------------------------


@pytest.fixture
def inline_wrap(collector: Collector) -> Iterator[Callable[..., MetricsMiddleware]]:
    """MetricsMiddleware(app, config) sending each log at once (inline, batches of 1)."""
    made: list[MetricsMiddleware] = []

    def make(app: Any, **options: Any) -> MetricsMiddleware:
        options.setdefault("grouping_function", caller)
        options.setdefault("buffer_length", 1)
        options.setdefault("background_worker_mode", False)
        options.setdefault("base_log_url", DOCS)
        middleware = MetricsMiddleware(
            app, MetricsApiConfig(api_key=API_KEY, metrics_api=collector.url, **options)
        )
        made.append(middleware)
        return middleware

    yield make
    for middleware in made:
        middleware.close()


def reading_app(status: str = "200 OK", headers: Optional[list[tuple[str, str]]] = None,
                body: Optional[list[bytes]] = None) -> Any:
    """An app that reads its whole body (as PEP 3333 allows) and answers as told."""
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = environ.get("CONTENT_LENGTH")
        stream = environ["wsgi.input"]
        seen["body"] = stream.read(int(length)) if length else stream.read()
        start_response(status, list(headers if headers is not None else
                                    [("Content-Type", "text/plain")]))
        return list(body if body is not None else [b"ok"])

    app.seen = seen  # type: ignore[attr-defined]  # what the app read, for assertions
    return app


def exchange(middleware: MetricsMiddleware, collector: Collector, **request: Any
             ) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Send one request straight through the middleware; (result, log, HAR entry)."""
    before = len(collector.logs)
    result = run_wsgi(middleware, wsgi_environ(**request))
    assert middleware.flush(5.0) is True
    logs = collector.wait_for_logs(before + 1)
    assert len(logs) == before + 1, "one exchange must give exactly one log"
    log = logs[-1]
    assert_valid_log(log)
    return result, log, log["request"]["log"]["entries"][0]


def no_log_sent(middleware: MetricsMiddleware, collector: Collector) -> None:
    middleware.flush(2.0)
    assert collector.logs == []


# == SPEC 1: what it is ====================================================================


def test_wrapped_app_behaves_exactly_as_before(inline_wrap: Any, collector: Collector) -> None:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("207 Multi-Status", [("Content-Type", "application/json"),
                                            ("X-Seen", str(len(body)))])
        yield b'{"a":'
        yield body or b"null"
        yield b"}"

    request: dict[str, Any] = dict(method="PATCH", body=b'{"x": [1, 2]}',
                                   headers={"Content-Type": "application/json"})
    bare = run_wsgi(app, wsgi_environ(**request))
    wrapped, _, _ = exchange(inline_wrap(app), collector, **request)
    assert wrapped.status == bare.status
    assert [h for h in wrapped.headers if h[0].lower() != "x-documentation-url"] == bare.headers
    assert wrapped.body == bare.body and wrapped.error is None


def test_app_behind_a_webob_layer_that_made_the_body_seekable(inline_wrap: Any,
                                                               collector: Collector) -> None:
    """Pyramid-style stacks: an outer webob layer read the body and marked it seekable."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [webob.Request(environ).body]

    middleware = inline_wrap(app)

    def outer(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = webob.Request(environ)
        request.make_body_seekable()
        assert request.body == b"a=1&b=2"
        return middleware(environ, start_response)

    result = run_wsgi(outer, wsgi_environ(method="POST", body=b"a=1&b=2", headers={
        "Content-Type": "application/x-www-form-urlencoded"}))
    assert (result.status, result.body, result.error) == ("200 OK", b"a=1&b=2", None)
    middleware.flush(5.0)
    [log] = collector.wait_for_logs(1)
    assert log["request"]["log"]["entries"][0]["request"]["postData"]["params"] == [
        {"name": "a", "value": "1"}, {"name": "b", "value": "2"}]


# == SPEC 2: public API ====================================================================


# -- MetricsMiddleware -------------------------------------------------------------------------

STATS_KEYS = {"captured", "skipped", "queued", "sent", "dropped", "failed_batches", "retries"}


def test_flush_sends_now_and_returns_true_close_is_idempotent(
        inline_wrap: Any, collector: Collector) -> None:
    # Background mode, a batch far from full and no flush interval: only flush() sends.
    middleware = inline_wrap(reading_app(), background_worker_mode=True, buffer_length=100,
                      flush_interval=0)
    for _ in range(3):
        run_wsgi(middleware, wsgi_environ())
    stats = middleware.stats
    assert set(stats) >= STATS_KEYS
    assert stats["captured"] == 3 and stats["queued"] == 3 and stats["sent"] == 0
    assert middleware.flush() is True
    assert len(collector.logs) == 3
    stats = middleware.stats
    assert (stats["sent"], stats["queued"], stats["dropped"]) == (3, 0, 0)
    middleware.close()
    middleware.close()  # idempotent: no error, no hang
    assert middleware.flush(0.5) is True  # nothing left to send


def test_flush_returns_false_when_a_log_was_not_delivered(inline_wrap: Any,
                                                        collector: Collector) -> None:
    collector.default = Reply(400, b'{"error": "bad log"}')  # rejected, not retried
    middleware = inline_wrap(reading_app(), background_worker_mode=True, buffer_length=100,
                      flush_interval=0)
    run_wsgi(middleware, wsgi_environ())
    assert middleware.flush(5.0) is False
    assert middleware.stats["dropped"] == 1


def test_middleware_is_a_pep3333_application(inline_wrap: Any, collector: Collector) -> None:
    from wsgiref.validate import validator

    app = reading_app(body=[b"a", b"b"])
    checked = validator(inline_wrap(validator(app)))
    result = run_wsgi(checked, wsgi_environ(method="POST", body=b"x=1", headers={
        "Content-Type": "application/x-www-form-urlencoded"}))
    assert (result.status, result.body, result.error) == ("200 OK", b"ab", None)
    assert len(collector.wait_for_logs(1)) == 1


def test_stats_count_skipped_exchanges(inline_wrap: Any, collector: Collector) -> None:
    middleware = inline_wrap(reading_app(), grouping_function=lambda req: None)
    run_wsgi(middleware, wsgi_environ())
    run_wsgi(middleware, wsgi_environ(method="OPTIONS"))
    stats = middleware.stats
    assert (stats["captured"], stats["skipped"], stats["sent"]) == (2, 2, 0)


EXIT_SCRIPT = """
import sys
from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.utils import run_wsgi, wsgi_environ

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"bye"]

middleware = MetricsMiddleware(app, MetricsApiConfig(
    api_key="rdme_exit", grouping_function=lambda req: {"api_key": "exit-caller"},
    metrics_api=sys.argv[1], base_log_url="https://docs.example.com",
    buffer_length=100, flush_interval=0))
run_wsgi(middleware, wsgi_environ())
# no close(): the interpreter exit must send the queued log
"""


def test_close_runs_at_interpreter_exit(collector: Collector) -> None:
    done = subprocess.run([sys.executable, "-c", EXIT_SCRIPT, collector.url],
                          capture_output=True, text=True, cwd=str(ROOT), timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # never prints
    assert len(collector.wait_for_logs(1)) == 1


# == SPEC 4: the payload contract ============================================================


def test_post_path_and_headers(inline_wrap: Any, collector: Collector) -> None:
    from readme_metrics import __version__

    exchange(inline_wrap(reading_app()), collector)
    [post] = collector.received
    assert post.method == "POST" and post.path == "/v1/request"
    headers = {name.lower(): value for name, value in post.headers.items()}
    assert headers["authorization"] == basic_auth(API_KEY)
    assert headers["authorization"] == "Basic " + base64.b64encode(
        f"{API_KEY}:".encode()).decode()
    assert headers["content-type"].split(";")[0].strip() == "application/json"
    assert headers["user-agent"] == f"readme-metrics-python@{__version__}"
    assert isinstance(json.loads(post.body), list)


@pytest.mark.parametrize("trusted, forwarded, expected_ip, expected_url", [
    pytest.param(0, {}, "203.0.113.9", "http://api.example.com/p", id="remote-addr"),
    pytest.param(0, {"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https",
                     "X-Forwarded-Host": "evil.example"}, "203.0.113.9",
                 "http://api.example.com/p", id="untrusted-forwarded-ignored"),
    pytest.param(1, {"X-Forwarded-For": "198.51.100.1, 192.0.2.7",
                     "X-Forwarded-Proto": "https", "X-Forwarded-Host": "public.example"},
                 "192.0.2.7", "https://public.example/p", id="one-trusted-proxy"),
    pytest.param(2, {"X-Forwarded-For": "198.51.100.1, 192.0.2.7"}, "198.51.100.1",
                 "http://api.example.com/p", id="two-trusted-proxies"),
])
def test_client_ip_and_url_with_trusted_proxies(inline_wrap: Any, collector: Collector,
                                                trusted: int, forwarded: dict[str, str],
                                                expected_ip: str, expected_url: str) -> None:
    middleware = inline_wrap(reading_app(), trusted_proxies=trusted)
    environ = wsgi_environ(path="/p", headers={"Host": "api.example.com", **forwarded})
    environ["REMOTE_ADDR"] = "203.0.113.9"
    run_wsgi(middleware, environ)
    middleware.flush(5.0)
    [log] = collector.wait_for_logs(1)
    assert log["clientIPAddress"] == expected_ip
    assert log["request"]["log"]["entries"][0]["request"]["url"] == expected_url


# -- request -------------------------------------------------------------------------------


@pytest.mark.parametrize("path, query, expected", [
    pytest.param("/v1/items", "", "/v1/items", id="no-query"),
    pytest.param("/search", "q=caf%C3%A9&tag=a%2Bb&sp=a+b&x=%20",
                 "/search?q=caf%C3%A9&tag=a%2Bb&sp=a+b&x=%20", id="query-stays-encoded"),
    pytest.param("/a b", "", "/a%20b", id="space-in-path"),
    pytest.param("/caf\xc3\xa9", "", "/caf%C3%A9", id="utf8-path"),
    pytest.param("/100%", "x=1", "/100%25?x=1", id="percent-in-path"),
    pytest.param("/what?", "x=1", "/what%3F?x=1", id="question-mark-in-path"),
    pytest.param("/tag#1", "", "/tag%231", id="hash-in-path"),
    pytest.param("/a:b@c;d=e,f!$&'()*+", "", "/a:b@c;d=e,f!$&'()*+", id="pchars-kept"),
])
def test_request_url_as_received(inline_wrap: Any, collector: Collector, path: str, query: str,
                                 expected: str) -> None:
    """wsgiref and direct calls give a decoded PATH_INFO and no raw URI: the url must
    still be a valid URL with the query string as received."""
    _, _, entry = exchange(inline_wrap(reading_app()), collector, path=path, query=query,
                           headers={"Host": "api.example.com:8080"})
    url = entry["request"]["url"]
    assert url == "http://api.example.com:8080" + expected
    parts = urlsplit(url)
    assert parts.query == query and parts.fragment == ""


def test_request_url_from_the_raw_uri_when_the_server_gives_it(
        inline_wrap: Any, collector: Collector) -> None:
    middleware = inline_wrap(reading_app())
    environ = wsgi_environ(path="/a/b", query="q=%2F", headers={"Host": "api.example.com"})
    environ["RAW_URI"] = "/a%2Fb?q=%2F"  # gunicorn; the path had an encoded slash
    run_wsgi(middleware, environ)
    middleware.flush(5.0)
    [log] = collector.wait_for_logs(1)
    assert log["request"]["log"]["entries"][0]["request"]["url"] == \
        "http://api.example.com/a%2Fb?q=%2F"


# -- response ------------------------------------------------------------------------------


# == SPEC 5: capture rules ==================================================================


class CountingInput(io.BytesIO):
    """A wsgi.input that counts what was read from it; ``extra`` bytes follow the body.

    In memory (a BytesIO), like a server that buffered the body: the capture reads an
    unread rest only where that cannot wait on the client (SPEC section 5).
    """

    def __init__(self, body: bytes, extra: bytes = b"") -> None:
        super().__init__(body + extra)
        self.consumed = 0

    def read(self, *args: Any) -> bytes:
        data = super().read(*args)
        self.consumed += len(data)
        return data

    def readline(self, *args: Any) -> bytes:
        data = super().readline(*args)
        self.consumed += len(data)
        return data


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "GET"])
@pytest.mark.parametrize("length", ["declared", "chunked"])
def test_app_reads_the_whole_body_whatever_the_method(inline_wrap: Any, collector: Collector,
                                                      method: str, length: str) -> None:
    body = b"line one\nline two\n" * 50
    app = reading_app()
    environ = wsgi_environ(method=method, body=body, headers={"Content-Type": "text/plain"})
    stream = CountingInput(body, extra=b"NEXT REQUEST BYTES")
    if length == "chunked":
        stream = CountingInput(body)
        environ.pop("CONTENT_LENGTH")
        environ["wsgi.input_terminated"] = True
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    environ["wsgi.input"] = stream
    middleware = inline_wrap(app)
    run_wsgi(middleware, environ)
    assert app.seen["body"] == body
    assert stream.consumed == len(body)  # never past CONTENT_LENGTH
    middleware.flush(5.0)
    [log] = collector.wait_for_logs(1)
    request = log["request"]["log"]["entries"][0]["request"]
    assert request["postData"]["text"] == body.decode()
    assert request["bodySize"] == len(body)


def test_body_the_app_ignores_is_recorded_without_reading_past_content_length(
        inline_wrap: Any, collector: Collector) -> None:
    def ignoring(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("204 No Content", [])
        return []

    body = b'{"ignored": true}'
    environ = wsgi_environ(method="POST", body=body, headers={"Content-Type": "application/json"})
    environ["wsgi.input"] = stream = CountingInput(body, extra=b"GET / HTTP/1.1\r\n")
    middleware = inline_wrap(ignoring)
    run_wsgi(middleware, environ)
    assert stream.consumed <= len(body)
    middleware.flush(5.0)
    [log] = collector.wait_for_logs(1)
    request = log["request"]["log"]["entries"][0]["request"]
    assert request["bodySize"] == len(body)
    assert request["postData"] == {"mimeType": "application/json", "text": body.decode()}


def test_chunked_body_the_app_ignores_is_still_recorded(inline_wrap: Any,
                                                        collector: Collector) -> None:
    def ignoring(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("202 Accepted", [("Content-Type", "text/plain")])
        return [b"later"]

    body = b"chunked payload"
    environ = wsgi_environ(method="POST", body=body, headers={"Content-Type": "text/plain",
                                                              "Transfer-Encoding": "chunked"})
    environ.pop("CONTENT_LENGTH")
    environ["wsgi.input_terminated"] = True  # the server ends the stream: safe to read
    middleware = inline_wrap(ignoring)
    run_wsgi(middleware, environ)
    middleware.flush(5.0)
    [log] = collector.wait_for_logs(1)
    request = log["request"]["log"]["entries"][0]["request"]
    assert request["postData"] == {"mimeType": "text/plain", "text": "chunked payload"}
    assert request["bodySize"] == len(body)


def test_large_bodies_stream_through_and_are_recorded_truncated(
        inline_wrap: Any, collector: Collector) -> None:
    request_body = b"r" * 5000
    response_chunks = [b"s" * 1000] * 7
    app = reading_app(body=response_chunks)
    result, _, entry = exchange(inline_wrap(app, max_body_bytes=1024), collector, method="POST",
                                body=request_body, headers={"Content-Type": "text/plain"})
    assert app.seen["body"] == request_body
    assert result.body == b"".join(response_chunks)
    request, content = entry["request"], entry["response"]["content"]
    assert request["bodySize"] == 5000
    assert request["postData"]["text"] == "r" * 1024
    assert "truncated" in request["postData"]["comment"]
    assert content["size"] == 7000 and content["text"] == "s" * 1024
    assert "truncated" in content["comment"]
    assert entry["response"]["bodySize"] == 7000


def test_bodies_up_to_max_body_bytes_are_recorded_in_full(inline_wrap: Any,
                                                         collector: Collector) -> None:
    body = b"q" * 1024
    app = reading_app(body=[body[:500], body[500:]])
    _, _, entry = exchange(inline_wrap(app, max_body_bytes=1024), collector, method="PUT",
                           body=body, headers={"Content-Type": "text/plain"})
    assert entry["request"]["postData"] == {"mimeType": "text/plain", "text": body.decode()}
    content = entry["response"]["content"]
    assert content == {"size": 1024, "mimeType": "text/plain", "text": body.decode()}


def test_response_is_passed_chunk_by_chunk_and_closed_once(inline_wrap: Any,
                                                            collector: Collector) -> None:
    produced: list[str] = []
    closed: list[int] = []

    class Body:
        def __iter__(self) -> Iterator[bytes]:
            for number in range(3):
                produced.append(f"chunk {number}")
                yield f"{number}".encode()

        def close(self) -> None:
            closed.append(1)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Body:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Body()

    middleware = inline_wrap(app)
    result: Any = middleware(wsgi_environ(), lambda status, headers, exc_info=None: None)
    iterator = iter(result)
    assert next(iterator) == b"0"
    assert produced == ["chunk 0"]  # the second chunk is not made before the first is out
    assert next(iterator) == b"1" and produced == ["chunk 0", "chunk 1"]
    assert list(iterator) == [b"2"]
    assert collector.logs == []  # the log is finished when the response is closed
    result.close()
    result.close()
    assert closed == [1]
    middleware.flush(5.0)
    [log] = collector.wait_for_logs(1)
    assert log["request"]["log"]["entries"][0]["response"]["content"]["text"] == "012"


def test_write_callable_is_captured(inline_wrap: Any, collector: Collector) -> None:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written ")
        return [b"returned"]

    result, _, entry = exchange(inline_wrap(app), collector)
    assert result.body == b"written returned"
    assert entry["response"]["content"]["text"] == "written returned"
    assert entry["response"]["content"]["size"] == 16


def test_file_wrapper_is_returned_as_the_same_object(inline_wrap: Any,
                                                     collector: Collector) -> None:
    returned: list[Any] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        start_response("200 OK", [("Content-Type", "application/pdf"), ("Content-Length", "11")])
        returned.append(environ["wsgi.file_wrapper"](io.BytesIO(b"%PDF-1.7 ..."), 4096))
        return returned[0]

    middleware = inline_wrap(app)
    environ = wsgi_environ()
    environ["wsgi.file_wrapper"] = FileWrapper
    result = middleware(environ, lambda status, headers, exc_info=None: None)
    assert result is returned[0]
    middleware.flush(5.0)
    [log] = collector.wait_for_logs(1)  # logged when returned, before being sent
    assert_valid_log(log)
    response = log["request"]["log"]["entries"][0]["response"]
    assert response["content"]["size"] == 11 and "text" not in response["content"]
    assert {"name": "Content-Length", "value": "11"} in response["headers"]


@pytest.mark.parametrize("mode", ["before-start", "while-iterating", "after-start"])
def test_app_exceptions_propagate_unchanged_and_are_logged(inline_wrap: Any, collector: Collector,
                                                           mode: str) -> None:
    class Boom(Exception):
        pass

    error = Boom("the app failed")

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        if mode == "before-start":
            raise error
        start_response("201 Created", [("Content-Type", "text/plain")])
        if mode == "after-start":
            raise error
        return fail_later()

    def fail_later() -> Iterator[bytes]:
        yield b"partial"
        raise error

    middleware = inline_wrap(app)
    result = run_wsgi(middleware, wsgi_environ())
    assert result.error is error
    middleware.flush(5.0)
    [log] = collector.wait_for_logs(1)
    assert_valid_log(log)
    expected = 500 if mode == "before-start" else 201
    assert log["request"]["log"]["entries"][0]["response"]["status"] == expected


@pytest.mark.parametrize("options, method, host", [
    pytest.param({}, "OPTIONS", "api.example.com", id="options-by-default"),
    pytest.param({"skip_methods": ["HEAD", "TRACE"]}, "HEAD", "api.example.com",
                 id="listed-method"),
    pytest.param({"allowed_http_hosts": ["api.example.com"]}, "GET", "other.example.com",
                 id="host-not-allowed"),
    pytest.param({"grouping_function": lambda req: None}, "GET", "api.example.com",
                 id="grouping-none"),
])
def test_not_logged_and_no_documentation_url(inline_wrap: Any, collector: Collector,
                                             options: dict[str, Any], method: str,
                                             host: str) -> None:
    middleware = inline_wrap(reading_app(), **options)
    result = run_wsgi(middleware, wsgi_environ(method=method, headers={"Host": host}))
    assert result.status == "200 OK" and result.body == b"ok"
    assert result.header("x-documentation-url") == []
    no_log_sent(middleware, collector)


def test_given_skip_methods_replace_the_default(inline_wrap: Any, collector: Collector) -> None:
    middleware = inline_wrap(reading_app(), skip_methods=["HEAD"])
    result, _, entry = exchange(middleware, collector, method="OPTIONS")
    assert entry["request"]["method"] == "OPTIONS" and result.header("x-documentation-url")


def test_allowed_host_is_logged(inline_wrap: Any, collector: Collector) -> None:
    middleware = inline_wrap(reading_app(), allowed_http_hosts=["api.example.com"])
    _, _, entry = exchange(middleware, collector, headers={"Host": "api.example.com"})
    assert entry["request"]["url"].startswith("http://api.example.com/")


# == SPEC 6: identification ================================================================


FORM = ("application/x-www-form-urlencoded", b"user=ana&x=1")
JSON = ("application/json", b'{"user": "ana"}')


@pytest.mark.parametrize("read, request_body, key", [
    pytest.param(lambda req: req.body.decode(), JSON, '{"user": "ana"}', id="req.body"),
    pytest.param(lambda req: req.json["user"], JSON, "ana", id="req.json"),
    pytest.param(lambda req: req.POST["user"], FORM, "ana", id="req.POST"),
])
@pytest.mark.parametrize("app_reads", [True, False], ids=["app-read-first", "app-ignores"])
def test_grouping_function_gets_a_webob_request_with_a_readable_body(
        inline_wrap: Any, collector: Collector, read: Callable[[Any], Any],
        request_body: tuple[str, bytes], key: str, app_reads: bool) -> None:
    content_type, body = request_body
    calls: list[Any] = []

    def grouping(req: Any) -> dict[str, str]:
        calls.append(req)
        return {"api_key": str(read(req))}

    def ignoring(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("202 Accepted", [("Content-Type", "text/plain")])
        return [b"ok"]

    app: Any = reading_app() if app_reads else ignoring
    _, log, entry = exchange(inline_wrap(app, grouping_function=grouping), collector, method="POST",
                             body=body, headers={"Content-Type": content_type})
    assert len(calls) == 1 and isinstance(calls[0], webob.Request)
    if app_reads:
        assert app.seen["body"] == body
    assert log["group"]["id"] == spec_mask(key)
    post = entry["request"]["postData"]
    if content_type == FORM[0]:
        assert post["params"] == [{"name": "user", "value": "ana"}, {"name": "x", "value": "1"}]
    else:
        assert post["text"] == body.decode()


def test_grouping_function_reading_the_body_before_the_app(inline_wrap: Any,
                                                           collector: Collector) -> None:
    """A webob.Request read ahead (e.g. the app starts its response before reading):
    the app still gets every byte."""
    body = b'{"user": "bo"}'
    got: dict[str, bytes] = {}

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        got["body"] = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        yield b"ok"

    grouping = lambda req: {"api_key": req.json["user"]}  # noqa: E731
    _, log, _ = exchange(inline_wrap(app, grouping_function=grouping), collector,
                         method="POST", body=body, headers={"Content-Type": "application/json"})
    assert got["body"] == body
    assert log["group"]["id"] == spec_mask("bo")


@pytest.mark.parametrize("read", [
    pytest.param(lambda req: req.POST["key"], id="req.POST"),
    pytest.param(lambda req: req.body[4:7].decode(), id="req.body"),
])
def test_grouping_function_reading_a_body_larger_than_max_body_bytes(
        inline_wrap: Any, collector: Collector, read: Callable[[Any], str]) -> None:
    """The app streamed a large body through; the grouping function still gets a request
    (the kept part) rather than an error that would lose the exchange."""
    body = b"key=abc&data=" + b"x" * 5000
    app = reading_app()
    result, log, entry = exchange(
        inline_wrap(app, max_body_bytes=100, grouping_function=lambda req: {"api_key": read(req)}),
        collector, method="POST", body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert app.seen["body"] == body
    assert log["group"]["id"] == spec_mask("abc")
    assert entry["request"]["bodySize"] == len(body)
    assert result.header("x-documentation-url") == [f"{DOCS}/logs/{log['_id']}"]


def test_grouping_function_called_once_per_exchange(inline_wrap: Any, collector: Collector) -> None:
    calls: list[Any] = []

    def grouping(req: Any) -> dict[str, str]:
        calls.append(req)
        return {"api_key": "once"}

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"a")
        yield b"b"
        yield b"c"

    exchange(inline_wrap(app, grouping_function=grouping), collector)
    assert len(calls) == 1


def test_api_key_is_never_logged(inline_wrap: Any, collector: Collector,
                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    collector.default = Reply(401, b'{"error": "bad key"}')
    middleware = inline_wrap(reading_app(), grouping_function=lambda req: 1 / 0)
    run_wsgi(middleware, wsgi_environ())
    middleware2 = inline_wrap(reading_app())
    run_wsgi(middleware2, wsgi_environ())
    middleware2.flush(2.0)
    token = base64.b64encode(f"{API_KEY}:".encode()).decode()
    assert caplog.records
    for record in caplog.records:
        text = record.getMessage() + str(record.args)
        assert API_KEY not in text and token not in text
    assert API_KEY not in repr(middleware2.config)


# -- redaction -------------------------------------------------------------------------------


# == adapters: Flask and Django ================================================================


def test_flask_extension_hands_flask_request_to_grouping(collector: Collector) -> None:
    flask = pytest.importorskip("flask")
    from readme_metrics.flask_readme import ReadMeMetrics

    seen: list[Any] = []

    def grouping(req: Any) -> dict[str, str]:
        seen.append((req, req.get_json()))
        return {"api_key": req.headers["X-Api-Key"]}

    app = flask.Flask(__name__)

    @app.post("/echo")
    def echo() -> Any:
        return {"got": flask.request.get_json()}

    metrics = ReadMeMetrics(MetricsApiConfig(
        api_key=API_KEY, grouping_function=grouping, metrics_api=collector.url,
        base_log_url=DOCS, background_worker_mode=False, buffer_length=1))
    metrics.init_app(app)
    try:
        # Closed as a server would: the log is finished when the response is closed.
        with app.test_client().post("/echo", json={"n": 1},
                                    headers={"X-Api-Key": "flask-key"}) as response:
            assert response.get_json() == {"got": {"n": 1}}
        [log] = collector.wait_for_logs(1)
        assert_valid_log(log)
        assert response.headers["x-documentation-url"] == f"{DOCS}/logs/{log['_id']}"
        assert len(seen) == 1 and isinstance(seen[0][0], flask.Request)
        assert seen[0][1] == {"n": 1}
        assert log["group"] == {"id": spec_mask("flask-key")}
        assert log["request"]["log"]["entries"][0]["request"]["postData"] == {
            "mimeType": "application/json", "text": '{"n": 1}'}
    finally:
        metrics.close()


def test_django_middleware_reads_settings_and_hands_http_request(collector: Collector) -> None:
    pytest.importorskip("django")
    import types

    from django.http import HttpRequest, HttpResponse
    from django.test import Client, override_settings
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    import tests.test_django  # noqa: F401 - configures Django once for the whole session

    seen: list[Any] = []

    def grouping(req: Any) -> dict[str, str]:
        seen.append((req, req.body))
        return {"api_key": req.headers["X-Api-Key"], "label": "django"}

    @csrf_exempt
    def echo(request: HttpRequest) -> HttpResponse:
        return HttpResponse(request.body, content_type="application/json")

    urls = types.ModuleType("spec_contract_urls")
    urls.urlpatterns = [path("echo", echo)]  # type: ignore[attr-defined]
    settings_config = MetricsApiConfig(
        api_key=API_KEY, grouping_function=grouping, metrics_api=collector.url,
        base_log_url=DOCS, background_worker_mode=False, buffer_length=1)
    with override_settings(ROOT_URLCONF=urls, README_METRICS_CONFIG=settings_config,
                           MIDDLEWARE=["readme_metrics.django.MetricsMiddleware"]):
        response = Client().post("/echo", data=b'{"d": 1}', content_type="application/json",
                                 HTTP_X_API_KEY="django-key")
    assert response.content == b'{"d": 1}'
    [log] = collector.wait_for_logs(1)
    assert_valid_log(log)
    assert response["x-documentation-url"] == f"{DOCS}/logs/{log['_id']}"
    assert len(seen) == 1 and isinstance(seen[0][0], HttpRequest)
    assert seen[0][1] == b'{"d": 1}'
    assert log["group"] == {"id": spec_mask("django-key"), "label": "django"}
    entry = log["request"]["log"]["entries"][0]
    assert entry["request"]["postData"] == {"mimeType": "application/json", "text": '{"d": 1}'}


# == end to end: a real server ===================================================================


def test_real_server_round_trip(collector: Collector) -> None:
    """wsgiref's server (decoded PATH_INFO, no raw URI) with a real HTTP client."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"len": len(body)}).encode()]

    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key=API_KEY, grouping_function=caller, metrics_api=collector.url,
        base_log_url=DOCS, background_worker_mode=True, buffer_length=2, flush_interval=0))
    try:
        with ThreadedWSGIServer(middleware) as server:
            first = requests.get(server.url + "/files/100%25/a%3Fb?q=a+b&q=%26&e=",
                                 timeout=10)
            second = requests.post(server.url + "/items", json={"name": "ä"}, timeout=10)
        assert first.json() == {"len": 0} and second.json() == {"len": 18}
        logs = collector.wait_for_logs(2)
    finally:
        middleware.close()
    for log in logs:
        assert_valid_log(log)
    get, post = (log["request"]["log"]["entries"][0]["request"] for log in logs)
    host = urlsplit(server.url).netloc
    assert get["url"] == f"http://{host}/files/100%25/a%3Fb?q=a+b&q=%26&e="
    assert pairs(get["queryString"]) == {"q": "&", "e": ""}
    assert [p["value"] for p in get["queryString"]] == ["a b", "&", ""]
    assert post["postData"] == {"mimeType": "application/json", "text": '{"name": "\\u00e4"}'}
    assert first.headers["x-documentation-url"] == f"{DOCS}/logs/{logs[0]['_id']}"
