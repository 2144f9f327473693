"""capture/asgi_scope: ScopeRequest (what the request thread keeps of a scope) and
wsgi_environ (the environ of the plain ASGI middleware's webob request).

Its headers go in by C calls in the usual case (names known from earlier requests, values
decoded in one go) and one by one otherwise; both must give the environ PEP 3333 and
one header at a time give (the reference below).
"""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest

from readme_metrics.capture.asgi_messages import body_record
from readme_metrics.capture.asgi_scope import ScopeRequest, wsgi_environ


def reference_headers(headers: list[tuple[Any, Any]]) -> dict[str, str]:
    """The environ's header keys, one header at a time: HTTP_ names, CONTENT_TYPE and
    CONTENT_LENGTH without it, values as latin-1 text, repeated ones joined with ","."""
    environ: dict[str, str] = {}
    for name, value in headers:
        key = bytes(name).decode("latin-1").upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        text = bytes(value).decode("latin-1")
        environ[key] = environ[key] + "," + text if key in environ else text
    return environ


def scope(headers: list[tuple[Any, Any]]) -> dict[str, Any]:
    return {"type": "http", "method": "GET", "scheme": "https", "path": "/p",
            "query_string": b"q=1", "root_path": "", "http_version": "1.1",
            "server": ("api.example.com", 443), "client": ("10.0.0.1", 5000),
            "headers": headers}


COMMON = [(b"host", b"api.example.com"), (b"accept", b"application/json"),
          (b"x-api-key", b"k-123")]


