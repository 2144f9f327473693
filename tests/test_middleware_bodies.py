"""The WSGI capture (SPEC section 5): the app sees exactly what it would, one log each."""

from __future__ import annotations

import io
import json
import threading
import wsgiref.util
from collections.abc import Iterator
from typing import Any, Callable
from urllib.parse import urlsplit
from wsgiref.util import FileWrapper
from wsgiref.validate import validator

import pytest
import webob
from werkzeug.middleware.lint import LintMiddleware

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.masking import mask
from tests.support.contract import DOCS, exchange, reading_app, spec_mask
from tests.support.fake_api import Collector
from tests.support.har_check import assert_valid_log
from tests.support.wsgi import run_wsgi, wsgi_environ

GROUP = {"api_key": "owlbert-api-key", "label": "Owlbert", "email": "owlbert@example.com"}


def owlbert(req: Any) -> dict[str, str]:
    return dict(GROUP)


@pytest.fixture
def wrap(collector: Collector) -> Iterator[Callable[..., MetricsMiddleware]]:
    """Wrap an app in a MetricsMiddleware that sends each log at once to the collector."""
    made: list[MetricsMiddleware] = []

    def make(app: Any, **options: Any) -> MetricsMiddleware:
        options.setdefault("grouping_function", owlbert)
        options.setdefault("buffer_length", 1)
        options.setdefault("background_worker_mode", False)
        config = MetricsApiConfig(
            api_key="rdme_abcdefghijklmnopqrstuvwxyz", metrics_api=collector.url, **options
        )
        middleware = MetricsMiddleware(app, config)
        made.append(middleware)
        return middleware

    yield make
    for middleware in made:
        middleware.close()


def environ_for(method: str = "GET", path: str = "/", body: bytes = b"",
                content_type: str | None = None, query: str = "",
                length: str | None = "auto", **extra: Any) -> dict[str, Any]:
    environ: dict[str, Any] = {}
    wsgiref.util.setup_testing_defaults(environ)
    environ.update({
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "HTTP_HOST": "api.example.com",
        "SERVER_NAME": "api.example.com",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
    })
    if content_type is not None:
        environ["CONTENT_TYPE"] = content_type
    if length == "auto":
        environ["CONTENT_LENGTH"] = str(len(body)) if body else ""
    elif length is not None:
        environ["CONTENT_LENGTH"] = length
    environ.update(extra)
    return environ


class Result:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def call(app: Any, environ: dict[str, Any]) -> Result:
    """A minimal server: start_response, write(), iterate, close()."""
    seen: dict[str, Any] = {}
    written: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
        seen["status"], seen["headers"] = status, headers
        return written.append

    result = app(environ, start_response)
    try:
        for chunk in result:
            written.append(chunk)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return Result(seen["status"], seen["headers"], b"".join(written))


def echo_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length)
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(len(body)))])
    return [body]


def only_log(collector: Collector) -> dict[str, Any]:
    logs = collector.wait_for_logs(1)
    assert len(logs) == 1, logs
    assert_valid_log(logs[0])
    return logs[0]


# -- request bodies ----------------------------------------------------------------------

def _read_all(stream: Any) -> bytes:
    return stream.read()


def _read_chunks(stream: Any) -> bytes:
    parts = []
    while True:
        part = stream.read(7)
        if not part:
            return b"".join(parts)
        parts.append(part)


def _read_lines(stream: Any) -> bytes:
    return b"".join(iter(stream.readline, b""))


def _iterate(stream: Any) -> bytes:
    return b"".join(stream)


def _readlines(stream: Any) -> bytes:
    return b"".join(stream.readlines())


