"""The caller's key and credential headers never leave in clear (issue 12.1, SPEC 6).

Table tests over :func:`readme_metrics.har.build_log`, and the README's own quick start
(its grouping function reads ``X-Api-Key``) end to end: a real wsgiref server, the
WSGI middleware under ``wsgiref.validate`` and werkzeug's LintMiddleware, and a real
collector on 127.0.0.1 whose received bytes are searched for the key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl, quote, quote_plus, unquote, unquote_plus, urlsplit
from wsgiref.validate import validator

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.middleware.lint import LintMiddleware

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.capture.latin1 import header_text
from readme_metrics.delivery import encode
from readme_metrics.exchange import Group
from readme_metrics.har import CREDENTIAL_HEADERS, Redactor, build_log
from readme_metrics.har.credentials import MAX_SPELLED_KEY, MIN_SUBSTRING_KEY
from readme_metrics.masking import is_masked, mask
from tests.support.exchanges import body_on, make_exchange
from tests.support.fake_api import Collector
from tests.support.har_check import assert_valid_log
from tests.support.wsgi import ThreadedWSGIServer
from tests.test_readme import code_blocks, readme_sections

KEY = "owlbert-key-0123"
SHORT = "k42"
MASKED = mask(KEY)


def sent(exchange: Any, key: str = KEY, **options: Any) -> tuple[dict[str, Any], str]:
    """(the log as sent, its JSON text) for an exchange of caller ``key``."""
    exchange.group = Group(key, "Owlbert")
    log = json.loads(json.dumps(build_log(exchange, **options), ensure_ascii=False))
    assert_valid_log(log)
    return log, json.dumps(log, ensure_ascii=False)


def entry(log: dict[str, Any]) -> dict[str, Any]:
    return log["request"]["log"]["entries"][0]


def with_body(content_type: str, body: bytes, **changes: Any) -> Any:
    return make_exchange(method="POST", request_headers=[("Content-Type", content_type)],
                         request_body=body, request_body_size=len(body), **changes)


WHERE_CASES = [
    pytest.param(make_exchange(request_headers=[("X-Api-Key", KEY)]), id="x-api-key"),
    pytest.param(make_exchange(request_headers=[("X-Custom-Caller", KEY)]), id="any-header"),
    pytest.param(make_exchange(request_headers=[("X-Custom", f"key={KEY};v=1")]),
                 id="inside-a-header"),
    pytest.param(make_exchange(request_headers=[("Referer", f"http://h/p?k={KEY}")]),
                 id="referer"),
    pytest.param(make_exchange(url=f"http://h/p?api_key={KEY}&x=1"), id="query"),
    pytest.param(make_exchange(url=f"http://h/keys/{KEY}/usage"), id="url-path"),
    pytest.param(make_exchange(url=f"http://h/p?k={quote('owlbert key+é')}"),
                 id="query-percent-encoded"),
    pytest.param(make_exchange(url=f"http://h/p?k={quote_plus('owlbert key+é')}"),
                 id="query-form-encoded"),
    pytest.param(make_exchange(request_headers=[("Cookie", f"key={KEY}")]), id="cookie"),
    pytest.param(with_body("application/x-www-form-urlencoded", f"api_key={KEY}".encode()),
                 id="form"),
    pytest.param(with_body("multipart/form-data; boundary=B", (
        f'--B\r\nContent-Disposition: form-data; name="key"\r\n\r\n{KEY}\r\n--B--\r\n'
    ).encode()), id="multipart"),
    pytest.param(with_body("application/json", json.dumps({"a": [{"k": KEY}]}).encode()),
                 id="json"),
    pytest.param(with_body("text/plain", f"my key is {KEY}".encode()), id="text"),
    pytest.param(make_exchange(response_headers=[("Content-Type", "application/json"),
                                                 ("X-Echo", KEY)],
                               response_body=json.dumps({"key": KEY}).encode(),
                               response_body_size=40), id="response"),
    pytest.param(make_exchange(status=302, response_headers=[("Location", f"/p?k={KEY}")]),
                 id="location"),
    # The status line's reason phrase is the app's text too; so is a status with no
    # status code, quoted in the response's comment.
    pytest.param(make_exchange(status=401, status_text=f"Unknown key {KEY}"),
                 id="status-text"),
    pytest.param(make_exchange(status=2001, status_text=f"Unknown key {KEY}"),
                 id="status-comment"),
]


@pytest.mark.parametrize("exchange", WHERE_CASES)
def test_the_callers_key_is_masked_wherever_it_was(exchange: Any) -> None:
    key = "owlbert key+é" if "owlbert" in exchange.url and "é" in unquote_plus(exchange.url) \
        else KEY
    log, text = sent(exchange, key)
    assert key not in text and quote(key, safe="") not in text
    assert quote_plus(key, safe="") not in text
    assert log["group"]["id"] == mask(key)
    assert mask(key) in text or quote(mask(key), safe="") in text


@pytest.mark.parametrize(
    ("exchange", "path", "expected"),
    [
        pytest.param(make_exchange(url=f"http://h/p?k={SHORT}&x={SHORT}x"),
                     ("request", "queryString"),
                     [{"name": "k", "value": mask(SHORT)}, {"name": "x", "value": "k42x"}],
                     id="query-whole-value-only"),
        pytest.param(make_exchange(request_headers=[("X-Id", SHORT), ("X-Note", "k42 apples")]),
                     ("request", "headers"),
                     [{"name": "X-Id", "value": mask(SHORT)},
                      {"name": "X-Note", "value": "k42 apples"}], id="header-whole-value-only"),
        pytest.param(with_body("application/json", b'{"id": "k42", "note": "k42 apples"}'),
                     ("request", "postData", "text"),
                     # As sent (layout, numbers, escapes), the key's string replaced.
                     '{"id": "@", "note": "k42 apples"}'.replace("@", mask(SHORT)),
                     id="json-whole-value-only"),
        # A redirect's fragment of k=v pairs, as its query (OAuth's implicit flow).
        pytest.param(make_exchange(status=302, response_headers=[
            ("Location", f"https://app/cb#token={SHORT}&state={SHORT}x")]),
            ("response", "redirectURL"),
            f"https://app/cb#token={quote(mask(SHORT), safe='')}&state={SHORT}x",
            id="fragment-whole-value-only"),
        # Where a whole JSON string is it, in a JSON document a value holds (one level).
        pytest.param(with_body("application/x-www-form-urlencoded",
                               b"d=" + quote('{"id": "k42", "n": "k42 apples"}').encode()),
                     ("request", "postData", "params"),
                     [{"name": "d",
                       "value": '{"id": "@", "n": "k42 apples"}'.replace("@", mask(SHORT))}],
                     id="json-in-a-form-value"),
        pytest.param(with_body("multipart/form-data; boundary=B",
                               b'--B\r\nContent-Disposition: form-data; name="d"\r\n\r\n'
                               b'["k42"]\r\n--B--\r\n'),
                     ("request", "postData", "params"),
                     [{"name": "d", "value": json.dumps([mask(SHORT)])}],
                     id="json-in-a-multipart-field"),
        pytest.param(make_exchange(url="http://h/p?f=" + quote('{"id":"k42"}', safe="")),
                     ("request", "url"),
                     "http://h/p?f=" + quote(json.dumps({"id": mask(SHORT)},
                                                        separators=(",", ":")), safe=""),
                     id="json-in-a-query-value"),
        pytest.param(make_exchange(request_headers=[("X-Data", '{"id": "k42", "n": 42}')]),
                     ("request", "headers"),
                     [{"name": "X-Data",
                       "value": '{"id": "@", "n": 42}'.replace("@", mask(SHORT))}],
                     id="json-in-a-header"),
        pytest.param(with_body("application/json", json.dumps(
                         {"m": json.dumps({"id": "k42", "s": json.dumps(["k42"])})}).encode()),
                     ("request", "postData", "text"),
                     json.dumps({"m": json.dumps({"id": mask(SHORT), "s": mask(SHORT)},
                                                 separators=(",", ":"))},
                                separators=(",", ":")),
                     id="json-in-a-json-string-deeper-hidden-whole"),
        pytest.param(make_exchange(request_headers=[("Referer", SHORT), ("Origin", SHORT)]),
                     ("request", "headers"),
                     [{"name": "Referer", "value": mask(SHORT)},
                      {"name": "Origin", "value": mask(SHORT)}], id="url-header-whole-value"),
        # A JSON body sent as a form is one field's name.
        pytest.param(with_body("application/x-www-form-urlencoded", b'{"id": "k42"}'),
                     ("request", "postData", "params"),
                     [{"name": '{"id": "@"}'.replace("@", mask(SHORT)), "value": ""}],
                     id="json-sent-as-a-form"),
        pytest.param(make_exchange(response_headers=[
                         ("Content-Type", "application/x-www-form-urlencoded")],
                         response_body=b'{"id": "k42"}', response_body_size=13),
                     ("response", "content", "text"),
                     '{"id": "@"}'.replace("@", mask(SHORT)),
                     id="json-answered-as-a-form"),
        # The key spelled with JSON escapes (review10): masked in a header, a query value
        # and a form field as in a body.
        pytest.param(make_exchange(request_headers=[
                         ("X-Data", '{"id": "k\\u0034\\u0032", "n": 42}')]),
                     ("request", "headers"),
                     [{"name": "X-Data",
                       "value": '{"id": "@", "n": 42}'.replace("@", mask(SHORT))}],
                     id="json-escaped-in-a-header"),
        pytest.param(make_exchange(url="http://h/p?f=" + quote('{"id":"k\\u0034\\u0032"}',
                                                               safe="")),
                     ("request", "url"),
                     "http://h/p?f=" + quote(json.dumps({"id": mask(SHORT)},
                                                        separators=(",", ":")), safe=""),
                     id="json-escaped-in-a-query-value"),
        pytest.param(with_body("application/x-www-form-urlencoded",
                               b"d=" + quote('{"id":"k\\u0034\\u0032"}', safe="").encode()),
                     ("request", "postData", "params"),
                     [{"name": "d", "value": json.dumps({"id": mask(SHORT)},
                                                        separators=(",", ":"))}],
                     id="json-escaped-in-a-form-field"),
        # Its quotes escaped twice: a document in a string in the string.
        pytest.param(with_body("application/json", json.dumps(
                         {"m": json.dumps({"n": json.dumps({"id": "k42"})})}).encode()),
                     ("request", "postData", "text"),
                     json.dumps({"m": json.dumps({"n": mask(SHORT)}, separators=(",", ":"))},
                                separators=(",", ":")),
                     id="json-in-a-json-string-in-a-json-string"),
    ],
)
def test_a_short_key_is_masked_as_a_whole_value_only(exchange: Any, path: tuple[str, ...],
                                                     expected: Any) -> None:
    node: Any = entry(sent(exchange, SHORT)[0])
    for step in path:
        node = node[step]
    assert node == expected


@pytest.mark.parametrize(("key", "query"), [
    pytest.param(SHORT, '{"id":"k42"}=1', id="raw"),
    pytest.param(SHORT, "%7B%22id%22%3A%22%6B%34%32%22%7D=1", id="percent-encoded"),
    pytest.param("k 2", '{"id":"k+2"}=1', id="form-encoded-space"),
])
def test_a_short_key_in_a_json_query_name_is_masked_in_query_string(key: str,
                                                                     query: str) -> None:
    """queryString's names are looked at one by one (the url's query is not: a short key
    is masked there as a whole value only), however the query spells them."""
    log, _ = sent(make_exchange(url="http://h/p?" + query), key)
    assert entry(log)["request"]["queryString"] == [
        {"name": json.dumps({"id": mask(key)}, separators=(",", ":")), "value": "1"}]


@pytest.mark.parametrize("where", ["url", "referer", "form-response"])
def test_a_long_key_json_escaped_in_a_query_value_is_masked(where: str) -> None:
    """A JSON document in a query value escapes what a JSON writer escapes (PHP's
    json_encode writes \\/ for every slash, most writers \\u00e9), then percent-encoded:
    the url, its queryString and a URL header agree, the key in none of them."""
    key = "Qv7/owl\u00e9bert"
    value = quote(json.dumps({"k": key}).replace("/", "\\/"), safe="")
    exchange = {
        "url": lambda: make_exchange(url=f"http://h/p?f={value}&a=1"),
        "referer": lambda: make_exchange(request_headers=[("Referer", f"http://h/p?f={value}")]),
        "form-response": lambda: form_answer(f"f={value}&a=1"),
    }[where]()
    log, text = sent(exchange, key)
    escaped = json.dumps(key).replace("/", "\\/")[1:-1]
    assert quote(escaped, safe="") not in text and escaped not in text
    request = entry(log)["request"]
    assert request["queryString"] == [{"name": name, "value": value} for name, value in
                                      parse_qsl(urlsplit(request["url"]).query)]
    assert mask(key) in unquote(text)


def test_url_stays_valid_and_matches_query() -> None:
    log, _ = sent(make_exchange(url=f"http://h/p?api_key={KEY}&x=1"))
    request = entry(log)["request"]
    assert request["url"] == f"http://h/p?api_key={quote(MASKED, safe='')}&x=1"
    assert request["queryString"][0] == {"name": "api_key", "value": MASKED}


def test_json_body_stays_byte_exact_without_the_key() -> None:
    body = b'{ "a" : 1 }'
    log, _ = sent(with_body("application/json", body))
    assert entry(log)["request"]["postData"]["text"] == body.decode()


@pytest.mark.parametrize("name", sorted(CREDENTIAL_HEADERS))
def test_credential_headers_are_masked_by_default(name: str) -> None:
    header = name.title()
    log, _ = sent(make_exchange(request_headers=[(header, "s3cr3t-value")],
                                response_headers=[(header, "s3cr3t-value")]), key="other")
    for side in ("request", "response"):
        assert entry(log)[side]["headers"][0] == {"name": header, "value": mask("s3cr3t-value")}


def test_the_credential_list_names_the_usual_ones() -> None:
    # X-Forwarded-Authorization: the client's Authorization, as Google Cloud's API
    # Gateway and ESPv2 pass it on (Basic credentials in it were sent in base64).
    assert {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
            "api-key", "x-auth-token", "x-access-token",
            "x-forwarded-authorization", "x-auth-key", "x-vault-token"} <= CREDENTIAL_HEADERS


def test_redaction_still_wins_over_masking() -> None:
    log, text = sent(make_exchange(request_headers=[("X-Api-Key", KEY)]),
                     redactor=Redactor(["x-api-key"]))
    assert entry(log)["request"]["headers"][0]["value"] == f"[REDACTED {len(KEY)}]"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.text(st.characters(min_codepoint=33, max_codepoint=0x2FF), min_size=5,
                   max_size=20).map(lambda tail: "Zq9" + tail),
       where=st.sampled_from(["header", "query", "json", "form", "text", "response"]))
def test_any_long_key_never_appears(key: str, where: str) -> None:
    body = {"json": json.dumps({"v": [key]}).encode(), "form": b"v=" + quote(key).encode(),
            "text": key.encode()}.get(where, b"")
    exchange = make_exchange(
        url="http://h/p?v=" + quote(key, safe="") if where == "query" else "http://h/p",
        request_headers=[("X-V", key)] if where == "header" else [
            ("Content-Type", {"json": "application/json", "text": "text/plain"}.get(
                where, "application/x-www-form-urlencoded"))],
        method="POST" if body else "GET", request_body=body, request_body_size=len(body),
        response_body=key.encode() if where == "response" else b"ok",
        response_body_size=len(key.encode()) if where == "response" else 2,
        response_headers=[("Content-Type", "text/plain; charset=utf-8")],
    )
    log, text = sent(exchange, key)
    assert key not in text
    assert key not in json.dumps(log)  # nor \u-escaped


_FILLER = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.,:;{}[]/=~|"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.text(st.sampled_from(_FILLER[:66]), min_size=5, max_size=30).map(
           lambda tail: "Zq9" + tail),
       alphabet=st.sets(st.sampled_from(_FILLER), min_size=1),
       data=st.data(), copies=st.integers(0, 2), side=st.sampled_from(["request", "response"]))
def test_a_large_text_body_is_masked_as_a_small_one(
        key: str, alphabet: set[str], data: st.DataObject, copies: int, side: str) -> None:
    """A body of a kilobyte or more is first searched for the key's rarest characters
    (KeyForms.holds), whichever the body lacks or holds: the key is masked wherever it
    is, and a body without it is sent byte for byte."""
    filler = st.text(st.sampled_from(sorted(alphabet)), min_size=400, max_size=1500)
    pieces = [data.draw(filler) for _ in range(copies + 1)]
    text = key.join(pieces)
    if len(text) < 1024:
        text += " " * (1024 - len(text))
    body = text.encode()
    exchange = body_on(side, [("Content-Type", "text/plain")], body)
    log, _ = sent(exchange, key)
    got = (entry(log)["request"]["postData"]["text"] if side == "request"
           else entry(log)["response"]["content"]["text"])
    assert got == text.replace(key, mask(key))


# -- end to end: the README's quick start -----------------------------------------------------


def quick_start_grouping() -> Callable[[Any], Any]:
    """The grouping function of README's WSGI quick start, as printed there."""
    (code,) = code_blocks(readme_sections()["Quick start: any WSGI app"], "python")
    start = code.index("def grouping_function")
    namespace: dict[str, Any] = {}
    exec(code[start:code.index("\n\n\n", start)], namespace)  # noqa: S102 - README's code
    return namespace["grouping_function"]


