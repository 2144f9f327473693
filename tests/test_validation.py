"""readme_metrics.validation: the collector's stdlib check of a log (SPEC section 4).

Valid logs come from the real HAR builder; the check must accept every one of them (and
agree with the strict jsonschema check in tests/support/har_check.py), name the problem for each
broken variant, never raise on garbage, and never accept a HAR that the HAR 1.2 JSON
schema rejects.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from typing import Any, Callable, Optional
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.cli.collector.validation import validate_batch, validate_log
from readme_metrics.exchange import Exchange, Group
from readme_metrics.har import build_log
from readme_metrics.redaction import Redactor
from tests.support.contract import API_KEY, DOCS, caller
from tests.support.fake_api import INLINE_TIMEOUT, Collector
from tests.support.har_check import assert_valid_log, har_validator
from tests.support.wsgi import run_wsgi, wsgi_environ


def make_exchange(**changes: Any) -> Exchange:
    """A plausible captured exchange; keyword arguments replace fields."""
    fields: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "started": time.time(),
        "method": "GET",
        "url": "http://api.example.com/items?limit=2&q=a+b",
        "http_version": "HTTP/1.1",
        "request_headers": [("Host", "api.example.com"), ("Accept", "application/json")],
        "client_ip": "203.0.113.7",
        "group": Group("key-alice", "Alice", "alice@example.com"),
        "status": 200,
        "status_text": "OK",
        "response_headers": [("Content-Type", "application/json")],
        "response_body": b'{"items": []}',
        "response_body_size": 13,
        "wait": 0.004,
        "duration": 0.006,
    }
    fields.update(changes)
    return Exchange(**fields)


def _post(content_type: str, body: bytes, **changes: Any) -> Exchange:
    headers = [("Host", "api.example.com"), ("Content-Type", content_type),
               ("Content-Length", str(len(body)))]
    return make_exchange(method="POST", url="http://api.example.com/items",
                         request_headers=headers, request_body=body,
                         request_body_size=len(body), **changes)


MULTIPART = (
    b"--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n"
    b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n"
    b"Content-Type: text/csv\r\n\r\nid,qty\n1,2\n\r\n--XyZ--\r\n"
)

VALID_EXCHANGES = [
    pytest.param(make_exchange(), id="get-json"),
    pytest.param(_post("application/json", b'{"name": "x", "password": "p"}'), id="post-json"),
    pytest.param(_post("application/x-www-form-urlencoded", b"user=a&password=b"), id="form"),
    pytest.param(_post("multipart/form-data; boundary=XyZ", MULTIPART), id="multipart"),
    pytest.param(_post("application/octet-stream", bytes(range(256))), id="binary"),
    pytest.param(make_exchange(
        request_headers=[("Host", "h"), ("Authorization", "Bearer secret-token"),
                         ("Cookie", "session=abc; theme=dark")],
        status=302, status_text="Found",
        response_headers=[("Location", "/login"), ("Set-Cookie", "s=1; Path=/; HttpOnly")],
        response_body=b"", response_body_size=0,
    ), id="credentials-redirect-cookies"),
    pytest.param(make_exchange(response_headers=[("Content-Type", "image/png")],
                               response_body=b"\x89PNG\r\n\x1a\n\x00\xff",
                               response_body_size=10), id="binary-response"),
    pytest.param(make_exchange(status=204, status_text="No Content", response_headers=[],
                               response_body=b"", response_body_size=0), id="no-content"),
    pytest.param(_post("application/json", b'{"a": "' + b"x" * 5000 + b'"}'),
                 id="truncated-body"),
]


@pytest.mark.parametrize("exchange", VALID_EXCHANGES)
@pytest.mark.parametrize("redactor", [
    pytest.param(None, id="plain"),
    pytest.param(Redactor(denylist=["password", "q", "session"]), id="redacted"),
    # Content-Type and Location redacted, mimeType and redirectURL kept (SPEC 6).
    pytest.param(Redactor(allowlist=["name"]), id="allowlist"),
])
def test_real_logs_are_valid(exchange: Exchange, redactor: Redactor | None) -> None:
    log = build_log(exchange, development=True, redactor=redactor, max_body_bytes=1024)
    assert_valid_log(log)  # the reference check agrees that these are good
    assert validate_log(log) == []
    assert validate_log(json.loads(json.dumps(log))) == []  # as received over the wire


def _valid_log() -> dict[str, Any]:
    return build_log(_post("application/json", b'{"name": "x"}'))


def _entry(log: dict[str, Any]) -> dict[str, Any]:
    return log["request"]["log"]["entries"][0]


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(log: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = log
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        if value is _DELETE:
            del node[last]
        else:
            node[int(last) if last.isdigit() else last] = value
    return change


_DELETE = object()
E = "request.log.entries.0"

BROKEN = [
    pytest.param(_set("_id", "not-a-uuid"), "_id: must be a uuid4", id="bad-id"),
    pytest.param(_set("_id", str(uuid.uuid1())), "_id: must be a uuid4", id="uuid1-id"),
    pytest.param(_set("group.id", "rdme_raw_key"), "group.id: must be masked", id="raw-group-id"),
    pytest.param(_set("group", _DELETE), "group: missing", id="no-group"),
    pytest.param(_set("group.label", 7), "group.label: must be a string", id="label-number"),
    pytest.param(_set("group.extra", "x"), "group.extra: is not a group member", id="group-extra"),
    pytest.param(_set("development", "yes"), "development: must be true or false",
                 id="development-string"),
    pytest.param(_set("clientIPAddress", None), "clientIPAddress: must be a string", id="no-ip"),
    pytest.param(_set("surprise", 1), "surprise: is not a log member", id="extra-top-level"),
    pytest.param(_set("request.log.version", "1.1"), "request.log.version: must be '1.2'",
                 id="har-1.1"),
    pytest.param(_set("request.log.creator", _DELETE), "request.log.creator: missing",
                 id="no-creator"),
    pytest.param(_set("request.log.entries", []), "must hold exactly one entry", id="no-entries"),
    pytest.param(_set("request.log.pages", [{"id": "p"}]),
                 "request.log.pages[0].startedDateTime: missing", id="pages"),
    pytest.param(_set(f"{E}.startedDateTime", "2026-11-21 10:31:43"),
                 "startedDateTime: must be ISO 8601 UTC", id="date-format"),
    # The shape of a date is not a date: month 13, day 45, 25 o'clock (spec20).
    pytest.param(_set(f"{E}.startedDateTime", "2026-13-45T10:31:43.123Z"),
                 "startedDateTime: must be ISO 8601 UTC", id="date-no-such-day"),
    pytest.param(_set(f"{E}.startedDateTime", "2026-02-30T25:61:61.123Z"),
                 "startedDateTime: must be ISO 8601 UTC", id="date-no-such-time"),
    pytest.param(_set(f"{E}.time", 999.0), "time: must be the sum of the timings", id="time-sum"),
    pytest.param(_set(f"{E}.timings.wait", -1), "timings.wait: must be a finite number >= 0",
                 id="negative-wait"),
    pytest.param(_set(f"{E}.timings.send", _DELETE), "timings.send: missing", id="no-send"),
    pytest.param(_set(f"{E}.cache", {"beforeRequest": None}), "cache: must be {}", id="cache"),
    pytest.param(_set(f"{E}.request.url", "/items"), "must be an absolute http(s) URL",
                 id="relative-url"),
    pytest.param(_set(f"{E}.request.url", "http://h/a b"), "must not contain blanks",
                 id="url-blank"),
    pytest.param(_set(f"{E}.request.url", "http://[::1/p"), "must be an absolute http(s) URL",
                 id="url-unclosed-bracket"),
    pytest.param(_set(f"{E}.request.url", "http://[zz]/p"), "must be an absolute http(s) URL",
                 id="url-bad-ipv6"),
    pytest.param(_set(f"{E}.request.method", ""), "request.method: must not be empty",
                 id="empty-method"),
    pytest.param(_set(f"{E}.request.headers", {"Host": "h"}), "request.headers: must be an array",
                 id="headers-object"),
    pytest.param(_set(f"{E}.request.headers.0", {"name": "Host"}), "headers[0].value: missing",
                 id="header-no-value"),
    pytest.param(_set(f"{E}.request.headers.0.x", 1), "headers[0].x: is not a HAR 1.2 member",
                 id="header-extra"),
    pytest.param(_set(f"{E}.request.headers", [{"name": "Authorization", "value": "Basic eDp5"}]),
                 "the Authorization value must be masked", id="authorization-clear"),
    pytest.param(_set(f"{E}.request.headers", [{"name": "X-Api-Key", "value": "k-bob"}]),
                 "the X-Api-Key value must be masked", id="api-key-header-clear"),
    pytest.param(_set(f"{E}.response.headers", [{"name": "X-Auth-Token", "value": "t0k3n"}]),
                 "the X-Auth-Token value must be masked", id="auth-token-response-clear"),
    # A credential header named with "_" for "-" is masked by the library (Django reads
    # x_api_key as X-Api-Key): the collector held it to that too (leak2).
    pytest.param(_set(f"{E}.request.headers", [{"name": "x_api_key", "value": "k-bob"}]),
                 "the x_api_key value must be masked", id="underscore-api-key-header-clear"),
    pytest.param(_set(f"{E}.request.headers", [{"name": "Proxy_Authorization",
                                                "value": "Basic eDp5"}]),
                 "the Proxy_Authorization value must be masked",
                 id="underscore-proxy-authorization-clear"),
    pytest.param(_set(f"{E}.response.headers", [{"name": "Set-Cookie2",
                                                 "value": 'sid="abc"; Version="1"'}]),
                 "the Set-Cookie2 value must be masked", id="set-cookie2-clear"),
    pytest.param(_set(f"{E}.request.cookies", [{"name": "sid", "value": "abc"}]),
                 "cookie 'sid' must be masked", id="cookie-clear"),
    pytest.param(_set(f"{E}.request.queryString", [{"name": "a", "value": "1"}]),
                 "queryString: has 1 pairs but the url query has 0", id="query-mismatch"),
    pytest.param(_set(f"{E}.request.headersSize", 120), "request.headersSize: must be -1",
                 id="headers-size"),
    pytest.param(_set(f"{E}.request.bodySize", 1.5), "request.bodySize: must be an integer",
                 id="body-size-float"),
    pytest.param(_set(f"{E}.request.postData", _DELETE), "but no postData", id="no-post-data"),
    pytest.param(_set(f"{E}.request.postData.params", []), "either params or text",
                 id="params-and-text"),
    pytest.param(_set(f"{E}.request.postData.mimeType", "text/plain"),
                 "postData.mimeType: must be the request's Content-Type", id="post-mime"),
    pytest.param(_set(f"{E}.response.status", "200"), "response.status: must be an integer",
                 id="status-string"),
    pytest.param(_set(f"{E}.response.status", 42), "must be a 3-digit HTTP status",
                 id="status-range"),
    pytest.param(_set(f"{E}.response.content.mimeType", "text/html"),
                 "content.mimeType: must be the response's Content-Type", id="content-mime"),
    pytest.param(_set(f"{E}.response.content.encoding", "gzip"), "must be 'base64'",
                 id="content-encoding"),
    pytest.param(_set(f"{E}.response.redirectURL", "/elsewhere"),
                 "redirectURL: must be the Location header", id="redirect"),
    pytest.param(_set(f"{E}.response.content", _DELETE), "response.content: missing",
                 id="no-content"),
    pytest.param(_set(f"{E}.response.comment", 5), "response.comment: must be a string",
                 id="comment-number"),
    pytest.param(_set(f"{E}.request", []), "request: must be an object", id="request-array"),
]


@pytest.mark.parametrize(("change", "expected"), BROKEN)
def test_broken_logs_are_named(change: Callable[[dict[str, Any]], None], expected: str) -> None:
    log = _valid_log()
    change(log)
    problems = validate_log(log)
    assert any(expected in problem for problem in problems), problems
    # The reference check agrees that the log is broken (it may trip on the bad value).
    with pytest.raises((AssertionError, ValueError, KeyError, TypeError)):
        assert_valid_log(log)


@pytest.mark.parametrize(("payload", "expected"), [
    pytest.param({"a": 1}, {-1: ["body: must be a JSON array of logs, got an object"]},
                 id="object"),
    pytest.param([], {-1: ["body: must hold at least one log, got an empty array"]}, id="empty"),
    pytest.param([1], {0: ["log: must be an object, got the number 1"]}, id="number"),
])
def test_batch_shape(payload: Any, expected: dict[int, list[str]]) -> None:
    assert validate_batch(payload) == expected


def test_batch_reports_only_the_invalid_logs() -> None:
    good, bad = _valid_log(), _valid_log()
    bad["development"] = None
    assert list(validate_batch([good, bad, good])) == [1]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_any_json_gives_problems_never_an_exception(value: Any) -> None:
    problems = validate_log(value)
    assert problems and all(isinstance(p, str) for p in problems)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, child in node.items():
            found += _paths(child, prefix + (key,))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += _paths(child, prefix + (index,))
    return found


LOGS_TO_MUTATE = [build_log(p.values[0], redactor=Redactor(denylist=["password"]))
                  for p in VALID_EXCHANGES]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_never_accepts_what_the_har_schema_rejects(data: st.DataObject) -> None:
    """Differential: mutate a real log anywhere; if we say valid, the schema must agree."""
    log = copy.deepcopy(data.draw(st.sampled_from(LOGS_TO_MUTATE)))
    for _ in range(data.draw(st.integers(1, 3))):
        paths = _paths(log)
        path = data.draw(st.sampled_from(paths))
        parent = log
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and data.draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(json_values)
    if validate_log(log) == []:
        har = log["request"]
        assert har_validator().is_valid(har), list(har_validator().iter_errors(har))[:3]


# -- every log the middleware sends passes the check (SPEC 9 x SPEC 4, hypothesis) ---------


_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x2FF), max_size=12)


_REQUEST_HEADERS = st.dictionaries(
    st.sampled_from(["Authorization", "Cookie", "X-Api-Key", "Accept", "X-Empty",
                     "Proxy-Authorization", "User-Agent"]),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20), max_size=4)


_BODIES = st.one_of(
    st.just((None, b"")),
    st.tuples(st.just("application/json"),
              st.dictionaries(_TEXT, _TEXT, max_size=3).map(lambda d: json.dumps(d).encode())),
    st.tuples(st.just("application/x-www-form-urlencoded"),
              st.lists(st.tuples(_TEXT, _TEXT), max_size=3).map(
                  lambda pairs: "&".join(f"{quote(k)}={quote(v)}"
                                         for k, v in pairs).encode())),
    st.tuples(st.sampled_from(["application/octet-stream", "image/png", "text/plain",
                               "application/xml", "application/vnd.api+json"]),
              st.binary(max_size=40)),
    st.tuples(st.none(), st.binary(min_size=1, max_size=40)),
)


_STATUSES = st.sampled_from(["200 OK", "201 Created", "204 No Content", "302 Found",
                             "304 Not Modified", "400 Bad Request", "404 Not Found",
                             "500 Internal Server Error", "599 Whatever", "299 "])


_RESPONSE_HEADERS = st.lists(st.one_of(
    st.tuples(st.just("Content-Type"), st.sampled_from(
        ["application/json", "text/html; charset=utf-8", "image/png", "", "text/plain"])),
    st.tuples(st.just("Set-Cookie"), st.sampled_from(["sid=abc; HttpOnly", "a=b", "x"])),
    st.tuples(st.just("Location"), st.sampled_from(["/next", "https://e.example/x"])),
    st.tuples(st.just("X-Thing"), _TEXT.map(lambda t: t.encode("latin-1", "replace")
                                            .decode("latin-1"))),
), max_size=4)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]),
       path=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=15),
       query=st.lists(st.tuples(_TEXT, _TEXT), max_size=3),
       headers=_REQUEST_HEADERS, body=_BODIES, status=_STATUSES,
       response_headers=_RESPONSE_HEADERS, response_body=st.binary(max_size=40),
       denylist=st.sampled_from([[], ["a", "password"], ["sid"]]),
       host=st.one_of(st.just("api.example.com"),
                      st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E),
                              min_size=1, max_size=12)))
def test_collect_accepts_every_log_the_middleware_sends(
        collector: Collector, method: str, path: str, query: list[tuple[str, str]],
        headers: dict[str, str], body: tuple[Optional[str], bytes], status: str,
        response_headers: list[tuple[str, str]], response_body: bytes,
        denylist: list[str], host: str) -> None:
    """SPEC 9: collect validates each log against the contract, so every log the
    middleware itself sends must pass that check (a strict stand-in that refuses real
    logs would hide what ReadMe receives)."""
    content_type, data = body
    request_headers = dict(headers, Host=host)  # client input, whatever it holds
    if content_type is not None:
        request_headers["Content-Type"] = content_type
    if status.startswith(("204", "304")) or method == "HEAD":
        response_body = b""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response(status, list(response_headers))
        return [response_body]

    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key=API_KEY, grouping_function=caller, metrics_api=collector.url,
        base_log_url=DOCS, buffer_length=1, background_worker_mode=False, timeout=INLINE_TIMEOUT,
        denylist=denylist))
    before = len(collector.logs)
    try:
        environ = wsgi_environ(method, "/" + quote(path, safe="/"),
                               headers=request_headers, body=data,
                               query="&".join(f"{quote(k)}="
                                              f"{quote(v)}" for k, v in query))
        if content_type is None and data:
            environ.pop("CONTENT_TYPE", None)
        result = run_wsgi(middleware, environ)
        assert result.error is None
        assert middleware.flush(5.0) is True
    finally:
        middleware.close()
    logs = collector.logs[before:]
    assert len(logs) == 1
    assert validate_batch(logs) == {}, validate_batch(logs)
    assert_valid_log(logs[0])
