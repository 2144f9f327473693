"""Property (hostile13): whole WSGI exchanges, bare and wrapped, under both linters.

hypothesis draws a whole exchange: the method (odd tokens too), a path with odd bytes and
percent-escapes, a query, headers (duplicates, odd case, latin-1, very long), a request
body (bytes, JSON, form, multipart; declared length right, short or long, chunked or
none), the app's behaviour (reads all, part or none of the body; raises before or after
start; any status, 1xx/204/304 included; duplicate headers; a list, generator, write()
or file wrapper body; a Content-Length right or wrong) and the grouping function (a key,
None, raises, odd types). Each runs bare and wrapped, both under ``wsgiref.validate``
and werkzeug's ``LintMiddleware``; then the app saw the same request, the client the same
answer, the linters said the same, there is one log when the caller is identified (none
otherwise), the log is valid HAR 1.2 with sizes that match the bytes, and neither the
caller's key nor a denylisted value is in the posted bytes.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import warnings
from typing import Any, Optional
from urllib.parse import unquote
from wsgiref.util import FileWrapper
from wsgiref.validate import validator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.capture.nesting import MARK
from readme_metrics.cli.collector.validation import validate_log
from tests.support.asgi import body_messages, http_scope
from tests.support.fake_api import INLINE_TIMEOUT, Collector
from tests.support.har_check import assert_valid_log
from tests.support.lint import validated_inside_lint
from tests.support.minimal_server import call, environ_for
from tests.test_asgi_hostile_property import error_of as asgi_error_of
from tests.test_asgi_hostile_property import serve as asgi_serve
from tests.test_asgi_property import without_docs_header

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_LATIN1 = st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f")
_METHOD = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS",
                           "M-SEARCH", "PROPFIND", "get", "X_Y", "A!#$%&'*+.^`|~"])
_PATH = st.lists(st.sampled_from(["/", "a", "%", "%2F", "%ff", "%C3%A9", "é", "\xff",
                                  "..", ";", "%00", " ", "~", "%zz", "+"]),
                 max_size=8).map(lambda parts: "/" + "".join(parts))
_QUERY = st.lists(st.sampled_from(["a", "=", "&", "%", "%ff", "%C3%A9", "+", ";", "%00",
                                   "password=x", "%zz", "a=1", "a=2"]),
                  max_size=10).map("".join)
_NAMES = st.sampled_from(["X-Odd", "x-odd", "X-ODD", "Accept", "Cookie", "Referer",
                          "Authorization", "X-Forwarded-For", "User-Agent"])
_VALUE = st.one_of(st.text(_LATIN1, max_size=30).map(str.strip),
                   st.integers(1, 9000).map(lambda n: "v" * n))
_STATUS = st.sampled_from([100, 101, 103, 200, 201, 204, 206, 299, 304, 404, 418, 500, 599])
_REASON = st.sampled_from(["OK", "Whatever", "Caf\xe9", "A  B"])
_CHUNK = st.binary(max_size=60)


@st.composite
def exchanges(draw: st.DrawFn) -> dict[str, Any]:
    key = "ck" + "".join(draw(st.lists(st.sampled_from(_ALNUM), min_size=14, max_size=14)))
    secret = "dn" + "".join(draw(st.lists(st.sampled_from(_ALNUM), min_size=14, max_size=14)))
    headers = draw(st.lists(st.tuples(_NAMES, _VALUE), max_size=4))
    where = draw(st.sets(st.sampled_from(["header", "query", "json", "form", "cookie"])))
    query = draw(_QUERY)
    if "header" in where:
        headers += [("X-Caller", key), ("Secret-Field", secret)]
    if "cookie" in where:
        headers.append(("Cookie", f"c={key}; secret_field={secret}"))
    if "query" in where:
        query += f"&k={key}&secret_field={secret}"
    kind = draw(st.sampled_from(["none", "bytes", "json", "form", "multipart"]))
    if kind == "bytes":
        body, ctype = draw(st.binary(max_size=120)), draw(st.sampled_from(
            [None, "application/octet-stream", "text/plain; charset=x-no", "\xe9/\xff"]))
    elif kind == "json":
        shape = draw(st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=8),
            lambda inner: st.lists(inner, max_size=3)
            | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8))
        if "json" in where:
            shape = {"k": key, "deep": [{"secret_field": secret}], "v": shape}
        body, ctype = json.dumps(shape).encode(), "application/json"
    elif kind == "form":
        body = b"a=1&b=%ff&c=\xff"
        if "form" in where:
            body += f"&k={key}&secret_field={secret}".encode()
        ctype = "application/x-www-form-urlencoded"
    elif kind == "multipart":
        fields = [("a", "1")] + ([("k", key), ("secret_field", secret)]
                                 if "form" in where else [])
        body = b"".join(f'--b\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n'
                        .encode() for n, v in fields) + b"--b--\r\n"
        ctype = "multipart/form-data; boundary=b"
    else:
        body, ctype = b"", None
    framing = draw(st.sampled_from(["right", "short", "long", "chunked", "absent"]))
    grouping = draw(st.sampled_from(["key", "id", "body-key", "none", "raise", "str", "int", "list",
                                     "int-key", "no-key", "none-key", "empty-key"]))
    status = draw(_STATUS)
    app_headers = draw(st.lists(st.tuples(_NAMES | st.just("Set-Cookie"), _VALUE),
                                max_size=4))
    chunks = draw(st.lists(_CHUNK, max_size=4))
    return {
        "key": key, "secret": secret, "method": draw(_METHOD), "path": draw(_PATH),
        "query": query, "headers": headers, "body": body, "content_type": ctype,
        "framing": framing, "grouping": grouping,
        "reads": draw(st.sampled_from(["none", "all", "part", "lines", "past"])),
        "part": draw(st.integers(0, 40)),
        "raises": draw(st.sampled_from(["no", "no", "before", "after"])),
        "status": f"{status} {draw(_REASON)}",
        "app_headers": app_headers,
        "length": draw(st.sampled_from(["absent", "right", "wrong"])),
        "chunks": chunks,
        "shape": draw(st.sampled_from(["list", "generator", "write", "file"])),
        "lint": draw(st.booleans()),
        "response_type": draw(st.sampled_from(["text/plain", "application/json",
                                               "image/png", "text/html; charset=\xe9"])),
    }


class Boom(ValueError):
    """What the drawn app raises."""


def environ_of(case: dict[str, Any]) -> dict[str, Any]:
    body, framing = case["body"], case["framing"]
    extra: dict[str, Any] = {"wsgi.file_wrapper": FileWrapper}
    for name, value in case["headers"]:
        env = "HTTP_" + name.upper().replace("-", "_")
        extra[env] = extra[env] + "," + value if env in extra else value
    if framing == "right":
        length: Optional[str] = str(len(body))
    elif framing == "short":  # the server takes the declared bytes, the rest is no body
        body = body[:max(len(body) - 5, 0)]
        length = str(len(body))
    elif framing == "long":
        length = str(len(body) + 7)
    elif framing == "chunked":
        length = None  # as gunicorn or waitress hand on a chunked body
        extra["wsgi.input_terminated"] = True
        extra["HTTP_TRANSFER_ENCODING"] = "chunked"
    else:
        length, body = None, b""
    return environ_for(case["method"], path=case["path"], body=body,
                       content_type=case["content_type"], query=case["query"],
                       length=length, **extra)


def make_app(case: dict[str, Any], seen: list[Any]) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        seen.append({k: v for k, v in environ.items()
                     if isinstance(v, str) and k.isupper() or k == "wsgi.input_terminated"})
        stream = environ["wsgi.input"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        reads = case["reads"]
        if reads == "all":
            seen.append(stream.read(length) if length else stream.read(-1)
                        if environ.get("wsgi.input_terminated") else b"")
        elif reads == "part":
            seen.append(stream.read(min(case["part"], length)))
        elif reads == "lines" and (length or environ.get("wsgi.input_terminated")):
            seen.append(b"".join(stream.readlines()))
        elif reads == "past" and length:
            seen.append(stream.read(length + 10))
        if case["raises"] == "before":
            raise Boom("before start")
        headers = list(case["app_headers"])
        if case["status"][:3] not in ("204", "304"):  # wsgiref.validate wants it so
            headers.append(("Content-Type", case["response_type"]))
        sent = b"".join(case["chunks"])
        if case["length"] == "right":
            headers.append(("Content-Length", str(len(sent))))
        elif case["length"] == "wrong":
            headers.append(("Content-Length", str(len(sent) + 3)))
        write = start_response(case["status"], headers)
        shape = case["shape"]
        if shape == "write":
            for chunk in case["chunks"]:
                write(chunk)
            if case["raises"] == "after":
                raise Boom("after start")
            return []
        if shape == "file":
            if case["raises"] == "after":
                raise Boom("after start")
            return environ["wsgi.file_wrapper"](io.BytesIO(sent), 7)
        if shape == "generator" or case["raises"] == "after":
            return _body(case)
        return list(case["chunks"])

    return app


def _body(case: dict[str, Any]) -> Any:
    yield from case["chunks"]
    if case["raises"] == "after":
        raise Boom("after start")


def grouping_of(case: dict[str, Any]) -> Any:
    key = case["key"]

    def group(request: Any) -> Any:
        kind = case["grouping"]
        if kind == "key":
            return {"api_key": key, "label": "c", "email": "c@example.com"}
        if kind == "id":
            return {"id": key}
        if kind == "body-key":  # SPEC 6: reading the body in the grouping function works
            request.body  # noqa: B018
            request.POST  # noqa: B018
            return {"api_key": key}
        if kind == "raise":
            raise Boom("grouping failed")
        return {"none": None, "str": key, "int": 5, "list": [key], "int-key": {"api_key": 5},
                "no-key": {"label": key}, "none-key": {"api_key": None},
                "empty-key": {"api_key": ""}}[kind]

    return group


_tags = itertools.count()
#: Logs of an earlier example that reached the collector during a later one (hunts print it).
STRAY: list[dict[str, Any]] = []


def tagged(case: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """``case`` with a header naming the example: its logs are told from any an earlier
    example's middleware posts late."""
    tag = f"e{next(_tags)}"
    return {**case, "headers": [*case["headers"], ("X-Example", tag)]}, tag