READERS = [
    pytest.param(_read_all, id="read()"),
    pytest.param(_read_chunks, id="read(7)-loop"),
    pytest.param(_read_lines, id="readline-loop"),
    pytest.param(_iterate, id="iteration"),
    pytest.param(_readlines, id="readlines"),
]
BODY = b'{"name": "owlbert",\n "bytes": "\xc3\xa9\xff"}\nline three\n'


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_app_reads_the_body_exactly_as_unwrapped(wrap, collector, method, reader) -> None:
    read: list[bytes] = []

    def app(environ, start_response):
        read.append(reader(environ["wsgi.input"]))
        start_response("204 No Content", [])
        return []

    trailing = b"NEXT-REQUEST-BYTES"  # what follows the body on a keep-alive connection
    environ = environ_for(method, body=BODY + trailing, content_type="text/plain",
                          length=str(len(BODY)))
    call(wrap(app), environ)
    assert read == [BODY]
    assert environ["wsgi.input"]._input.read() == trailing  # never read past the body
    log = only_log(collector)
    request = log["request"]["log"]["entries"][0]["request"]
    assert request["method"] == method
    assert request["bodySize"] == len(BODY)
    # Not UTF-8 and no charset: text/plain is read as ISO 8859-1 (HTTP's default for text).
    assert request["postData"]["text"] == BODY.decode("latin-1") or (
        request["postData"].get("comment") == "base64"
    )


@pytest.mark.parametrize("reader", READERS)
def test_chunked_input_without_content_length(wrap, collector, reader) -> None:
    read: list[bytes] = []

    def app(environ, start_response):
        read.append(reader(environ["wsgi.input"]))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    body = b"chunk one\nchunk two\n" * 50
    environ = environ_for("POST", body=body, content_type="text/plain", length=None,
                          **{"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"})
    call(wrap(app), environ)
    assert read == [body]
    request = only_log(collector)["request"]["log"]["entries"][0]["request"]
    assert request["postData"]["text"] == body.decode()
    assert request["bodySize"] == len(body)


@pytest.mark.parametrize("length", ["", "garbage", "-5"], ids=["empty", "garbage", "negative"])
def test_missing_or_garbage_content_length_passes_reads_through(wrap, collector, length) -> None:
    read: list[bytes] = []

    def app(environ, start_response):
        read.append(environ["wsgi.input"].read(5))
        start_response("200 OK", [])
        return [b""]

    call(wrap(app), environ_for("POST", body=b"hello world", length=length))
    assert read == [b"hello"]
    log = only_log(collector)
    assert log["request"]["log"]["entries"][0]["response"]["status"] == 200


def test_body_the_app_never_reads_is_still_logged_and_not_overread(wrap, collector) -> None:
    def app(environ, start_response):
        start_response("202 Accepted", [("Content-Type", "application/json")])
        return [b"{}"]

    environ = environ_for("POST", body=b'{"a": 1}TRAILING', content_type="application/json",
                          length="8")
    call(wrap(app), environ)
    entry = only_log(collector)["request"]["log"]["entries"][0]
    assert entry["request"]["postData"]["text"] == '{"a": 1}'
    assert environ["wsgi.input"]._input.read() == b"TRAILING"


