"""The WSGI capture of request bodies (SPEC section 5): the app reads exactly what it
would, and the log records it.

Every way of reading wsgi.input, chunked input, missing or garbage Content-Length, a body
the app never reads, large bodies streamed through and recorded up to max_body_bytes (the
response's too), and bad input that must reach the app untouched.
"""

from __future__ import annotations

import io
from typing import Any, Callable
from wsgiref.validate import validator

import pytest
import webob

from tests.support.capture_wrap import (
    only_log,
    wrap_fixture,  # noqa: F401 - the ``wrap`` fixture
)
from tests.support.contract import exchange, reading_app
from tests.support.fake_api import Collector
from tests.support.minimal_server import call, environ_for
from tests.support.wsgi import run_wsgi, wsgi_environ

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


# -- bad input -----------------------------------------------------------------------------


def echo_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length)
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(len(body)))])
    return [body]


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