def echo_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """Reads the body and answers with what it got, the key in a header too."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    key = environ.get("HTTP_X_API_KEY", "")
    start_response("200 OK", [("Content-Type", "application/json"), ("X-Caller", key)])
    return [json.dumps({"caller": key, "got": body.decode("latin-1")}).encode()]


def test_quick_start_never_sends_the_callers_key(collector: Collector) -> None:
    config = MetricsApiConfig(
        api_key="rdme_project_key", grouping_function=quick_start_grouping(),
        metrics_api=collector.url, readme_api_url=collector.url, buffer_length=1,
    )
    middleware = MetricsMiddleware(echo_app, config)
    app = validator(LintMiddleware(middleware))
    headers = {"X-Api-Key": KEY}
    with ThreadedWSGIServer(app) as server:
        calls = [
            requests.get(f"{server.url}/v1/things?api_key={KEY}", headers=headers,
                         cookies={"key": KEY}, timeout=10),
            requests.post(f"{server.url}/v1/things", json={"token": KEY, "n": 1},
                          headers={**headers, "X-Forwarded-Key": KEY}, timeout=10),
            requests.post(f"{server.url}/v1/form", data={"api_key": KEY}, headers=headers,
                          timeout=10),
            requests.post(f"{server.url}/v1/upload", files={"key": ("k.txt", b"x")},
                          data={"api_key": KEY}, headers=headers, timeout=10),
        ]
        assert all(call.status_code == 200 for call in calls)
        assert calls[0].json()["caller"] == KEY  # the app itself sees the key as sent
        logs = collector.wait_for_logs(len(calls), timeout=30)
    middleware.close()
    assert len(logs) == len(calls)
    raw = b"".join(r.body for r in collector.received if r.path == "/v1/request")
    assert KEY.encode() not in raw
    assert quote(KEY).encode() not in raw
    for log in logs:
        assert_valid_log(log)
        assert log["group"]["id"] == MASKED
        request = entry(log)["request"]
        assert {"name": "X-Api-Key", "value": MASKED} in request["headers"]


def test_readme_lists_every_credential_header() -> None:
    section = readme_sections()["What is sent, and how to keep secrets out"]
    listed = {name.lower() for name in re.findall(r"`([A-Za-z0-9-]+)`", section)}
    assert listed >= CREDENTIAL_HEADERS, sorted(CREDENTIAL_HEADERS - listed)


def test_a_scrub_failure_hides_the_bodies_and_keeps_the_log(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from readme_metrics.har import build

    def broken(entry: Any, caller: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(build, "scrub_entry", broken)
    log, text = sent(with_body("application/json", json.dumps({"k": KEY}).encode(),
                               response_body=KEY.encode(), response_body_size=len(KEY)))
    assert KEY not in text
    assert entry(log)["request"]["postData"]["text"] == "[REDACTED]"
    assert entry(log)["response"]["content"]["text"] == "[REDACTED]"


@pytest.mark.parametrize(("key", "body"), [
    pytest.param(SHORT, '{"id": "k42", "n": 1e400}', id="short-key-number-beyond-a-double"),
    pytest.param("owl\u00e9-key-9876", '{"id": "owl\\u00e9-key-9876", "n": -1E999}',
                 id="escaped-key-number-beyond-a-double"),
])
def test_a_json_body_stays_json_when_its_key_is_masked(key: str, body: str) -> None:
    """A number beyond a double (valid JSON) reads as infinity: re-serialised it would be
    ``Infinity``, not JSON. The key is masked all the same, and the body stays JSON."""
    log, _ = sent(with_body("application/json", body.encode()), key)
    text = entry(log)["request"]["postData"]["text"]

    def refuse(constant: str) -> Any:
        raise ValueError(constant)

    document = json.loads(text, parse_constant=refuse)
    assert document["id"] == mask(key)


# -- the key however it is spelled, and wherever a string of the log holds it -----------------


def _strings(node: Any) -> Iterable[str]:
    """Every string of a log, JSON texts parsed and base64 data decoded (as a reader would)."""
    if isinstance(node, dict):
        for name, value in node.items():
            yield name
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node
        if "%" in node or "+" in node:
            yield unquote_plus(node)  # a form's or a url's encoding
            if "%25" in node:  # a link inside a query value: encoded twice
                yield unquote_plus(unquote_plus(node))
        if "\\" in node:  # JSON escapes, read by eye in a text that is no JSON (cut short)
            yield re.sub(r"\\u([0-9A-Fa-f]{4})", lambda found: chr(int(found.group(1), 16)),
                         node).replace("\\/", "/").encode(
                "utf-16-le", "surrogatepass").decode("utf-16-le", "replace")  # pairs joined
        try:
            yield from _strings(json.loads(node))
        except ValueError:
            pass
        prefix, base64_mark, data = node.rpartition(";base64,")
        for encoded in ([data] if base64_mark and prefix.startswith("data:") else [node]):
            try:
                yield base64.b64decode(encoded, validate=True).decode("latin-1")
            except ValueError:
                pass


def _without_mask(text: str, key: str) -> str:
    """``text`` without the key's mask, as is, percent-encoded or read as a form (its "+"
    a space): a key of 4 characters or fewer ends its own mask."""
    for spelling in (mask(key), quote(mask(key), safe=""), unquote_plus(mask(key))):
        text = text.replace(spelling, "")
    return text


def truncated_json(start: str) -> Any:
    """A JSON request body cut after ``start`` (past max_body_bytes): no longer JSON."""
    body = (start[:-1] + ', "pad": "' + "x" * 200 + '"}').encode()
    return make_exchange(method="POST", request_headers=[("Content-Type", "application/json")],
                         request_body=body[:len(start) + 5], request_body_size=len(body))


def answer(text: str, content_type: str) -> Any:
    """An exchange answered with ``text``."""
    return make_exchange(response_headers=[("Content-Type", content_type)],
                         response_body=text.encode(), response_body_size=len(text.encode()))


def form_answer(text: str) -> Any:
    """An exchange answered with the form ``text`` (as an OAuth token endpoint answers)."""
    return answer(text, "application/x-www-form-urlencoded")


SLASH_KEY = "owl/bert-key-0123"
ACCENT_KEY = "owlé-bert-key-0123"
# Letters and "-" percent-encoded though they need no encoding, hex digits in either case.
OVER_ENCODED = "%6Fwlbert%2dkey-012%33"
# As .NET's HttpUtility.UrlEncode writes it: hex digits in lower case.
LOWER_HEX = quote(SLASH_KEY, safe="").lower()
FILE_PART = (
    '--B\r\nContent-Disposition: form-data; name="doc"; filename="{name}"\r\n'
    "Content-Type: text/plain\r\n\r\n{data}\r\n--B--\r\n"
)


@pytest.mark.parametrize(("key", "exchange"), [
    pytest.param(KEY, with_body("application/json", b'{"a": "owlbert\\u002dkey-0123"}'),
                 id="json-unicode-escape"),
    pytest.param(SLASH_KEY, with_body("application/json", b'{"a": ["owl\\/bert-key-0123"]}'),
                 id="json-solidus-escape"),
    pytest.param(SHORT, with_body("application/json", b'{"id": "k\\u00342"}'),
                 id="short-key-json-escape"),
    pytest.param("k\x7f", with_body("application/json", b'{"id": "k\x7f"}'),
                 id="short-key-json-unescaped-control"),
    pytest.param(ACCENT_KEY, with_body("application/json", json.dumps(
        {ACCENT_KEY: 1}, ensure_ascii=False).encode()), id="json-object-key"),
    pytest.param(KEY, with_body("application/json", json.dumps({KEY: 1}).encode()),
                 id="json-object-key-plain"),
    pytest.param(KEY, make_exchange(url=f"http://h/p?{KEY}=1&a=b"), id="query-name"),
    pytest.param(KEY, with_body("application/x-www-form-urlencoded", f"{KEY}=1".encode()),
                 id="form-name"),
    pytest.param(KEY, with_body("multipart/form-data; boundary=B", FILE_PART.format(
        name=f"{KEY}.txt", data="x").encode()), id="multipart-file-name"),
    pytest.param(KEY, with_body("multipart/form-data; boundary=B", FILE_PART.format(
        name="a.txt", data=f"key={KEY}").encode()), id="multipart-file-data"),
    pytest.param(KEY, make_exchange(request_headers=[("Cookie", f"{KEY}=1")]), id="cookie-name"),
    pytest.param("owlbert key 0123", with_body("multipart/form-data; boundary=B", (
        b'--B\r\nContent-Disposition: form-data; name="k"\r\n\r\nowlbert+key+0123\r\n'
        b"--B--\r\n")), id="multipart-field-form-encoded"),
    pytest.param(KEY, with_body("application/octet-stream", b"\x89\xff" + KEY.encode()),
                 id="binary-request"),
    pytest.param(KEY, make_exchange(response_headers=[("Content-Type", "image/png")],
                                    response_body=b"\x89PNG\xff" + KEY.encode(),
                                    response_body_size=5 + len(KEY)), id="binary-response"),
    pytest.param(SLASH_KEY, form_answer(f"access_token=1&caller={quote(SLASH_KEY, safe='')}"),
                 id="form-response-percent-encoded"),
    pytest.param(SHORT, form_answer(f"caller={SHORT}&a=b"), id="short-key-form-response"),
    pytest.param(SLASH_KEY, make_exchange(url=f"http://h/p?k={LOWER_HEX}&a=1"),
                 id="query-lower-case-escapes"),
    pytest.param(SLASH_KEY, make_exchange(request_headers=[("Referer", f"http://h/p?k={LOWER_HEX}")]),
                 id="referer-lower-case-escapes"),
    pytest.param(SLASH_KEY, form_answer(f"caller={LOWER_HEX}"),
                 id="form-response-lower-case-escapes"),
    pytest.param(SLASH_KEY, answer(json.dumps(
        {"next": f"https://h/items?page=2&api_key={quote(SLASH_KEY, safe='')}"}),
        "application/json"), id="json-link-percent-encoded"),
    pytest.param(SLASH_KEY, answer(f'<a href="/items?page=2&amp;api_key={LOWER_HEX}">2</a>',
                                   "text/html"), id="html-link-lower-case-escapes"),
    pytest.param(SLASH_KEY, truncated_json(
        json.dumps({"a": SLASH_KEY}).replace("/", "\\/")), id="truncated-json-solidus-escape"),
    pytest.param(ACCENT_KEY, truncated_json(json.dumps({"a": ACCENT_KEY})),
                 id="truncated-json-unicode-escape"),
    pytest.param(KEY, make_exchange(url=f"http://h/p?k={OVER_ENCODED}&a=1"),
                 id="query-letters-percent-encoded"),
    pytest.param(KEY, make_exchange(url=f"http://h/keys/{OVER_ENCODED}"),
                 id="path-letters-percent-encoded"),
    pytest.param(KEY, make_exchange(request_headers=[("Referer", f"http://h/p?k={OVER_ENCODED}")]),
                 id="referer-letters-percent-encoded"),
    pytest.param(KEY, make_exchange(status=302, response_headers=[
        ("Location", f"/p?k={OVER_ENCODED}")]), id="location-letters-percent-encoded"),
    pytest.param(KEY, form_answer(f"caller={OVER_ENCODED}"),
                 id="form-response-letters-percent-encoded"),
    pytest.param(KEY, truncated_json('{"a": "owlbert\\u002dkey\\u002D0123"}'),
                 id="truncated-json-letters-escaped"),
    pytest.param(SLASH_KEY, truncated_json('{"a": "\\u006fwl\\/bert-key-0123"}'),
                 id="truncated-json-letter-and-solidus-escaped"),
    pytest.param(SHORT, truncated_json('{"id": "k\\u0034\\u0032"}'),
                 id="short-key-truncated-json-escaped"),
    pytest.param(KEY, answer("my key: owlbert\\u002dkey-0123", "text/plain"),
                 id="text-letters-escaped"),
    pytest.param(KEY, answer(json.dumps({"next": f"https://h/items?api_key={OVER_ENCODED}"}),
                             "application/json"), id="json-link-letters-percent-encoded"),
    pytest.param("owlbert key 0123", answer(json.dumps(
        {"next": "https://h/items?api_key=owlbert+key+0123"}), "application/json"),
        id="json-link-space-as-plus"),
    pytest.param(SLASH_KEY, make_exchange(response_headers=[
        ("Link", f'<https://h/items?page=2&api_key={quote(SLASH_KEY, safe="")}>; rel="next"')]),
        id="link-header-percent-encoded"),
    pytest.param(KEY, make_exchange(request_headers=[("X-Original-Uri", f"/p?k={OVER_ENCODED}")]),
                 id="any-header-letters-percent-encoded"),
    pytest.param(SLASH_KEY, with_body("multipart/form-data; boundary=B", (
        '--B\r\nContent-Disposition: form-data; name="next"\r\n\r\n'
        f'/items?api_key={LOWER_HEX}\r\n--B--\r\n').encode()),
        id="multipart-field-percent-encoded"),
    pytest.param(SLASH_KEY, make_exchange(
        url="http://h/p?next=" + quote(f"/items?api_key={quote(SLASH_KEY, safe='')}", safe="")),
        id="query-value-holding-a-link"),
    pytest.param(SLASH_KEY, make_exchange(request_headers=[("Referer", "http://h/login?next="
        + quote(f"/items?api_key={LOWER_HEX}", safe=""))]),
        id="referer-query-value-holding-a-link-lower-case-escapes"),
    pytest.param(KEY, make_exchange(status=302, response_headers=[("Location", "/login?next="
        + quote(f"/items?api_key={OVER_ENCODED}", safe=""))]),
        id="location-query-value-holding-a-link-letters-percent-encoded"),
    pytest.param(SLASH_KEY, form_answer("return_to=" + quote(
        f"https://h/cb?api_key={quote(SLASH_KEY, safe='')}", safe="")),
        id="form-response-value-holding-a-link"),
    pytest.param(SLASH_KEY, answer(json.dumps({"login": "https://h/login?next=" + quote(
        f"/items?api_key={quote(SLASH_KEY, safe='')}", safe="")}), "application/json"),
        id="json-link-holding-a-link"),
    pytest.param(SLASH_KEY, make_exchange(response_headers=[(
        "X-Pagination", json.dumps({"next": f"https://h/items?api_key={SLASH_KEY}"}).replace(
            "/", "\\/"))]), id="header-json-solidus-escaped"),
    pytest.param(KEY, make_exchange(request_headers=[(
        "X-Meta", '{"caller": "owlbert\\u002dkey-0123"}')]), id="header-json-unicode-escape"),
    pytest.param(SLASH_KEY, make_exchange(url="http://h/p?meta=" + quote(
        json.dumps({"k": SLASH_KEY}).replace("/", "\\/"), safe="")),
        id="query-value-json-solidus-escaped"),
])
def test_the_callers_key_is_masked_however_it_is_spelled(key: str, exchange: Any) -> None:
    """SPEC 6: the key never leaves in clear, whether a JSON text escapes it (``\\u002d``,
    ``\\/``), it names a field, a parameter, a cookie or a file, or the body is sent in
    base64 (a reader decodes either at once)."""
    log, _ = sent(exchange, key)
    leaked = [text for text in _strings(log)
              if key in _without_mask(text, key)]
    assert leaked == []
    assert any(mask(key) in text for text in _strings(log))


def test_a_masked_query_name_keeps_url_and_query_string_together() -> None:
    log, _ = sent(make_exchange(url=f"http://h/p?{KEY}=1&a=b"))
    request = entry(log)["request"]
    assert request["url"] == f"http://h/p?{quote(MASKED, safe='')}=1&a=b"
    assert request["queryString"] == [{"name": MASKED, "value": "1"},
                                      {"name": "a", "value": "b"}]


def test_the_pattern_of_any_url_spelling_is_compiled_only_for_a_text_that_needs_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiling it costs about 40 times the rest of a CallerKey, which is built once per
    distinct caller (256 kept): only a url the usual spellings miss and that decodes to
    the key pays for it."""
    from readme_metrics.har import credentials, key_forms

    compiled: list[str] = []

    def counting(key: str) -> Any:
        compiled.append(key)
        return real(key)

    real = key_forms.url_pattern
    monkeypatch.setattr(key_forms, "url_pattern", counting)
    caller = credentials.CallerKey(SLASH_KEY)
    masked = f"http://h/p?k={quote(mask(SLASH_KEY), safe='')}"
    assert caller.url("http://h/p?q=caf%C3%A9") == "http://h/p?q=caf%C3%A9"
    for spelling in [SLASH_KEY, quote(SLASH_KEY, safe="")]:
        assert caller.url(f"http://h/p?k={spelling}") == masked
    assert compiled == []
    assert caller.url(f"http://h/p?k={LOWER_HEX}") == masked
    assert compiled == [SLASH_KEY]