def own_logs(collector: Collector, tag: str) -> list[dict[str, Any]]:
    mine = []
    for log in collector.logs:
        headers = log["request"]["log"]["entries"][0]["request"]["headers"]
        if {"name": "X-Example", "value": tag} in headers:
            mine.append(log)
        else:
            STRAY.append(log)
    return mine


@pytest.fixture(scope="module")
def collector() -> Any:
    """One collector for all the examples (each clears what it received)."""
    started = Collector().start()
    yield started
    started.stop()


def run(app: Any, environ: dict[str, Any]) -> tuple[Any, list[str], list[str]]:
    docs: list[str] = []
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        try:
            result: Any = call(app, environ)
            docs = [v for k, v in result.headers if k == "x-documentation-url"]
            outcome: Any = (result.status,
                            [h for h in result.headers if h[0] != "x-documentation-url"],
                            result.body)
        except Exception as exc:  # compared bare against wrapped
            outcome = (type(exc), str(exc))
    return outcome, sorted(f"{w.category.__name__}: {w.message}" for w in said
                           if "readme" not in str(w.filename)), docs


def body_size(case: dict[str, Any]) -> int:
    """The request's bodySize: the bytes received (SPEC 4; a client that declared more
    than it sent too: the comment says of how many), under werkzeug's lint too (servers11:
    the capture sees the server's input through its InputStream, as through
    wsgiref.validate's, and reads the rest the app left)."""
    framing, body = case["framing"], case["body"]
    if framing == "absent":
        return 0
    if framing == "short":
        return max(len(body) - 5, 0)
    return len(body)