@pytest.mark.parametrize("headers", [
    pytest.param(COMMON, id="usual"),
    pytest.param([(b"x-first-seen-%d" % id(object()), b"v")] + COMMON, id="new-name"),
    pytest.param(COMMON + [(b"accept", b"text/html")], id="repeated"),
    pytest.param(COMMON + [(b"x-odd", b"a\nb")], id="line-break-in-value"),
    pytest.param(COMMON + [(b"x-odd", b"\n")], id="line-break-alone"),
    pytest.param(COMMON + [(b"x-latin", "caf\u00e9".encode("latin-1"))], id="latin-1"),
    pytest.param(COMMON + [(b"x-utf8", "caf\u00e9".encode())], id="utf-8"),
    pytest.param(COMMON + [(b"x-buffer", bytearray(b"b"))], id="bytearray-value"),
    pytest.param(COMMON + [(b"x-empty", b"")], id="empty-value"),
    pytest.param([(b"content-type", b"text/plain"), (b"content-length", b"0")],
                 id="content-headers"),
    pytest.param([], id="none"),
])
def test_environ_headers_are_those_of_one_header_at_a_time(headers: list[Any]) -> None:
    expected = reference_headers(headers)
    for _ in range(2):  # first with names maybe not seen, then with every name known
        environ = wsgi_environ(scope(list(headers)), b"")
        got = {key: value for key, value in environ.items()
               if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH")}
        assert got == expected
        assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
        assert environ["PATH_INFO"] == "/p" and environ["QUERY_STRING"] == "q=1"


@pytest.mark.parametrize(("port", "expected"), [
    pytest.param(443, "443", id="usual"),
    pytest.param(8443, "8443", id="other"),
    pytest.param(443.0, "443.0", id="float"),
    pytest.param(True, "True", id="bool"),
    pytest.param(None, "", id="none"),
])
def test_server_port_is_the_ports_str(port: Any, expected: str) -> None:
    # The usual ports are looked up, not made a str per request: the same text as str().
    environ = wsgi_environ({**scope(COMMON), "server": ("api.example.com", port)}, b"")
    assert environ["SERVER_PORT"] == expected


@pytest.mark.parametrize(("query", "expected"), [
    pytest.param(b"a=1&b=%20", "a=1&b=%20", id="bytes"),
    pytest.param(bytearray(b"a=\xe9"), "a=\xe9", id="bytearray"),
    pytest.param(b"", "", id="empty"),
    pytest.param(None, "", id="none"),
])
def test_query_string_is_its_bytes_as_latin_1(query: Any, expected: str) -> None:
    environ = wsgi_environ({**scope(COMMON), "query_string": query}, b"")
    assert environ["QUERY_STRING"] == expected


#: The environ's first keys, in the order a grouping function iterating it sees them.
FIXED = ["REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SERVER_NAME",
         "SERVER_PORT", "SERVER_PROTOCOL", "REMOTE_ADDR", "wsgi.url_scheme", "wsgi.input",
         "asgi.scope"]


@pytest.mark.parametrize("headers", [
    pytest.param(COMMON, id="usual"),
    pytest.param(COMMON + [(b"accept", b"text/html")], id="repeated"),
    pytest.param([(b"x-new-%d" % id(object()), b"v")] + COMMON, id="new-name"),
    pytest.param([], id="none"),
])
def test_environ_keys_keep_their_order_and_no_environ_is_shared(headers: list[Any]) -> None:
    """The environ is a copy of a template kept per set of header names: each request
    gets its own dict (a grouping function may change it), its keys in the order they
    were always in: the fixed ones, then the headers' in the order they came."""
    changed = wsgi_environ(scope(list(headers)), b"")
    changed.update({"HTTP_HOST": "changed", "EXTRA": "x", "PATH_INFO": "/changed"})
    for _ in range(2):
        environ = wsgi_environ(scope(list(headers)), b"")
        assert list(environ) == FIXED + list(reference_headers(headers))
        assert "EXTRA" not in environ and environ["PATH_INFO"] == "/p"
        assert environ.get("HTTP_HOST") in (None, "api.example.com")


@pytest.mark.parametrize(("headers", "nbytes", "host", "length", "chunked", "expect"), [
    pytest.param(COMMON, 55, "api.example.com", None, False, False, id="usual"),
    pytest.param([(b"host", b"a"), (b"host", b"bb")], 11, "a", None, False, False,
                 id="first-host-wins"),
    pytest.param([(b"content-length", b"5"), (b"content-length", b"7"),
                  (b"transfer-encoding", b"chunked"), (b"expect", b"100-continue")],
                 72, None, "5", True, True, id="framing"),
    pytest.param([(b"x-buffer", bytearray(b"abc")), (b"host", memoryview(b"h"))], 16, "h",
                 None, False, False, id="buffers"),
    pytest.param([], 0, None, None, False, False, id="none"),
])
def test_scope_request_counts_header_bytes_and_takes_first_values(
        headers: list[Any], nbytes: int, host: Any, length: Any, chunked: bool,
        expect: bool) -> None:
    request = ScopeRequest(scope(headers))
    assert request.nbytes == nbytes == sum(len(n) + len(v) for n, v in headers)
    assert (request.host, request.length, request.chunked, request.expect) == (
        host, length, chunked, expect)


def test_scope_request_counts_a_huge_header_without_copying_it() -> None:
    """uvicorn (httptools) takes a header of any size: the request thread counts its
    bytes for the queue's bound, and must not copy it on the event loop to do so (a
    join of every name and value did: 20 MB more at its peak here)."""
    huge = b"v" * (20 << 20)
    headers = [*COMMON, (b"x-huge", huge)]
    tracemalloc.start()
    try:
        request = ScopeRequest(scope(headers))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert request.nbytes == 55 + len(b"x-huge") + len(huge)
    assert peak < 1 << 20


@pytest.mark.parametrize(("version", "protocol", "no_body"), [
    pytest.param("1.1", "HTTP/1.1", True, id="1.1"),
    pytest.param("1.0", "HTTP/1.0", True, id="1.0"),
    pytest.param("1", "HTTP/1.0", True, id="granian-1.0"),
    pytest.param(None, "HTTP/1.1", True, id="none"),
    pytest.param("", "HTTP/1.1", True, id="empty"),
    pytest.param("2", "HTTP/2", False, id="2"),
    pytest.param("3", "HTTP/3", False, id="3"),
])
def test_http_version_gives_the_protocol_and_whether_a_bare_request_has_a_body(
        version: Any, protocol: str, no_body: bool) -> None:
    """The usual "1.1" is tested first on the request path: every version must still
    give what scope_version() says (HTTP/1.x without framing headers has no body)."""
    given = {**scope(COMMON), "http_version": version}
    assert wsgi_environ(given, b"")["SERVER_PROTOCOL"] == protocol
    assert body_record(given, ScopeRequest(given), 1024).eof is no_body