def test_a_short_key_as_a_whole_form_value_is_masked_in_a_response_under_an_allowlist() -> None:
    """A denied Content-Type is redacted in the response's ``mimeType`` too, which then no
    longer says it is a form: the short key, a whole field value the allowlist lets
    through, was then looked for as a whole body and left in clear."""
    log, _ = sent(form_answer(f"caller={SHORT}&b=1"), SHORT,
                  redactor=Redactor(denylist=["content-type"], allowlist=["caller"]))
    content = entry(log)["response"]["content"]
    assert content["mimeType"].startswith("[REDACTED")
    assert content["text"] == f"caller={quote(mask(SHORT), safe='')}&b=%5BREDACTED%201%5D"


@pytest.mark.parametrize(("key", "body", "expected"), [
    pytest.param('"k42"', '"k42"', mask('"k42"'), id="a-json-string-that-is-the-key"),
    pytest.param("42", "42", mask("42"), id="a-json-number-that-is-the-key"),
    pytest.param("12345678", "12345678 ", mask("12345678"), id="a-long-key-number"),
    pytest.param("12345678", '{"id": 12345678, "n": 1}', {"id": mask("12345678"), "n": 1},
                 id="a-long-key-number-in-an-object"),
    pytest.param("12345678", "[9123456780, 1.5]", [f"9{mask('12345678')}0", 1.5],
                 id="a-long-key-inside-a-number"),
    pytest.param("1,2,3,4,5", '{"a": [1,2,3,4,5]}', '{"a": [' + mask("1,2,3,4,5") + "]}",
                 id="a-long-key-across-the-structure"),
])
def test_a_json_body_holding_the_key_outside_a_string_stays_json(
        key: str, body: str, expected: Any) -> None:
    """SPEC 6: masking the key keeps a JSON body JSON. The key is the whole body, or a
    number, or spans the document: masked in place, it left a body that was no JSON; the
    mask goes in a JSON string instead."""
    log, _ = sent(with_body("application/json", body.encode(),
                            response_headers=[("Content-Type", "application/json")],
                            response_body=body.encode(), response_body_size=len(body)), key)
    for side in (entry(log)["request"]["postData"], entry(log)["response"]["content"]):
        assert json.loads(side["text"]) == expected