def config_for(case: dict[str, Any], collector: Collector) -> MetricsApiConfig:
    """The same options for the WSGI and the ASGI run: inline, one log a POST, the
    case's grouping function, the denylist its planted value is under."""
    return MetricsApiConfig(
        api_key="rdme_hostile13", metrics_api=collector.url, buffer_length=1,
        background_worker_mode=False, timeout=INLINE_TIMEOUT, base_log_url="https://docs.example.com",
        grouping_function=grouping_of(case), denylist=["secret_field"])


def check_exchange(case: dict[str, Any], collector: Collector) -> None:
    from werkzeug.middleware.lint import LintMiddleware

    with collector._cond:
        collector.received.clear()
    case, tag = tagged(case)
    config = config_for(case, collector)
    seen_bare: list[Any] = []
    seen_wrapped: list[Any] = []
    middleware = MetricsMiddleware(validated_inside_lint(make_app(case, seen_wrapped)), config)
    try:
        linted = LintMiddleware if case["lint"] else (lambda app: app)
        bare, bare_said, _ = run(validator(linted(validated_inside_lint(
            make_app(case, seen_bare)))), environ_of(case))
        wrapped, wrapped_said, docs = run(validator(linted(middleware)), environ_of(case))
    finally:
        middleware.close()
    assert seen_wrapped == seen_bare
    assert wrapped == bare
    # The linter above the middleware sees the middleware's reads, not the app's: the
    # wrapped run may say less about the input, never anything the bare run does not.
    assert set(wrapped_said) <= set(bare_said)
    posted = b"".join(r.body for r in collector.received)
    if case["grouping"] in ("key", "id", "body-key"):  # else the key is a value it sent
        assert case["key"].encode() not in posted
    assert case["secret"].encode() not in posted
    logs = own_logs(collector, tag)
    identified = case["method"] != "OPTIONS" and (case["grouping"] in ("key", "id") or (
        # webob raises reading a body the client cut short, in the grouping function too
        case["grouping"] == "body-key" and case["framing"] != "long"))
    if case["grouping"] in ("none", "raise", "str", "int", "list") or not identified and not logs:
        assert logs == [] and docs == []
        return
    assert len(logs) == 1, f"{len(logs)} logs"
    (log,) = logs
    if len(wrapped) == 3:  # the app answered: the header points to the log
        assert docs == [f"https://docs.example.com/logs/{log['_id']}"]
    assert_valid_log(log)
    assert validate_log(log) == []
    entry = log["request"]["log"]["entries"][0]
    assert entry["request"]["bodySize"] == body_size(case)
    if len(bare) == 2:  # the app raised
        return
    status, _headers, body = bare
    code = int(status.split()[0])
    assert entry["response"]["status"] == code
    if case["shape"] == "file":
        return
    sent = 0 if case["method"] == "HEAD" or code < 200 or code in (204, 304) else len(body)
    assert entry["response"]["content"]["size"] == sent
    assert entry["response"]["bodySize"] in (sent, -1)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=exchanges())