class CountingInput(io.RawIOBase):
    """A large body produced on the fly, so a copy of it all would show."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.largest_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = b"x" * n
        self.left -= n
        self.largest_read = max(self.largest_read, n)
        return n


def test_large_body_streams_through_and_is_logged_truncated(wrap, collector) -> None:
    size = 5 * 1024 * 1024
    source = CountingInput(size)
    total = []

    def app(environ, start_response):
        n = 0
        while True:
            part = environ["wsgi.input"].read(65536)
            if not part:
                break
            n += len(part)
        total.append(n)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"done"]

    environ = environ_for("POST", content_type="text/plain", length=str(size))
    environ["wsgi.input"] = source
    middleware = wrap(app, max_body_bytes=1000)
    call(middleware, environ)
    assert total == [size]
    assert source.largest_read <= 65536
    request = only_log(collector)["request"]["log"]["entries"][0]["request"]
    assert request["bodySize"] == size
    assert len(request["postData"]["text"]) == 1000
    assert "truncated" in request["postData"]["comment"]


# -- responses ---------------------------------------------------------------------------


class ClosingBody:
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.closed = 0

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.chunks)

    def close(self) -> None:
        self.closed += 1


@pytest.mark.parametrize("lint", [
    pytest.param(validator, id="wsgiref.validate"),
    pytest.param(LintMiddleware, id="werkzeug-lint"),
])
def test_close_is_called_exactly_once_under_lint(wrap, collector, lint) -> None:
    body = ClosingBody([b"a", b"b", b"c"])

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return body

    wrapped = lint(wrap(lint(app)))
    result = call(wrapped, environ_for())
    assert result.body == b"abc"
    assert body.closed == 1
    logs = collector.wait_for_logs(1)
    assert len(logs) == 1
    assert logs[0]["request"]["log"]["entries"][0]["response"]["content"]["text"] == "abc"


def test_write_callable_is_captured(wrap, collector) -> None:
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written ")
        return [b"returned"]

    assert call(wrap(app), environ_for()).body == b"written returned"
    content = only_log(collector)["request"]["log"]["entries"][0]["response"]["content"]
    assert content["text"] == "written returned"
    assert content["size"] == len("written returned")


def test_one_log_per_exchange_whatever_the_chunks(wrap, collector) -> None:
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (b"%d," % i for i in range(500))

    middleware = wrap(app)
    for _ in range(3):
        call(middleware, environ_for())
    assert len(collector.wait_for_logs(3)) == 3
    assert middleware.stats["captured"] == 3


class Boom(Exception):
    pass


def test_exception_while_iterating_keeps_the_started_status(wrap, collector) -> None:
    def app(environ, start_response):
        start_response("201 Created", [("Content-Type", "text/plain")])

        def body():
            yield b"partial"
            raise Boom("mid-stream")

        return body()

    with pytest.raises(Boom):
        call(wrap(app), environ_for())
    response = only_log(collector)["request"]["log"]["entries"][0]["response"]
    assert response["status"] == 201
    assert response["content"]["text"] == "partial"


# -- what is not logged ------------------------------------------------------------------

def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


@pytest.mark.parametrize("options, method, host, logged", [
    pytest.param({}, "OPTIONS", "api.example.com", False, id="options-skipped-by-default"),
    pytest.param({}, "GET", "api.example.com", True, id="get-logged"),
    pytest.param({"skip_methods": ["HEAD"]}, "OPTIONS", "api.example.com", True,
                 id="given-list-replaces-default"),
    pytest.param({"skip_methods": ["head"]}, "HEAD", "api.example.com", False,
                 id="skip-case-insensitive"),
    pytest.param({"allowed_http_hosts": ["api.example.com"]}, "GET", "other.example.com",
                 False, id="host-not-allowed"),
    pytest.param({"allowed_http_hosts": ["API.example.com"]}, "GET", "api.example.com:8080",
                 True, id="host-allowed-with-port"),
    pytest.param({"grouping_function": lambda req: None}, "GET", "api.example.com", False,
                 id="grouping-none"),
    pytest.param({"grouping_function": lambda req: 1 / 0}, "GET", "api.example.com", False,
                 id="grouping-raises"),
    pytest.param({"grouping_function": lambda req: "nope"}, "GET", "api.example.com", False,
                 id="grouping-wrong-type"),
])
def test_skip_rules(wrap, collector, options, method, host, logged) -> None:
    options.setdefault("base_log_url", "https://docs.example.com")
    middleware = wrap(hello, **options)
    result = call(middleware, environ_for(method, HTTP_HOST=host))
    assert result.body == b"hello"
    assert middleware.flush(5)
    assert len(collector.logs) == (1 if logged else 0)
    url = result.header("x-documentation-url")
    if logged:
        assert url == f"https://docs.example.com/logs/{collector.logs[0]['_id']}"
    else:
        assert url is None
    stats = middleware.stats
    assert stats["captured"] == 1
    assert stats["skipped"] == (0 if logged else 1)


def test_grouping_error_is_logged_once_per_message(wrap, collector, caplog) -> None:
    def grouping(req):
        raise RuntimeError("no user table")

    middleware = wrap(hello, grouping_function=grouping)
    with caplog.at_level("ERROR", logger="readme_metrics"):
        for _ in range(5):
            assert call(middleware, environ_for()).body == b"hello"
    messages = [r.getMessage() for r in caplog.records if "RuntimeError" in r.getMessage()]
    assert len(messages) == 1 and "no user table" not in messages[0]


# -- the grouping function -----------------------------------------------------------------

@pytest.mark.parametrize("app_reads", [True, False], ids=["app-reads-first", "app-ignores"])
@pytest.mark.parametrize("access", [
    pytest.param(lambda req: req.body.decode(), id="req.body"),
    pytest.param(lambda req: req.json["user"], id="req.json"),
])
def test_grouping_function_can_read_the_body(wrap, collector, app_reads, access) -> None:
    seen: list[Any] = []
    app_saw: list[bytes] = []

    def grouping(req):
        assert isinstance(req, webob.Request)
        seen.append(access(req))
        return {"api_key": "k-" + req.headers["X-User"], "label": "L"}

    def app(environ, start_response):
        if app_reads:
            app_saw.append(environ["wsgi.input"].read())
        start_response("200 OK", [("Content-Type", "text/plain")])
        if not app_reads:
            app_saw.append(environ["wsgi.input"].read())  # reading after start_response
        return [b"ok"]

    body = b'{"user": "ada"}'
    call(wrap(app, grouping_function=grouping),
         environ_for("POST", body=body, content_type="application/json", HTTP_X_USER="ada"))
    assert app_saw == [body]
    assert seen[0] in ("ada", body.decode())
    log = only_log(collector)
    assert log["group"]["id"] == mask("k-ada")
    assert log["group"]["label"] == "L"


# -- bad input -----------------------------------------------------------------------------

BAD = [
    pytest.param(dict(method="POST", body=b'{"broken": ', content_type="application/json"),
                 id="malformed-json"),
    pytest.param(dict(method="POST", body=b"--xx\r\nContent-Disposition: form-data\r\n\r\n",
                      content_type="multipart/form-data; boundary=xx"), id="malformed-multipart"),
    pytest.param(dict(method="POST", body=b"a=%zz&b=%&c=%E9", content_type=
                      "application/x-www-form-urlencoded"), id="bad-form-encoding"),
    pytest.param(dict(query="q=%zz&r=%&s=%ff%fe&t"), id="bad-percent-encoding"),
    pytest.param(dict(path="/caf\xc3\xa9/\xff\xfe", HTTP_X_NAME="\xff\xfe\xe9"),
                 id="non-utf8-path-and-header"),
    pytest.param(dict(method="POST", body=b"\x00\xff\xfe binary", content_type="text/plain"),
                 id="non-utf8-text-body"),
    pytest.param(dict(method="POST", body=b"x" * 10, length="99999"),
                 id="content-length-larger-than-body"),
]


@pytest.mark.parametrize("request_args", BAD)
def test_bad_input_never_reaches_the_app_and_is_logged(wrap, collector, request_args) -> None:
    environ = environ_for(**request_args)
    body = request_args.get("body", b"")
    bare = call(echo_app, environ_for(**request_args))
    wrapped = call(validator(wrap(validator(echo_app))), environ)
    assert (wrapped.status, wrapped.body) == (bare.status, bare.body)
    assert bare.body == body
    only_log(collector)


# -- a real server ------------------------------------------------------------------------

def test_real_threaded_server_logs_every_kind_of_body(collector, monkeypatch) -> None:
    """The issue's acceptance scenario, over real HTTP with wsgiref's threaded server."""
    import socketserver
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    import requests

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    class ThreadedServer(socketserver.ThreadingMixIn, WSGIServer):
        daemon_threads = True

    def api(environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        payload = json.dumps({"received": len(body)}).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(payload)))])
        return [payload]

    monkeypatch.setenv("README_METRICS_SERVER", collector.url)
    config = MetricsApiConfig(
        api_key="rdme_abcdefghijklmnopqrstuvwxyz",
        grouping_function=lambda req: dict(GROUP),
        buffer_length=1,
        background_worker_mode=False,
    )
    middleware = MetricsMiddleware(api, config)
    server = make_server("127.0.0.1", 0, middleware, server_class=ThreadedServer,
                         handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
           b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\nIDATx\x9cc\x00\x01\x00\x00\x05\x00"
           b"\x01\r\n-\xb4\x00\x00\x00\x00IEND\xaeB`\x82")
    try:
        with requests.Session() as http:
            http.get(f"{base}/pets?limit=10&tag=&tag=cute+dogs", timeout=5)
            http.post(f"{base}/pets", json={"name": "Owlbert", "age": 3}, timeout=5)
            http.post(f"{base}/pets", data=b'{"name": "Owlbert"}', timeout=5,
                      headers={"Content-Type": "application/vnd.api+json"})
            http.post(f"{base}/notes", data=b"plain words", timeout=5,
                      headers={"Content-Type": "text/plain"})
            http.post(f"{base}/form", data={"name": "Owlbert", "size": "small"}, timeout=5)
            http.post(f"{base}/upload", files={"avatar": ("owl.png", png, "image/png")},
                      data={"caption": "hi"}, timeout=5)
            raw = http.prepare_request(requests.Request("POST", f"{base}/raw", data=b"no type"))
            raw.headers.pop("Content-Type", None)
            http.send(raw, timeout=5)
        logs = collector.wait_for_logs(7)
    finally:
        server.shutdown()
        server.server_close()
        middleware.close()

    assert len(logs) == 7
    for log in logs:
        assert_valid_log(log)
        assert log["group"] == {"id": mask("owlbert-api-key"), "label": "Owlbert",
                                "email": "owlbert@example.com"}
        assert log["clientIPAddress"] == "127.0.0.1"
        assert log["development"] is False
    by_path = {log["request"]["log"]["entries"][0]["request"]["url"].split(base)[1]: log
               for log in logs}
    get = by_path["/pets?limit=10&tag=&tag=cute+dogs"]["request"]["log"]["entries"][0]
    assert get["request"]["queryString"] == [
        {"name": "limit", "value": "10"}, {"name": "tag", "value": ""},
        {"name": "tag", "value": "cute dogs"},
    ]
    assert "postData" not in get["request"]
    # wsgiref invents "Content-Type: text/plain" for body-less requests; not logged as sent
    assert all(h["name"] != "Content-Type" for h in get["request"]["headers"])
    assert json.loads(get["response"]["content"]["text"]) == {"received": 0}

    posts = [log["request"]["log"]["entries"][0]["request"] for log in logs
             if log["request"]["log"]["entries"][0]["request"]["method"] == "POST"]
    data = {p["url"].split(base)[1] + "|" + p["postData"]["mimeType"]: p["postData"]
            for p in posts}
    assert data["/pets|application/json"] == {
        "mimeType": "application/json", "text": '{"name": "Owlbert", "age": 3}'}
    assert data["/pets|application/vnd.api+json"]["text"] == '{"name": "Owlbert"}'
    assert data["/notes|text/plain"] == {"mimeType": "text/plain", "text": "plain words"}
    assert data["/form|application/x-www-form-urlencoded"] == {
        "mimeType": "application/x-www-form-urlencoded",
        "params": [{"name": "name", "value": "Owlbert"}, {"name": "size", "value": "small"}],
    }
    assert data["/raw|text/plain"] == {"mimeType": "text/plain", "text": "no type"}
    upload = next(v for k, v in data.items() if k.startswith("/upload|multipart/form-data"))
    params = {p["name"]: p for p in upload["params"]}
    assert params["caption"]["value"] == "hi"
    avatar = params["avatar"]
    assert avatar["fileName"] == "owl.png"
    assert avatar["contentType"] == "image/png"
    import base64
    assert avatar["value"] == "data:image/png;name=owl.png;base64," + base64.b64encode(
        png).decode()


# -- through the public API, expected values from the SPEC words (SPEC 5 and 6, black box) ---


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


class BufferedCountingInput(io.BytesIO):
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
    stream = BufferedCountingInput(body, extra=b"NEXT REQUEST BYTES")
    if length == "chunked":
        stream = BufferedCountingInput(body)
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
    # SPEC 6: the key the grouping function returned is masked where the request has it.
    if content_type == FORM[0]:
        assert post["params"] == [{"name": "user", "value": spec_mask("ana")},
                                  {"name": "x", "value": "1"}]
    elif key == "ana":
        assert json.loads(post["text"]) == {"user": spec_mask("ana")}
    else:
        assert post["text"] == spec_mask(key)


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