_KEY_CHARACTERS = st.sampled_from(list("abcXYZ019-_.~%+/= é中😀\"\\&?#"))


def _percent_spelled(key: str, encoded: list[bool], lower: bool) -> str:
    """``key`` in a url, the characters ``encoded`` says percent-encoded, needed or not."""
    spelled = [quote(character, safe="") if not flag else
               "".join(f"%{byte:02X}" for byte in character.encode()) for character, flag in
               zip(key, encoded)]
    return "".join(spelled).lower() if lower else "".join(spelled)


def _json_spelled(key: str, escaped: list[bool]) -> str:
    """``key`` inside a JSON string, the characters ``escaped`` says as \\uXXXX."""
    return "".join(f"\\u{ord(character):04x}" if flag and ord(character) <= 0xFFFF
                   else json.dumps(character, ensure_ascii=flag)[1:-1]
                   for character, flag in zip(key, escaped))


_SPELLED_PLACES = st.sampled_from([
    "url-path", "query", "referer", "location", "form-response", "json-link",
    "link-header", "multipart-field", "json", "json-cut-short", "text",
    "query-value-holding-a-link", "location-holding-a-link", "header-json"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.text(_KEY_CHARACTERS, min_size=5, max_size=14).map(lambda tail: "Qv7" + tail),
       data=st.data(), place=_SPELLED_PLACES)
def test_any_spelling_of_a_long_key_is_masked(key: str, data: st.DataObject,
                                              place: str) -> None:
    """The key percent-encoded character by character, needed or not, hex digits in
    either case, or JSON-escaped character by character, in a url, a form, a link in a
    body, a header or a field, a link inside a query value (encoded twice), or a JSON text
    (cut short or not, or in a header): a reader decodes any of them at once."""
    log, _ = sent(_spelled_somewhere(key, data, place), key)
    leaked = [text for text in _strings(log)
              if key in _without_mask(text, key)]
    assert leaked == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.text(_KEY_CHARACTERS, min_size=MAX_SPELLED_KEY - 2,
                   max_size=3 * MAX_SPELLED_KEY).map(lambda tail: "Qv7" + tail),
       data=st.data(), place=_SPELLED_PLACES)