def test_a_whole_wsgi_exchange_is_the_same_wrapped_and_logged_once(
        collector: Collector, case: dict[str, Any]) -> None:
    check_exchange(case, collector)


# -- the same exchanges under ASGI, through a strict in-process server -----------------


def asgi_request_of(case: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The scope and the ``http.request`` messages of ``case``: the body in three pieces;
    declared long, the client stops early (the last message says more is coming)."""
    body, framing = case["body"], case["framing"]
    headers = [(name.lower().encode("latin-1"), value.encode("latin-1"))
               for name, value in case["headers"]]
    if case["content_type"] is not None:
        headers.append((b"content-type", case["content_type"].encode("latin-1")))
    if framing == "short":
        body = body[:max(len(body) - 5, 0)]
    if framing == "absent":
        body = b""
    if framing == "chunked":
        headers.append((b"transfer-encoding", b"chunked"))
    elif framing != "absent":
        declared = len(body) + (7 if framing == "long" else 0)
        headers.append((b"content-length", str(declared).encode()))
    third = len(body) // 3
    messages = body_messages(*[part for part in (body[:third], body[third:2 * third],
                                                 body[2 * third:]) if part])
    if framing == "long":
        messages[-1]["more_body"] = True
    path = case["path"].encode("latin-1")
    scope = http_scope(case["method"], headers=headers,
                       query=case["query"].encode("latin-1"))
    scope["raw_path"] = path
    scope["path"] = unquote(path.decode("latin-1"), "latin-1")
    return scope, messages


def make_asgi_app(case: dict[str, Any], seen: list[Any]) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        # The nesting mark is written while the project has another live middleware
        # (an earlier example's, not yet collected): readme_metrics/capture/nesting.py.
        seen.append({k: v for k, v in scope.items() if k != MARK})
        reads = case["reads"]
        if reads in ("all", "lines", "past"):
            while True:
                message = await receive()
                seen.append(message)
                if message["type"] != "http.request" or not message.get("more_body"):
                    break
            if reads == "past":
                seen.append(await receive())
        elif reads == "part":
            seen.append(await receive())
        if case["raises"] == "before":
            raise Boom("before start")
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                   for k, v in case["app_headers"]]
        if case["status"][:3] not in ("204", "304"):
            headers.append((b"content-type", case["response_type"].encode("latin-1")))
        sent = b"".join(case["chunks"])
        if case["length"] == "right":
            headers.append((b"content-length", str(len(sent)).encode()))
        elif case["length"] == "wrong":
            headers.append((b"content-length", str(len(sent) + 3).encode()))
        await send({"type": "http.response.start", "status": int(case["status"][:3]),
                    "headers": headers})
        for chunk in case["chunks"]:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if case["raises"] == "after":
            raise Boom("after start")
        await send({"type": "http.response.body", "body": b""})

    return app


def check_asgi_exchange(case: dict[str, Any], collector: Collector) -> None:
    from readme_metrics.asgi import MetricsMiddleware as AsgiMiddleware

    with collector._cond:
        collector.received.clear()
    case, tag = tagged(case)
    config = config_for(case, collector)
    scope, messages = asgi_request_of(case)
    reads = case["reads"]
    then = "disconnect" if reads == "past" or case["framing"] == "long" else "wait"
    seen_bare: list[Any] = []
    seen_wrapped: list[Any] = []
    middleware = AsgiMiddleware(make_asgi_app(case, seen_wrapped), config)
    delivered: list[bytes] = []
    try:
        bare = asyncio.run(asgi_serve(make_asgi_app(case, seen_bare), dict(scope),
                                      [dict(m) for m in messages], then))
        wrapped = asyncio.run(asgi_serve(middleware, dict(scope), [dict(m) for m in messages],
                                         then, delivered))
    finally:
        middleware.close()
    assert seen_wrapped == seen_bare
    assert asgi_error_of(wrapped) == asgi_error_of(bare)
    assert without_docs_header(wrapped.sent) == bare.sent
    posted = b"".join(r.body for r in collector.received)
    if case["grouping"] in ("key", "id", "body-key"):
        assert case["key"].encode() not in posted
    assert case["secret"].encode() not in posted
    logs = own_logs(collector, tag)
    if case["grouping"] in ("none", "raise", "str", "int", "list"):
        assert logs == []
        return
    if case["method"] != "OPTIONS" and (case["grouping"] in ("key", "id") or (
            case["grouping"] == "body-key" and case["framing"] != "long")):
        assert len(logs) == 1, f"{len(logs)} logs"
    assert len(logs) <= 1
    if not logs:
        return
    (log,) = logs
    assert_valid_log(log)
    assert validate_log(log) == []
    entry = log["request"]["log"]["entries"][0]
    assert entry["request"]["bodySize"] == body_size(case)
    starts = [m for m in bare.sent if m["type"] == "http.response.start"]
    code = starts[0]["status"] if starts else 500
    assert entry["response"]["status"] == code
    sent = 0 if case["method"] == "HEAD" or code < 200 or code in (204, 304) else len(
        b"".join(delivered))
    assert entry["response"]["content"]["size"] == sent


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=exchanges())
def test_a_whole_asgi_exchange_is_the_same_wrapped_and_logged_once(
        collector: Collector, case: dict[str, Any]) -> None:
    check_asgi_exchange(case, collector)
