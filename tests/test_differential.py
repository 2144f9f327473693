"""Differential property (SPEC section 10): wrapped == bare, and exactly one log each.

For random apps (status, headers, chunked bodies with non-UTF-8 bytes, write(), lists,
generators, closeable iterables) and random requests (methods, query strings, bodies,
with and without Content-Length, chunked), the wrapped app's status, headers (minus
x-documentation-url), body bytes and the bytes the app read equal the bare app's.
"""

from __future__ import annotations

import io
from typing import Any
from wsgiref.validate import validator

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.fake_api import INLINE_TIMEOUT, Collector
from tests.support.har_check import assert_valid_log
from tests.support.minimal_server import call, environ_for

TOKEN = st.from_regex(r"\A[A-Za-z][A-Za-z0-9-]{0,15}[A-Za-z0-9]\Z")
HEADER_VALUE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                                     blacklist_characters="\x7f"), max_size=30)
READS = st.sampled_from(["read", "read-sized", "readline", "iterate", "none"])


@st.composite
def apps(draw: Any) -> dict[str, Any]:
    status = draw(st.sampled_from([200, 201, 204, 301, 304, 400, 404, 418, 500, 503]))
    headers = draw(st.lists(st.tuples(TOKEN, HEADER_VALUE), max_size=5))
    headers = [(k, v.strip()) for k, v in headers
               if k.lower() not in ("content-type", "content-length", "status")]
    if status not in (204, 304):
        headers.append(("Content-Type", draw(st.sampled_from(
            ["application/json", "text/plain; charset=utf-8", "image/png", "text/html"]))))
    chunks = [] if status in (204, 304) else draw(st.lists(st.binary(max_size=64), max_size=6))
    return {
        "status": f"{status} {draw(st.sampled_from(['OK', 'Whatever', 'Teapot']))}",
        "headers": headers,
        "chunks": chunks,
        "shape": draw(st.sampled_from(["list", "generator", "closing", "write"])),
        "reads": draw(READS),
    }


@st.composite
def requests_(draw: Any) -> dict[str, Any]:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]))
    body = draw(st.binary(max_size=300))
    framing = draw(st.sampled_from(["length", "chunked", "none"]))
    query = draw(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E,
                                       blacklist_characters="#"), max_size=40))
    content_type = draw(st.sampled_from([None, "application/json", "text/plain",
                                         "application/x-www-form-urlencoded",
                                         "multipart/form-data; boundary=b",
                                         "application/octet-stream"]))
    extra: dict[str, Any] = {}
    if framing == "length":
        length: Any = str(len(body))
    elif framing == "chunked":
        length = None
        extra["wsgi.input_terminated"] = True
    else:
        length = None
        body = b""
    return dict(method=method, body=body, length=length, query=query,
                content_type=content_type, **extra)


def make_app(spec: dict[str, Any], seen: list[bytes]) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        stream = environ["wsgi.input"]
        reads = spec["reads"]
        length = environ.get("CONTENT_LENGTH")
        terminated = environ.get("wsgi.input_terminated")
        if reads != "none" and (length or terminated):
            if reads == "read":
                seen.append(stream.read(int(length)) if length else stream.read(-1))
            elif reads == "read-sized":
                parts = []
                while True:
                    part = stream.read(13)
                    if not part:
                        break
                    parts.append(part)
                seen.append(b"".join(parts))
            elif reads == "readline":
                seen.append(b"".join(iter(stream.readline, b"")))
            else:
                seen.append(b"".join(stream))
        write = start_response(spec["status"], list(spec["headers"]))
        chunks = spec["chunks"]
        if spec["shape"] == "list":
            return list(chunks)
        if spec["shape"] == "write":
            for chunk in chunks:
                write(chunk)
            return []
        if spec["shape"] == "generator":
            return (chunk for chunk in chunks)
        return ClosingIterable(chunks)

    return app


class ClosingIterable:
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.closed = 0

    def __iter__(self) -> Any:
        return iter(self.chunks)

    def close(self) -> None:
        self.closed += 1


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(spec=apps(), request=requests_())
def test_wrapped_app_behaves_exactly_like_the_bare_app(spec: dict[str, Any],
                                                        request: dict[str, Any]) -> None:
    collector = Collector().start()
    config = MetricsApiConfig(
        api_key="rdme_differential", metrics_api=collector.url, buffer_length=1,
        background_worker_mode=False, timeout=INLINE_TIMEOUT, base_log_url="https://docs.example.com",
        grouping_function=lambda req: {"api_key": "caller", "label": "c"},
    )
    middleware = MetricsMiddleware(make_app(spec, seen_wrapped := []), config)
    try:
        bare = call(validator(make_app(spec, seen_bare := [])), environ_for(**request))
        wrapped = call(validator(middleware), environ_for(**request))
        assert wrapped.status == bare.status
        assert [h for h in wrapped.headers if h[0] != "x-documentation-url"] == bare.headers
        assert wrapped.body == bare.body
        assert seen_wrapped == seen_bare
        assert len(collector.logs) == 1
        log = collector.logs[0]
        assert_valid_log(log)
        assert dict(wrapped.headers)["x-documentation-url"].endswith(log["_id"])
        response = log["request"]["log"]["entries"][0]["response"]
        code = int(bare.status.split()[0])
        # No body goes to a client in an answer to HEAD or a 1xx, 204, 304 (RFC 9110),
        # whatever the app gave: none is logged as sent.
        sent = 0 if request["method"] == "HEAD" or code < 200 or code in (204, 304) else len(
            bare.body)
        assert response["content"]["size"] == sent
        assert response["status"] == code
    finally:
        middleware.close()
        collector.stop()


def test_reading_is_the_same_through_a_byte_at_a_time_input() -> None:
    """A slow client: the server's input returns one byte per read."""

    class Trickle(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.data = data

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            if not self.data or not len(buffer):
                return 0
            buffer[0] = self.data[0]
            self.data = self.data[1:]
            return 1

    collector = Collector().start()
    config = MetricsApiConfig(api_key="rdme_x", metrics_api=collector.url, buffer_length=1,
                              background_worker_mode=False, timeout=INLINE_TIMEOUT,
                              grouping_function=lambda req: {"api_key": "k"})
    seen: list[bytes] = []
    middleware = MetricsMiddleware(make_app(
        {"status": "200 OK", "headers": [("Content-Type", "text/plain")], "chunks": [b"x"],
         "shape": "list", "reads": "read-sized"}, seen), config)
    try:
        environ = environ_for("POST", body=b"", content_type="text/plain", length="11")
        environ["wsgi.input"] = Trickle(b"hello world")
        call(middleware, environ)
        assert seen == [b"hello world"]
        text = collector.logs[0]["request"]["log"]["entries"][0]["request"]["postData"]["text"]
        assert text == "hello world"
    finally:
        middleware.close()
        collector.stop()