def test_a_key_too_long_for_a_pattern_is_hidden_however_it_is_spelled(
        key: str, data: st.DataObject, place: str) -> None:
    """A client chooses the key the grouping function reads: past MAX_SPELLED_KEY
    characters no per-character pattern is compiled for it (an 8,000-character key spelled
    oddly once cost 0.5 to 0.9 s of CPU per log), and a text that spells it oddly is
    hidden whole; the key never goes out in clear and the log stays valid."""
    from readme_metrics.har import key_forms

    def refused(key: str, *_: Any) -> Any:
        raise AssertionError(f"a pattern compiled for a key of {len(key)} characters")

    exchange = _spelled_somewhere(key, data, place)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(key_forms, "url_pattern", refused)
        patch.setattr(key_forms, "json_pattern", refused)
        log, _ = sent(exchange, key)
    leaked = [text for text in _strings(log)
              if key in _without_mask(text, key)]
    assert leaked == []


def test_a_key_too_long_for_a_pattern_keeps_the_rest_of_a_value_where_usually_spelled() -> None:
    """Past MAX_SPELLED_KEY only a value that spells the key oddly is hidden whole: one
    holding it as is, percent-encoded or form-encoded keeps the rest of what it says (a
    pagination Link header, a link in a JSON body). A Link header's targets are URLs: the
    mask goes into them percent-encoded, so they stay URLs."""
    key = "Qv7/" + "k" * MAX_SPELLED_KEY
    encoded = quote(key, safe="")
    link = f'<https://h/p?page=2&k={encoded}>; rel="next", <https://h/p?k={key}>; rel="self"'
    body = json.dumps({"next": f"https://h/p?page=2&k={encoded}", "n": 1})
    log, text = sent(make_exchange(
        response_headers=[("Link", link), ("Content-Type", "application/json")],
        response_body=body.encode(), response_body_size=len(body)), key)
    assert key not in text and encoded not in text
    headers = {header["name"]: header["value"] for header in entry(log)["response"]["headers"]}
    quoted = quote(mask(key), safe="")
    assert headers["Link"] == (f'<https://h/p?page=2&k={quoted}>; rel="next", '
                               f'<https://h/p?k={quoted}>; rel="self"')
    assert json.loads(entry(log)["response"]["content"]["text"]) == {
        "next": f"https://h/p?page=2&k={quoted}", "n": 1}


