"""The WSGI capture (SPEC section 5): the app sees exactly what it would, one log each."""

from __future__ import annotations

import io
import json
import threading
import wsgiref.util
from collections.abc import Iterator
from typing import Any, Callable
from wsgiref.validate import validator

import pytest
import webob
from werkzeug.middleware.lint import LintMiddleware

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.masking import mask
from tests.utils import Collector, assert_valid_log

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

def test_response_is_streamed_chunk_by_chunk(wrap, collector) -> None:
    produced: list[str] = []

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])

        def body():
            produced.append("first")
            yield b"first "
            produced.append("second")
            yield b"second"

        return body()

    result = wrap(app)(environ_for(), lambda status, headers, exc_info=None: None)
    iterator = iter(result)
    assert next(iterator) == b"first "
    assert produced == ["first"]  # the second chunk is not produced before it is asked for
    assert next(iterator) == b"second"
    result.close()
    content = only_log(collector)["request"]["log"]["entries"][0]["response"]["content"]
    assert content["text"] == "first second"
    assert content["size"] == 12


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


def test_file_wrapper_is_returned_as_the_same_object(wrap, collector, tmp_path) -> None:
    path = tmp_path / "report.bin"
    path.write_bytes(b"\x00\x01" * 500)
    returned = []

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", "1000")])
        wrapper = environ["wsgi.file_wrapper"](open(path, "rb"))  # noqa: SIM115
        returned.append(wrapper)
        return wrapper

    environ = environ_for(**{"wsgi.file_wrapper": wsgiref.util.FileWrapper})
    result = wrap(app)(environ, lambda *args: None)
    assert result is returned[0]
    result.close()
    response = only_log(collector)["request"]["log"]["entries"][0]["response"]
    assert response["content"]["size"] == 1000
    assert "text" not in response["content"]


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


def test_exception_before_start_response_propagates_and_is_logged_as_500(wrap, collector):
    error = Boom("broken")

    def app(environ, start_response):
        raise error

    with pytest.raises(Boom) as raised:
        wrap(app)(environ_for(), lambda *args: None)
    assert raised.value is error
    assert only_log(collector)["request"]["log"]["entries"][0]["response"]["status"] == 500


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


def test_grouping_function_can_read_form_fields(wrap, collector) -> None:
    def grouping(req):
        return {"api_key": req.POST["key"], "label": "form"}

    def app(environ, start_response):
        form = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [form]

    result = call(wrap(app, grouping_function=grouping),
                  environ_for("POST", body=b"key=secret-form-key&x=1",
                              content_type="application/x-www-form-urlencoded"))
    assert result.body == b"key=secret-form-key&x=1"
    assert only_log(collector)["group"]["id"] == mask("secret-form-key")


def test_grouping_function_called_once_per_exchange(wrap, collector) -> None:
    calls = []

    def grouping(req):
        calls.append(1)
        return GROUP

    def app(environ, start_response):
        start_response("200 OK", [])
        return (chunk for chunk in [b"a", b"b"])

    call(wrap(app, grouping_function=grouping), environ_for())
    assert calls == [1]


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