def _spelled_somewhere(key: str, data: st.DataObject, place: str) -> Any:
    """An exchange carrying ``key`` at ``place``, percent-encoded or JSON-escaped
    character by character as drawn (needed or not, hex digits in either case)."""
    flags = data.draw(st.lists(st.booleans(), min_size=len(key), max_size=len(key)))
    in_url = _percent_spelled(key, flags, lower=data.draw(st.booleans()))
    in_json = _json_spelled(key, flags)
    return {
        "url-path": lambda: make_exchange(url=f"http://h/keys/{in_url}/usage"),
        "query": lambda: make_exchange(url=f"http://h/p?a=1&k={in_url}&b=2"),
        "referer": lambda: make_exchange(request_headers=[("Referer", f"http://h/p?k={in_url}")]),
        "location": lambda: make_exchange(status=302, response_headers=[
            ("Location", f"/p?k={in_url}")]),
        "form-response": lambda: form_answer(f"access_token=x&caller={in_url}"),
        "json-link": lambda: answer('{"next": "https://h/p?k=' + in_url + '"}',
                                    "application/json"),
        "link-header": lambda: make_exchange(response_headers=[
            ("Link", f'<https://h/p?page=2&k={in_url}>; rel="next"')]),
        "multipart-field": lambda: with_body("multipart/form-data; boundary=B", (
            '--B\r\nContent-Disposition: form-data; name="next"\r\n\r\n'
            f"/p?k={in_url}\r\n--B--\r\n").encode()),
        "json": lambda: answer('{"caller": "' + in_json + '", "n": 1}', "application/json"),
        "json-cut-short": lambda: truncated_json('{"caller": "' + in_json + '"}'),
        "text": lambda: answer("caller " + in_json, "text/plain; charset=utf-8"),
        "query-value-holding-a-link": lambda: make_exchange(
            url="http://h/p?next=" + quote(f"/p?k={in_url}", safe="")),
        "location-holding-a-link": lambda: make_exchange(status=302, response_headers=[
            ("Location", "/login?next=" + quote(f"https://h/p?k={in_url}", safe=""))]),
        "header-json": lambda: make_exchange(response_headers=[
            ("X-Meta", '{"caller": "' + in_json + '"}')]),
    }[place]()


# -- any key the grouping function returns gives a sent log -----------------------------------


def _key_bytes(key: str) -> bytes:
    """The bytes a key read with surrogateescape stands for (\\udc80 is the byte 0x80); any
    other lone surrogate as its own three bytes."""
    return b"".join(character.encode("utf-8", "surrogateescape")
                    if not "\ud800" <= character <= "\udfff" or "\udc80" <= character <= "\udcff"
                    else character.encode("utf-8", "surrogatepass") for character in key)


def _expected_group_id(key: str) -> str:
    """SPEC 4's mask, the key's bytes hashed, its last four characters shown as a UTF-8
    reader shows them (a lone surrogate has no UTF-8: U+FFFD)."""
    digest = hashlib.sha512(_key_bytes(key)).digest()
    tail = re.sub("[\ud800-\udfff]", "\ufffd", key[-4:])
    return "sha512-" + base64.b64encode(digest).decode("ascii") + "?" + tail


def _encoded_both_ways(log: dict[str, Any]) -> bytes:
    """The log as posted, checked to be the same bytes with and without orjson."""
    slow = encode.stdlib_dumps(log)
    if encode.orjson is not None:
        assert encode._orjson_dumps(log) == slow
    return slow


def _spellings(key: str) -> set[str]:
    """How an exchange shows the key's bytes: as text (a header that is no UTF-8 reads as
    latin-1) and percent-encoded."""
    data = _key_bytes(key)
    return {header_text(data.decode("latin-1")), quote(data, safe="")}


# (place, exchange of a caller whose key's bytes are ``data``, read as a header is)
def _carrying(place: str, data: bytes) -> Any:
    text, escaped = header_text(data.decode("latin-1")), quote(data, safe="")
    return {
        "header": lambda: make_exchange(request_headers=[("X-Caller", text)]),
        "credential-header": lambda: make_exchange(request_headers=[("X-Api-Key", text)]),
        "cookie": lambda: make_exchange(request_headers=[("Cookie", f"k={text}")]),
        "query": lambda: make_exchange(url=f"http://h/p?k={escaped}&a=1"),
        "path": lambda: make_exchange(url=f"http://h/keys/{escaped}/usage"),
        "form": lambda: with_body("application/x-www-form-urlencoded",
                                  f"k={escaped}".encode()),
        "multipart": lambda: with_body("multipart/form-data; boundary=B", (
            b'--B\r\nContent-Disposition: form-data; name="k"\r\n\r\n' + data
            + b"\r\n--B--\r\n")),
        "json": lambda: with_body("application/json", b'{"k": "' + data + b'"}'),
        "text": lambda: with_body("text/plain", b"caller " + data),
        "binary": lambda: with_body("application/octet-stream", b"\xff\x00" + data),
        "response-header": lambda: make_exchange(response_headers=[("X-Echo", text)]),
        "location": lambda: make_exchange(status=302, response_headers=[
            ("Location", f"/p?k={escaped}")]),
        "set-cookie": lambda: make_exchange(response_headers=[
            ("Set-Cookie", f"k={text}; Path=/")]),
    }[place]()


_PLACES = ["header", "credential-header", "cookie", "query", "path", "form", "multipart",
           "json", "text", "binary", "response-header", "location", "set-cookie"]


@pytest.mark.parametrize("place", _PLACES)
@pytest.mark.parametrize("key", [
    pytest.param("owlbert-key-\udc80\udcff", id="bytes-no-utf8-read-with-surrogateescape"),
    pytest.param("\udce9t\udce9", id="short-latin-1-read-with-surrogateescape"),
    pytest.param("owlbert-key-\ud800", id="high-surrogate"),
    pytest.param("\udfff\ud800", id="short-reversed-pair"),
    # Past MAX_SPELLED_KEY no pattern is compiled, and no decoding gives \ud800 back: its
    # percent-encoding was left in clear in the url and queryString (found by hypothesis).
    pytest.param("\ud800" + "a" * MAX_SPELLED_KEY, id="high-surrogate-too-long-for-a-pattern"),
])
def test_a_key_with_lone_surrogates_gives_a_log_masked_wherever_it_was(
        key: str, place: str) -> None:
    """A grouping function that reads a header's bytes with errors="surrogateescape" gets
    a key with lone surrogates, which have no UTF-8: building the log raised, and the log
    was dropped as a build error. It is sent, its group id SPEC 4's mask of the bytes the
    key stands for, and the key is masked wherever the exchange shows those bytes."""
    exchange = _carrying(place, _key_bytes(key))
    exchange.group = Group(key, "Owlbert")
    log = build_log(exchange)
    posted = _encoded_both_ways(log)
    sent = json.loads(posted)
    assert sent["group"]["id"] == _expected_group_id(key)
    assert_valid_log(sent)
    masked = {_expected_group_id(key), quote(_expected_group_id(key), safe="")}
    if len(key) >= MIN_SUBSTRING_KEY:
        strings = list(_strings(sent))
    else:  # a short key is masked where a whole value is the key (a mask shows the last
        # four characters of what it masks, a Cookie header's too: SPEC 4)
        strings = [record["value"] for record in _records_of(entry(sent))
                   if not is_masked(record["value"])]
        strings += [entry(sent)["request"]["url"].partition("=")[2].partition("&")[0]]
    leaked = [text for text in strings
              if any(spelling in _without(text, masked) for spelling in _spellings(key))]
    assert leaked == []
    assert any(_expected_group_id(key) in text for text in _strings(sent)) or (
        quote(_expected_group_id(key), safe="") in entry(sent)["request"]["url"])


def _without(text: str, masks: set[str]) -> str:
    for spelling in masks:
        text = text.replace(spelling, "")
    return text


def _records_of(har_entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The HAR name/value records whose whole value may be the key."""
    request, response = har_entry["request"], har_entry["response"]
    return [*request["headers"], *request["queryString"], *request["cookies"],
            *request.get("postData", {}).get("params", []), *response["headers"],
            *response["cookies"]]


def surrogateescape_grouping(req: Any) -> dict[str, str]:
    """Reads X-Api-Key's bytes as UTF-8, those that are not as lone surrogates."""
    raw = req.environ["HTTP_X_API_KEY"].encode("latin-1")
    return {"api_key": raw.decode("utf-8", "surrogateescape"), "label": "Owlbert"}


def test_a_key_read_with_surrogateescape_is_sent_end_to_end(collector: Collector) -> None:
    """The reported case: a real server, the worker in the background (the default) and a
    real collector; every call shows up, none is dropped as a build error."""
    key_bytes = b"owlbert-key-\x80\xff"
    key = key_bytes.decode("utf-8", "surrogateescape")
    middleware = MetricsMiddleware(echo_app, MetricsApiConfig(
        api_key="rdme_project_key", grouping_function=surrogateescape_grouping,
        metrics_api=collector.url, base_log_url="https://docs.example.com", buffer_length=1))
    escaped = quote(key_bytes, safe="")
    with ThreadedWSGIServer(validator(LintMiddleware(middleware))) as server:
        calls = [
            requests.get(f"{server.url}/v1/things?api_key={escaped}",
                         headers={"X-Api-Key": key_bytes, "X-Caller": key_bytes}, timeout=10),
            requests.post(f"{server.url}/v1/form", data=b"api_key=" + escaped.encode(),
                          headers={"X-Api-Key": key_bytes,
                                   "Content-Type": "application/x-www-form-urlencoded"},
                          timeout=10),
        ]
        assert [call.status_code for call in calls] == [200, 200]
        logs = collector.wait_for_logs(len(calls), timeout=30)
    middleware.close()
    assert len(logs) == len(calls)
    assert middleware.stats["dropped"] == 0
    for log in logs:
        assert_valid_log(log)
        assert log["group"]["id"] == _expected_group_id(key)
        request = entry(log)["request"]
        assert {"name": "X-Api-Key", "value": _expected_group_id(key)} in request["headers"]
        leaked = [text for text in _strings(log) for spelling in _spellings(key)
                  if spelling in _without(text, {_expected_group_id(key),
                                                 quote(_expected_group_id(key), safe="")})]
        assert leaked == []


_ANY_KEY = st.lists(
    st.text(st.characters(exclude_categories=()), max_size=12)  # lone surrogates too
    | st.sampled_from(["%", "%41", "%ED%A0%80", "+", " ", "\x00", "\r\n", "\u2028", "\\",
                       '"', "\\u0041", '{"a": [1]}', "null", "1e400", "\udc80", "\ud800",
                       "😀", "a" * 3000]),
    min_size=1, max_size=3).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=_ANY_KEY, place=st.sampled_from(_PLACES), denied=st.booleans())
def test_any_key_gives_a_sent_log(key: str, place: str, denied: bool) -> None:
    """Whatever string the grouping function returns (empty, huge, control characters,
    lone surrogates, astral, "%", JSON syntax), the log is built and posted, the same
    bytes with and without orjson, its group id the key's mask, and a long key is never
    in clear where the exchange carried it."""
    exchange = _carrying(place, _key_bytes(key))
    exchange.group = Group(key, "Owlbert")
    log = build_log(exchange, redactor=Redactor(["k"]) if denied else None)
    sent = json.loads(_encoded_both_ways(log))
    assert_valid_log(sent)
    assert sent["group"]["id"] == _expected_group_id(key)
    if len(key) >= MIN_SUBSTRING_KEY:
        masks = {_expected_group_id(key), quote(_expected_group_id(key), safe="")}
        # What a log holds anyway ("statusText", "application/json") is no leak.
        anyway = "\n".join(_strings(json.loads(_encoded_both_ways(
            build_log(_carrying(place, b"")))))) + "\n" + _expected_group_id("")
        leaked = [text for text in _strings(sent) for spelling in _spellings(key)
                  if spelling in _without(text, masks) and spelling not in anyway]
        assert leaked == []


@pytest.mark.parametrize("body", [
    pytest.param('{"k": "owlbert-key-0123", "z": "\\ud800"}', id="key-as-is"),
    pytest.param('{"k": "owlbert\\u002dkey-0123", "z": "a\\udfff"}', id="key-escaped"),
    pytest.param('{"k": "k42", "z": ["\\udc80"]}', id="short-key"),
    pytest.param('"owlbert\\u002dkey-0123 \\ud800"', id="a-json-string"),
])
def test_masking_a_json_body_keeps_its_lone_surrogate_escapes_escaped(body: str) -> None:
    """A JSON body may escape a lone surrogate (``"\\ud800"``, valid JSON): masking the key
    re-wrote the document with the surrogate itself, which has no UTF-8, so the whole log
    went out ASCII-escaped and the body no longer as sent. The escape stays an escape."""
    key = "k42" if "k42" in body else KEY
    log = build_log(with_body("application/json", body.encode(), group=Group(key, "L")))
    text = entry(log)["request"]["postData"]["text"]
    text.encode("utf-8")  # no lone surrogate
    if body.startswith('"'):
        assert json.loads(text) == f"{mask(key)} \ud800"
    else:
        assert json.loads(text)["k"] == mask(key)
        assert json.loads(text)["z"] == json.loads(body)["z"]


@pytest.mark.parametrize("side", ["request", "response"])
@pytest.mark.parametrize("kept", [4, 9, len(KEY) - 1])
def test_a_body_cut_inside_the_key_leaves_none_of_it(side: str, kept: int) -> None:
    """A body longer than max_body_bytes is recorded up to there: cut inside the key, its
    first characters were sent in clear."""
    body = json.dumps({"pad": "x" * 40, "k": KEY, "z": 1}).encode()
    limit = body.index(KEY.encode()) + kept
    headers = [("Content-Type", "application/json")]
    exchange = body_on(side, headers, body)
    log, text = sent(exchange, max_body_bytes=limit)
    recorded = entry(log)[side]
    recorded = recorded["postData"] if side == "request" else recorded["content"]
    assert "truncated" in recorded["comment"]
    assert KEY[:4] not in text and recorded["text"].endswith(MASKED)


def test_a_body_cut_after_a_few_characters_like_the_keys_keeps_them() -> None:
    """Fewer than 4: too likely to be data ("ow" of "owlbert-key-0123" in "flow")."""
    body = b'{"a": "flow", "b": 1}'
    exchange = make_exchange(method="POST", request_headers=[("Content-Type", "text/plain")],
                             request_body=body, request_body_size=len(body))
    log, _ = sent(exchange, max_body_bytes=body.index(b"ow") + 2)
    assert entry(log)["request"]["postData"]["text"] == '{"a": "flow'


# -- the group's label and email (leak2) ---------------------------------------------------


@pytest.mark.parametrize(("key", "label", "email", "expected"), [
    pytest.param(KEY, KEY, KEY, (MASKED, MASKED), id="long-key-as-both"),
    pytest.param(SHORT, SHORT, "k42@example.com", (mask(SHORT), "k42@example.com"),
                 id="short-key-as-label"),
    pytest.param("12345", "12345", None, (mask("12345"), None), id="number-key-as-label"),
    # The grouping function's own text, built from the key: sent as given (the tests'
    # f"{key}@example.com" emails; README says so).
    pytest.param(KEY, f"Owner of {KEY}", f"{KEY}@example.com",
                 (f"Owner of {KEY}", f"{KEY}@example.com"), id="long-key-inside-kept"),
    pytest.param(SHORT, "k42 apples", "owl@example.com", ("k42 apples", "owl@example.com"),
                 id="short-key-inside-kept"),
    pytest.param(KEY, "Owlbert", "owl@example.com", ("Owlbert", "owl@example.com"),
                 id="other-values-kept"),
])
def test_a_label_or_email_holding_the_key_sends_its_mask(
        key: str, label: str, email: Any, expected: tuple[Any, Any]) -> None:
    """SPEC 6: the key the grouping function returned never leaves in clear; a grouping
    function returning ``{"api_key": k, "label": k}`` (no name at hand) sent k as the
    label, beside its mask in group.id."""
    exchange = make_exchange()
    exchange.group = Group(key, label, email)
    log = build_log(exchange)
    assert_valid_log(log)
    assert (log["group"].get("label"), log["group"].get("email")) == expected
    assert log["group"]["id"] == mask(key)


def test_a_label_holding_a_key_with_lone_surrogates_sends_its_mask() -> None:
    """A key read with surrogateescape, the label its bytes read as latin-1."""
    key = "owlbert-\udce9-key"
    exchange = make_exchange()
    exchange.group = Group(key, _key_bytes(key).decode("latin-1"), key)
    group = json.loads(_encoded_both_ways(build_log(exchange)))["group"]
    assert group == {"id": _expected_group_id(key), "label": _expected_group_id(key),
                     "email": _expected_group_id(key)}


# -- a key given as a number, and numbers in JSON (leak2) --------------------------------------


@pytest.mark.parametrize(("key", "body", "expected"), [
    pytest.param("12345", '{"api_key": 12345, "n": 123456, "m": 1234}',
                 {"api_key": mask("12345"), "n": 123456, "m": 1234}, id="in-an-object"),
    pytest.param("12345", "[12345, 12345.5, -12345, 1]", [mask("12345"), 12345.5, -12345, 1],
                 id="in-an-array"),
    pytest.param("12345", '{"api_key": "12345"}', {"api_key": mask("12345")},
                 id="as-a-string"),
    pytest.param("12.5", '{"price": 12.5, "n": 12.55}', {"price": mask("12.5"), "n": 12.55},
                 id="a-float-key"),
    pytest.param("-42", '{"a": [-42, 42]}', {"a": [mask("-42"), 42]}, id="a-negative-key"),
    pytest.param("12345", '{"m": "{\\"id\\": 12345}"}',
                 {"m": '{"id": "@"}'.replace("@", mask("12345"))},
                 id="in-a-json-document-in-a-string"),
])
def test_a_short_number_key_is_masked_where_a_json_number_is_it(
        key: str, body: str, expected: Any) -> None:
    """A grouping function returning ``{"api_key": 12345}`` (a database id): the key is
    the text "12345", masked where a JSON string is it, but a JSON number that is it
    (``{"api_key": 12345}``, as the caller most likely sent it) went out in clear. It is
    masked as the string is (a long key's number already was), the body staying JSON."""
    log, _ = sent(with_body("application/json", body.encode(),
                            response_headers=[("Content-Type", "application/json")],
                            response_body=body.encode(), response_body_size=len(body)), key)
    for side in (entry(log)["request"]["postData"], entry(log)["response"]["content"]):
        assert json.loads(side["text"]) == expected


@pytest.mark.parametrize(("place", "exchange", "path"), [
    pytest.param("header", make_exchange(request_headers=[("X-Data", '{"id": 12345, "n": 1}')]),
                 ("request", "headers", 0, "value"), id="json-in-a-header"),
    pytest.param("form", with_body("application/x-www-form-urlencoded",
                                   b"d=" + quote('{"id": 12345}').encode()),
                 ("request", "postData", "params", 0, "value"), id="json-in-a-form-value"),
    pytest.param("cut", with_body("application/json", b'{"id": 12345, "pad": "xxxxxxxx"}'),
                 ("request", "postData", "text"), id="json-cut-short"),
])
def test_a_short_number_key_in_json_held_elsewhere_is_masked(
        place: str, exchange: Any, path: tuple[Any, ...]) -> None:
    options = {"max_body_bytes": 20} if place == "cut" else {}
    log, _ = sent(exchange, "12345", **options)
    node: Any = entry(log)
    for step in path:
        node = node[step]
    assert re.search(r"(?<![\w.])12345(?![\w.])", node) is None, node
    assert mask("12345") in node


def number_grouping(req: Any) -> dict[str, Any]:
    """A grouping function that returns the caller's id as a number, and as the label."""
    caller = int(req.headers["X-Caller"])
    return {"api_key": caller, "label": caller}


def test_a_number_key_is_never_sent_in_clear_end_to_end(collector: Collector) -> None:
    config = MetricsApiConfig(
        api_key="rdme_project_key", grouping_function=number_grouping,
        metrics_api=collector.url, readme_api_url=collector.url, buffer_length=1,
    )
    middleware = MetricsMiddleware(echo_app, config)
    app = validator(LintMiddleware(middleware))
    with ThreadedWSGIServer(app) as server:
        answer = requests.post(f"{server.url}/v1/things?caller=12345",
                               json={"caller": 12345, "n": 7},
                               headers={"X-Caller": "12345"}, timeout=10)
        assert answer.status_code == 200
        (log,) = collector.wait_for_logs(1, timeout=30)
    middleware.close()
    assert_valid_log(log)
    assert log["group"] == {"id": mask("12345"), "label": mask("12345")}
    raw = b"".join(r.body for r in collector.received if r.path == "/v1/request").decode()
    assert re.search(r"(?<![\w.?])12345(?![\w.])", raw) is None, raw


# -- Cookie2 and Set-Cookie2 (RFC 2965, obsolete but still sent) (leak2) ----------------------


@pytest.mark.parametrize(("side", "name", "value"), [
    pytest.param("request", "Cookie2", '$Version="1"', id="cookie2"),
    pytest.param("response", "Set-Cookie2", 'sid="s3cr3t-value"; Version="1"; Path="/"',
                 id="set-cookie2"),
    pytest.param("response", "set_cookie2", 'sid="s3cr3t-value"; Version="1"',
                 id="set-cookie2-underscore"),
])
def test_cookie2_headers_are_masked_as_cookie_headers(side: str, name: str, value: str) -> None:
    """RFC 2965's Set-Cookie2 carries cookies as Set-Cookie does (and Cookie2 goes with
    them): its value went out in clear."""
    headers = [(name, value)]
    exchange = (make_exchange(request_headers=headers) if side == "request"
                else make_exchange(response_headers=headers))
    log, text = sent(exchange, key="other")
    assert entry(log)[side]["headers"][0] == {"name": name, "value": mask(value)}
    assert "s3cr3t" not in text


def test_a_denied_cookie_of_set_cookie2_shows_nothing_in_the_mask() -> None:
    """The mask shows a value's last 4 characters: a denied cookie's value is redacted
    first, as in Set-Cookie, so they are not its own."""
    exchange = make_exchange(response_headers=[
        ("Set-Cookie2", 'theme="dark"; Version="1", sid="s3cr3t-9x7z"')])
    log, _ = sent(exchange, key="other", redactor=Redactor(["sid"]))
    value = entry(log)["response"]["headers"][0]["value"]
    assert value == mask('theme="dark"; Version="1", sid=[REDACTED 13]')


_PLACEHOLDER = "\x00key\x00"
_JSON_WITH_THE_KEY = st.recursive(
    st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False),
              st.text(max_size=6), st.just(_PLACEHOLDER), st.booleans(), st.none()),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=4), children, max_size=4)),
    max_leaves=12)


def _numbers_and_strings(node: Any) -> Iterable[Any]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _numbers_and_strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _numbers_and_strings(value)
    else:
        yield node


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(given_key=st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)),
       document=_JSON_WITH_THE_KEY, as_string=st.booleans(),
       place=st.sampled_from(["body", "header", "form", "cut"]), cut=st.integers(1, 200))
def test_a_number_key_never_stays_a_json_value(given_key: Any, document: Any,
                                                as_string: bool, place: str,
                                                cut: int) -> None:
    """Whatever number the grouping function returns as the key, and wherever a JSON
    document holds it as a whole value (a number as the grouping function wrote it, or the
    string of it), no JSON value of the log is it; the label that is it neither."""
    from readme_metrics.grouping import Identifier

    group = Identifier(lambda req: {"api_key": given_key, "label": given_key},
                       logging.getLogger("tests.leak2"))(None)
    assert group is not None
    key = group.id
    literal = json.dumps(key) if as_string else key
    text = json.dumps(document).replace(json.dumps(_PLACEHOLDER), literal)
    data = text.encode()
    if place == "header":
        exchange = make_exchange(request_headers=[("X-Data", text)])
    elif place == "form":
        exchange = with_body("application/x-www-form-urlencoded",
                             b"d=" + quote(text).encode())
    else:
        exchange = with_body("application/json", data,
                             response_headers=[("Content-Type", "application/json")],
                             response_body=data, response_body_size=len(data))
    exchange.group = group
    log = build_log(exchange, max_body_bytes=cut if place == "cut" else 1 << 20)
    assert_valid_log(log)
    assert log["group"]["label"] == mask(key)
    har = entry(log)
    if place == "header":
        texts = [har["request"]["headers"][-1]["value"]]
    elif place == "form":
        texts = [har["request"]["postData"]["params"][0]["value"]]
    else:
        texts = [har["request"]["postData"]["text"], har["response"]["content"]["text"]]
    token = re.compile(r"(?:^|[\[:,]\s*)" + re.escape(key) + r"(?=\s*(?:[,\]}]|$))")
    for sent_text in texts:
        try:
            values = list(_numbers_and_strings(json.loads(sent_text)))
        except ValueError:  # cut short
            assert token.search(sent_text) is None, (key, sent_text)
            assert json.dumps(key) not in sent_text, (key, sent_text)
            continue
        for value in values:
            assert value != key, (key, sent_text)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                assert json.dumps(value) != key, (key, sent_text)
