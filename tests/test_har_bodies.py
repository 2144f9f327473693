"""readme_metrics.har: the log object and its HAR 1.2 entry (SPEC section 4).

Every table case goes through ``json.dumps``/``json.loads`` (what is actually sent) and
:func:`tests.support.har_check.assert_valid_log` (the strict HAR 1.2 schema plus the SPEC contract).
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import math
import platform
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any, Callable, Optional
from urllib.parse import quote, quote_plus, urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.exchange import Exchange, Group
from readme_metrics.har import CREATOR, build_entry, build_log
from readme_metrics.masking import mask
from readme_metrics.redaction import Redactor
from tests.support.contract import CALLER, DOCS, exchange, reading_app, spec_mask
from tests.support.exchanges import (
    STARTED,
    entry_of,
    make_exchange,
    post,
    sent_log,
)
from tests.support.fake_api import Collector
from tests.support.har_check import assert_valid_log

PNG = b"\x89PNG\r\n\x1a\n\x00\x00"
PNG_B64 = "iVBORw0KGgoAAA=="
MULTIPART_CT = "multipart/form-data; boundary=XyZ"
MULTIPART = (
    b'--XyZ\r\nContent-Disposition: form-data; name="title"\r\n\r\nh\xc3\xa9llo\r\n'
    b'--XyZ\r\nContent-Disposition: form-data; name="avatar"; filename="me.png"\r\n'
    b"Content-Type: image/png\r\n\r\n" + PNG + b"\r\n"
    b'--XyZ\r\nContent-Disposition: form-data; name="empty"; filename=""\r\n\r\n\r\n'
    b"--XyZ--\r\n"
)
MULTIPART_PARAMS = [
    {"name": "title", "value": "héllo"},
    {"name": "avatar", "fileName": "me.png", "contentType": "image/png",
     "value": f"data:image/png;name=me.png;base64,{PNG_B64}"},
    {"name": "empty", "value": ""},
]


# -- the log object -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        pytest.param(Group("key", "L", "e@x"), {"id": mask("key"), "label": "L", "email": "e@x"},
                     id="full"),
        pytest.param(Group("key"), {"id": mask("key")}, id="id-only"),
        pytest.param(Group("key", email="e@x"), {"id": mask("key"), "email": "e@x"},
                     id="no-label"),
        pytest.param(Group("k", "", ""), {"id": mask("k"), "label": "", "email": ""},
                     id="blank-kept"),
    ],
)
def test_group(group: Group, expected: dict[str, str]) -> None:
    assert sent_log(make_exchange(group=group))["group"] == expected


def test_creator_is_not_shared_between_logs() -> None:
    log = build_log(make_exchange())
    log["request"]["log"]["creator"]["name"] = "changed"
    assert CREATOR["name"] == "readme-metrics (python)"


def test_build_entry_matches_build_log() -> None:
    exchange = post("application/json", b'{"password": "x"}')
    redactor = Redactor(["password"])
    log = build_log(exchange, redactor=redactor)
    assert build_entry(exchange, redactor) == log["request"]["log"]["entries"][0]


# -- dates and timings -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("started", "expected"),
    [
        pytest.param(STARTED, "2026-11-21T10:31:43.123Z", id="milliseconds-floored"),
        pytest.param(0, "1970-01-01T00:00:00.000Z", id="epoch"),
        pytest.param(1.9999, "1970-01-01T00:00:01.999Z", id="never-rounds-up-a-second"),
        pytest.param(1795257103, "2026-11-21T10:31:43.000Z", id="int"),
    ],
)
def test_started_date_time(started: float, expected: str) -> None:
    assert entry_of(make_exchange(started=started))["startedDateTime"] == expected


def test_started_date_time_of_consecutive_logs() -> None:
    """Logs built one after another, within a second, across one, and back again: each
    has its own time (the formatted second is reused only for the same second)."""
    starts = [STARTED, STARTED + 0.5, STARTED + 1, 0.25, STARTED + 0.1, STARTED + 86400]
    got = [entry_of(make_exchange(started=s))["startedDateTime"] for s in starts]
    assert got == ["2026-11-21T10:31:43.123Z", "2026-11-21T10:31:43.623Z",
                   "2026-11-21T10:31:44.123Z", "1970-01-01T00:00:00.250Z",
                   "2026-11-21T10:31:43.223Z", "2026-11-22T10:31:43.123Z"]


@pytest.mark.parametrize(
    "started",
    [
        pytest.param(float("nan"), id="nan"),
        pytest.param(float("inf"), id="inf"),
        pytest.param(-5.0, id="negative"),
        pytest.param(1e20, id="year-beyond-9999"),
    ],
)
def test_impossible_start_still_gives_a_valid_date(started: float) -> None:
    entry_of(make_exchange(started=started))  # assert_valid_log checks the shape


@pytest.mark.parametrize(
    ("wait", "duration", "expected_wait", "expected_receive"),
    [
        pytest.param(0.010, 0.025, 10.0, 15.0, id="plain"),
        pytest.param(0.0123456, 0.05, 12.346, 37.654, id="rounded-to-3-decimals"),
        pytest.param(0.0, 0.0, 0.0, 0.0, id="zero"),
        pytest.param(0.02, 0.01, 20.0, 0.0, id="duration-below-wait"),
        pytest.param(-1.0, 0.5, 0.0, 1500.0, id="negative-wait"),
        pytest.param(float("nan"), 0.5, 0.0, 0.0, id="nan"),
        pytest.param(0.1, float("inf"), 100.0, 0.0, id="infinite"),
        pytest.param(1 / 3, 2 / 3, 333.333, 333.333, id="time-is-exact-sum"),
        pytest.param(0.001001, 0.002051, 1.001, 1.05, id="sum-without-float-noise"),
    ],
)
def test_timings(wait: float, duration: float, expected_wait: float,
                 expected_receive: float) -> None:
    entry = entry_of(make_exchange(wait=wait, duration=duration))
    timings = entry["timings"]
    assert timings == {"send": 0, "wait": expected_wait, "receive": expected_receive}
    assert math.isclose(entry["time"], expected_wait + expected_receive, abs_tol=1e-9)
    assert entry["cache"] == {}


@settings(max_examples=300, deadline=None)
@given(wait=st.floats(0, 100), duration=st.floats(0, 100))
def test_timings_have_no_float_noise(wait: float, duration: float) -> None:
    """Every figure as sent has at most 3 decimals, ``time`` included (issue 12.9)."""
    entry = build_entry(make_exchange(wait=wait, duration=duration))
    figures = [entry["time"], entry["timings"]["wait"], entry["timings"]["receive"]]
    for figure in figures:
        text = json.dumps(figure)
        assert len(text.partition(".")[2]) <= 3, text
    assert entry["time"] == round(figures[1] + figures[2], 3)


# -- url and query string --------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("", [], id="none"),
        pytest.param("a=1&b=2", [("a", "1"), ("b", "2")], id="plain"),
        pytest.param("a=1&a=2", [("a", "1"), ("a", "2")], id="repeated"),
        pytest.param("a=&b", [("a", ""), ("b", "")], id="blank-values"),
        pytest.param("a=1&&b=2&", [("a", "1"), ("b", "2")], id="empty-chunks-skipped"),
        pytest.param("q=caf%C3%A9+au+lait", [("q", "café au lait")], id="utf8-and-plus"),
        pytest.param("q=a%2Bb", [("q", "a+b")], id="encoded-plus"),
        pytest.param("q=%FF%zz%", [("q", "%FF%zz%")], id="invalid-percent-kept"),
        pytest.param("a%20b=c=d", [("a b", "c=d")], id="first-equals-splits"),
        pytest.param("x=1;y=2", [("x", "1;y=2")], id="semicolon-is-not-a-separator"),
    ],
)
def test_query_string(query: str, expected: list[tuple[str, str]]) -> None:
    url = "http://api.example.com:8080/v1/things" + (f"?{query}" if query else "")
    entry = entry_of(make_exchange(url=url))
    assert entry["request"]["url"] == url  # exactly as received
    assert entry["pageref"] == url
    assert [(q["name"], q["value"]) for q in entry["request"]["queryString"]] == expected


@pytest.mark.parametrize(
    ("deny", "allow", "url", "expected_url", "expected_query"),
    [
        pytest.param(
            ["api_key"], [], "https://h/p?page=2&API_KEY=s%3Dcret&x=%zz",
            "https://h/p?page=2&API_KEY=%5BREDACTED%206%5D&x=%zz",
            [("page", "2"), ("API_KEY", "[REDACTED 6]"), ("x", "%zz")], id="denylist",
        ),
        pytest.param(
            [], ["page"], "http://h/p?page=2&token=abc",
            "http://h/p?page=2&token=%5BREDACTED%203%5D",
            [("page", "2"), ("token", "[REDACTED 3]")], id="allowlist",
        ),
        pytest.param(["a"], [], "http://h/p?", "http://h/p?", [], id="empty-query"),
    ],
)
def test_query_redaction(deny: list[str], allow: list[str], url: str, expected_url: str,
                         expected_query: list[tuple[str, str]]) -> None:
    entry = entry_of(make_exchange(url=url), redactor=Redactor(deny, allow))
    assert entry["request"]["url"] == expected_url
    assert entry["pageref"] == expected_url
    assert [(q["name"], q["value"]) for q in entry["request"]["queryString"]] == expected_query


# -- headers, masking and cookies -----------------------------------------------------------

CREDENTIALS = [
    ("Host", "h"),
    ("Content-Type", "application/json"),
    ("Content-Length", "2"),
    ("authorization", "Bearer abcd1234"),
    ("Proxy-Authorization", "Basic eHl6"),
    ("Cookie", "sid=s3cr3t; theme=dark"),
    ("X-Api-Key", "key-5678"),
]


@pytest.mark.parametrize(
    ("redactor", "expected"),
    [
        pytest.param(None, [
            ("Host", "h"), ("Content-Type", "application/json"), ("Content-Length", "2"),
            ("authorization", mask("Bearer abcd1234")),
            ("Proxy-Authorization", mask("Basic eHl6")),
            ("Cookie", mask("sid=s3cr3t; theme=dark")), ("X-Api-Key", mask("key-5678")),
        ], id="credentials-masked-case-kept"),
        pytest.param(Redactor(["x-api-key", "AUTHORIZATION"]), [
            ("Host", "h"), ("Content-Type", "application/json"), ("Content-Length", "2"),
            ("authorization", "[REDACTED 15]"), ("Proxy-Authorization", mask("Basic eHl6")),
            ("Cookie", mask("sid=s3cr3t; theme=dark")), ("X-Api-Key", "[REDACTED 8]"),
        ], id="redacted-not-masked-again"),
        pytest.param(Redactor((), ["host", "cookie"]), [
            ("Host", "h"), ("Content-Type", "[REDACTED 16]"), ("Content-Length", "[REDACTED 1]"),
            ("authorization", "[REDACTED 15]"), ("Proxy-Authorization", "[REDACTED 10]"),
            ("Cookie", mask("sid=s3cr3t; theme=dark")), ("X-Api-Key", "[REDACTED 8]"),
        ], id="allowlist"),
    ],
)
def test_request_headers(redactor: Optional[Redactor],
                         expected: list[tuple[str, str]]) -> None:
    exchange = make_exchange(
        method="POST", request_headers=CREDENTIALS, request_body=b"{}", request_body_size=2,
    )
    entry = entry_of(exchange, redactor=redactor)
    assert [(h["name"], h["value"]) for h in entry["request"]["headers"]] == expected


@pytest.mark.parametrize(
    ("headers", "redactor", "expected"),
    [
        pytest.param([("Cookie", "a=1; b=2")], None,
                     [("a", mask("1")), ("b", mask("2"))], id="plain"),
        pytest.param([("Cookie", "a=1"), ("cookie", "b=2")], None,
                     [("a", mask("1")), ("b", mask("2"))], id="several-headers"),
        pytest.param([("Cookie", ' a = "q v" ;;b=x=y; flag')], None,
                     [("a", mask('"q v"')), ("b", mask("x=y")), ("flag", mask(""))],
                     id="lenient"),
        pytest.param([("Cookie", "=; ; =v")], None, [("", mask("v"))], id="malformed"),
        pytest.param([("Cookie", "sid=abc; theme=dark")], Redactor(["SID"]),
                     [("sid", "[REDACTED 3]"), ("theme", mask("dark"))], id="denylisted"),
        pytest.param([], None, [], id="none"),
    ],
)
def test_request_cookies(headers: list[tuple[str, str]], redactor: Optional[Redactor],
                         expected: list[tuple[str, str]]) -> None:
    entry = entry_of(make_exchange(request_headers=headers), redactor=redactor)
    assert [(c["name"], c["value"]) for c in entry["request"]["cookies"]] == expected


@pytest.mark.parametrize(
    ("set_cookies", "redactor", "expected"),
    [
        pytest.param(
            ["sid=abc; Path=/; Domain=example.com; Expires=Wed, 21 Oct 2026 07:28:00 GMT; "
             "HttpOnly; Secure; SameSite=Lax; Max-Age=60"], None,
            [{"name": "sid", "value": mask("abc"), "path": "/", "domain": "example.com",
              "expires": "2026-10-21T07:28:00.000Z", "httpOnly": True, "secure": True}],
            id="all-attributes",
        ),
        pytest.param(["a=1", "b=2; path=/x; secure"], None,
                     [{"name": "a", "value": mask("1")},
                      {"name": "b", "value": mask("2"), "path": "/x", "secure": True}],
                     id="every-header"),
        pytest.param(["a=1; Expires=not a date; HttpOnly"], None,
                     [{"name": "a", "value": mask("1"), "httpOnly": True}],
                     id="bad-expires-dropped"),
        pytest.param(["a=1; Expires=Wednesday, 21-Oct-26 07:28:00 GMT"], None,
                     [{"name": "a", "value": mask("1"), "expires": "2026-10-21T07:28:00.000Z"}],
                     id="netscape-date"),
        pytest.param([";;", "novalue"], None, [{"name": "novalue", "value": mask("")}],
                     id="malformed"),
        pytest.param(["token=xyz; Path=/"], Redactor(["token"]),
                     [{"name": "token", "value": "[REDACTED 3]", "path": "/"}],
                     id="denylisted"),
    ],
)
def test_response_cookies(set_cookies: list[str], redactor: Optional[Redactor],
                          expected: list[dict[str, Any]]) -> None:
    headers = [("Content-Type", "text/plain")] + [("Set-Cookie", c) for c in set_cookies]
    entry = entry_of(make_exchange(response_headers=headers, response_body=b"ok",
                                   response_body_size=2), redactor=redactor)
    assert entry["response"]["cookies"] == expected
    for header in entry["response"]["headers"][1:]:
        assert header["name"] == "Set-Cookie"
        assert header["value"].startswith(("sha512-", "[REDACTED"))


# -- request body -----------------------------------------------------------------------

DENY = Redactor(["password", "avatar"])

POST_DATA_CASES = [
    pytest.param(post("application/json", b'{ "a": 1 }'),
                 None, {"mimeType": "application/json", "text": '{ "a": 1 }'}, id="json"),
    pytest.param(post("application/vnd.api+json; charset=utf-8", b"[1]"), None,
                 {"mimeType": "application/vnd.api+json; charset=utf-8", "text": "[1]"},
                 id="plus-json"),
    pytest.param(post("application/xml", b"<a>\xc3\xa9</a>"), None,
                 {"mimeType": "application/xml", "text": "<a>é</a>"}, id="xml"),
    pytest.param(post("text/plain; charset=latin-1", b"caf\xe9"), None,
                 {"mimeType": "text/plain; charset=latin-1", "text": "café"},
                 id="declared-charset"),
    pytest.param(post("text/plain; charset=utf-16", "hé".encode("utf-16")), None,
                 {"mimeType": "text/plain; charset=utf-16", "text": "hé"}, id="utf-16"),
    pytest.param(post("text/plain; charset=x-bogus", b"hi"), None,
                 {"mimeType": "text/plain; charset=x-bogus", "text": "hi"},
                 id="unknown-charset-utf8"),
    pytest.param(post("text/plain; charset=base64", b"hi"), None,
                 {"mimeType": "text/plain; charset=base64", "text": "hi"},
                 id="non-text-codec-utf8"),
    pytest.param(post("text/plain; charset=utf-7", b"+2AA-"), None,
                 {"mimeType": "text/plain; charset=utf-7", "text": "+2AA-"},
                 id="codec-yielding-surrogates-utf8"),
    pytest.param(post("text/plain; charset=unicode_escape", b"\\ud800\xff"), None,
                 {"mimeType": "text/plain; charset=unicode_escape", "text": "\\ud800\xff"},
                 id="codec-yielding-surrogates-text-as-latin-1"),
    pytest.param(post("application/octet-stream; charset=unicode_escape", b"\\ud800\xff"),
                 None, {"mimeType": "application/octet-stream; charset=unicode_escape",
                        "text": "XHVkODAw/w==", "comment": "base64"},
                 id="codec-yielding-surrogates-binary"),
    pytest.param(post(None, b"hello"), None, {"mimeType": "text/plain", "text": "hello"},
                 id="no-content-type-text"),
    pytest.param(post(None, PNG), None,
                 {"mimeType": "text/plain", "text": PNG_B64, "comment": "base64"},
                 id="no-content-type-binary"),
    pytest.param(post("", b"hi"), None, {"mimeType": "text/plain", "text": "hi"},
                 id="empty-content-type"),
    pytest.param(post("application/octet-stream", b"plain ascii"), None,
                 {"mimeType": "application/octet-stream", "text": "plain ascii"},
                 id="octet-stream-decoding-as-text"),
    pytest.param(post("image/png", PNG), None,
                 {"mimeType": "image/png", "text": PNG_B64, "comment": "base64"}, id="binary"),
    pytest.param(post("image/png", PNG[:4], size=100), None,
                 {"mimeType": "image/png", "text": "iVBORw==",
                  "comment": "base64; truncated to 4 of 100 bytes"}, id="binary-truncated"),
    pytest.param(post("text/plain", b"abcd", size=10), None,
                 {"mimeType": "text/plain", "text": "abcd",
                  "comment": "truncated to 4 of 10 bytes"}, id="text-truncated"),
    pytest.param(post("text/plain", "aé".encode()[:2], size=3), None,
                 {"mimeType": "text/plain", "text": "a",
                  "comment": "truncated to 2 of 3 bytes"}, id="truncated-mid-character"),
    pytest.param(post("text/plain", b"", size=500), None,
                 {"mimeType": "text/plain", "text": "",
                  "comment": "truncated to 0 of 500 bytes"}, id="nothing-recorded"),
    pytest.param(post("text/plain", b"abc", size=-1), None,
                 {"mimeType": "text/plain", "text": "abc"}, id="unknown-size"),
    pytest.param(post("application/x-www-form-urlencoded", b"a=1&b=caf%C3%A9+x&a=&c"), None,
                 {"mimeType": "application/x-www-form-urlencoded",
                  "params": [{"name": "a", "value": "1"}, {"name": "b", "value": "café x"},
                             {"name": "a", "value": ""}, {"name": "c", "value": ""}]},
                 id="urlencoded"),
    pytest.param(post("application/x-www-form-urlencoded; charset=UTF-8", b"a=1&b=2",
                      size=20), None,
                 {"mimeType": "application/x-www-form-urlencoded; charset=UTF-8",
                  "params": [{"name": "a", "value": "1"}, {"name": "b", "value": "2"}],
                  "comment": "truncated to 7 of 20 bytes"}, id="urlencoded-truncated"),
    pytest.param(post("application/x-www-form-urlencoded", b"x=%FF\xff"), None,
                 {"mimeType": "application/x-www-form-urlencoded",
                  "params": [{"name": "x", "value": "%FF\ufffd"}]}, id="urlencoded-garbage"),
    pytest.param(post(MULTIPART_CT, MULTIPART), None,
                 {"mimeType": MULTIPART_CT, "params": MULTIPART_PARAMS}, id="multipart"),
    pytest.param(post(MULTIPART_CT, b'--XyZ\r\nContent-Disposition: form-data; name="t"\r\n'
                      b"Content-Type: text/plain; charset=utf-7\r\n\r\n+2AA-\r\n--XyZ--\r\n"),
                 None, {"mimeType": MULTIPART_CT, "params": [{"name": "t", "value": "?"}]},
                 id="multipart-part-charset-yielding-surrogates"),
    pytest.param(post("multipart/form-data", b"--x\r\nbroken"), None,
                 {"mimeType": "multipart/form-data", "text": "--x\r\nbroken"},
                 id="multipart-without-boundary"),
    pytest.param(post(MULTIPART_CT, PNG), None,
                 {"mimeType": MULTIPART_CT, "text": PNG_B64, "comment": "base64"},
                 id="multipart-garbage"),
    pytest.param(post("application/json", b'{"user": {"Password": "pw"}, "n": "\xc3\xa9"}'),
                 DENY, {"mimeType": "application/json",
                        "text": '{"user":{"Password":"[REDACTED 2]"},"n":"é"}'},
                 id="json-redacted"),
    pytest.param(post("application/json", b'{ "ok" : 1 }'), DENY,
                 {"mimeType": "application/json", "text": '{ "ok" : 1 }'},
                 id="json-nothing-to-redact-byte-exact"),
    pytest.param(post("application/json", b'{"a": 1, "password": "se', size=400), DENY,
                 {"mimeType": "application/json", "text": "[REDACTED 24]",
                  "comment": "body could not be parsed to redact it field by field, so it was "
                             "redacted whole; truncated to 24 of 400 bytes"},
                 id="truncated-json-with-denied-key-redacted-whole"),
    pytest.param(post("application/json", b'{"a": 1, "b": "se', size=400), DENY,
                 {"mimeType": "application/json", "text": '{"a": 1, "b": "se',
                  "comment": "truncated to 17 of 400 bytes"},
                 id="truncated-json-without-denied-key-kept"),
    pytest.param(post("application/json", b'{"pass\\u0077ord": "x"}'), DENY,
                 {"mimeType": "application/json", "text": '{"password":"[REDACTED 1]"}'},
                 id="json-escaped-key-redacted"),
    pytest.param(post("application/json", b'{"a": 1, "n": "\\u00e9", "x":', size=99), DENY,
                 {"mimeType": "application/json", "text": "[REDACTED 28]",
                  "comment": "body could not be parsed to redact it field by field, so it was "
                             "redacted whole; truncated to 28 of 99 bytes"},
                 id="truncated-json-with-escapes-redacted-whole"),
    pytest.param(post("text/plain", b"password=x"), DENY,
                 {"mimeType": "text/plain", "text": "password=x"}, id="plain-text-not-json"),
    pytest.param(post("application/x-www-form-urlencoded", b"user=a&PASSWORD=b%20c"), DENY,
                 {"mimeType": "application/x-www-form-urlencoded",
                  "params": [{"name": "user", "value": "a"},
                             {"name": "PASSWORD", "value": "[REDACTED 3]"}]},
                 id="urlencoded-redacted"),
    pytest.param(post(MULTIPART_CT, MULTIPART), DENY,
                 {"mimeType": MULTIPART_CT, "params": [
                     MULTIPART_PARAMS[0],
                     {"name": "avatar", "fileName": "me.png", "contentType": "image/png",
                      "value": "[REDACTED]"},
                     MULTIPART_PARAMS[2]]},
                 id="multipart-file-redacted"),
    pytest.param(post(MULTIPART_CT, MULTIPART), Redactor((), ["title"]),
                 {"mimeType": "[REDACTED 33]", "params": [
                     MULTIPART_PARAMS[0],
                     {"name": "avatar", "fileName": "me.png", "contentType": "image/png",
                      "value": "[REDACTED]"},
                     {"name": "empty", "value": "[REDACTED 0]"}]},
                 id="multipart-allowlist"),
    pytest.param(post("multipart/form-data", b"password=1"), DENY,
                 {"mimeType": "multipart/form-data", "text": "[REDACTED]",
                  "comment": "body could not be parsed to redact it field by field, so it was "
                             "redacted whole"},
                 id="unparsable-multipart-with-denied-key"),
    pytest.param(post("text/plain", b"abcdefgh"), None,
                 {"mimeType": "text/plain", "text": "abcd",
                  "comment": "truncated to 4 of 8 bytes"}, id="max-body-bytes-guard"),
]


@pytest.mark.parametrize(("exchange", "redactor", "expected"), POST_DATA_CASES)
def test_post_data(exchange: Exchange, redactor: Optional[Redactor],
                   expected: dict[str, Any], request: pytest.FixtureRequest) -> None:
    limit = 4 if request.node.callspec.id == "max-body-bytes-guard" else 262144
    entry = entry_of(exchange, redactor=redactor, max_body_bytes=limit)
    assert entry["request"]["postData"] == expected
    size = exchange.request_body_size
    assert entry["request"]["bodySize"] == size


@pytest.mark.parametrize(
    ("method", "body", "size"),
    [
        pytest.param("GET", b"", 0, id="get"),
        pytest.param("DELETE", b"", 0, id="delete-no-body"),
        pytest.param("POST", b"", 0, id="empty-post"),
        pytest.param("GET", b"", -1, id="unknown-size"),
    ],
)
def test_no_body_no_post_data(method: str, body: bytes, size: int) -> None:
    entry = entry_of(make_exchange(method=method, request_body=body, request_body_size=size))
    assert "postData" not in entry["request"]
    assert entry["request"]["bodySize"] == size
    assert entry["request"]["method"] == method


# -- response ---------------------------------------------------------------------------

CONTENT_CASES = [
    pytest.param({"response_headers": [("Content-Type", "application/json")],
                  "response_body": b'{"a": [1, 2]}', "response_body_size": 13}, None,
                 {"size": 13, "mimeType": "application/json", "text": '{"a": [1, 2]}'},
                 id="json"),
    pytest.param({"response_headers": [("Content-Type", "text/html; charset=iso-8859-1")],
                  "response_body": b"<p>\xe9</p>", "response_body_size": 8}, None,
                 {"size": 8, "mimeType": "text/html; charset=iso-8859-1", "text": "<p>é</p>"},
                 id="html-charset"),
    pytest.param({"response_headers": [], "response_body": b"hi", "response_body_size": 2},
                 None, {"size": 2, "mimeType": "", "text": "hi"}, id="no-content-type"),
    pytest.param({"response_headers": [("Content-Type", "image/png")], "response_body": PNG,
                  "response_body_size": len(PNG)}, None,
                 {"size": 10, "mimeType": "image/png", "text": PNG_B64, "encoding": "base64"},
                 id="binary"),
    pytest.param({"response_headers": [("Content-Type", "image/png")],
                  "response_body": PNG[:4], "response_body_size": 5000}, None,
                 {"size": 5000, "mimeType": "image/png", "text": "iVBORw==",
                  "encoding": "base64", "comment": "truncated to 4 of 5000 bytes"},
                 id="binary-truncated"),
    pytest.param({"response_headers": [("Content-Type", "text/csv"),
                                       ("Content-Length", "123456")],
                  "response_body": b"", "response_body_size": 123456,
                  "response_body_omitted": True}, None,
                 {"size": 123456, "mimeType": "text/csv",
                  "comment": "body streamed with wsgi.file_wrapper (sendfile) and not recorded"},
                 id="file-wrapper-omitted"),
    pytest.param({"status": 204, "status_text": "No Content", "response_headers": [],
                  "response_body": b"", "response_body_size": 0}, None,
                 {"size": 0, "mimeType": "", "text": ""}, id="no-content"),
    pytest.param({"response_headers": [("Content-Type", "application/json")],
                  "response_body": b'{"token": "abc", "id": 1}', "response_body_size": 25},
                 Redactor(["token"]),
                 {"size": 25, "mimeType": "application/json",
                  "text": '{"token":"[REDACTED 3]","id":1}'}, id="json-redacted"),
    pytest.param({"response_headers": [("Content-Type", "application/json")],
                  "response_body": b'[{"token": "abc"', "response_body_size": 999},
                 Redactor(["token"]),
                 {"size": 999, "mimeType": "application/json", "text": "[REDACTED 16]",
                  "comment": "body could not be parsed to redact it field by field, so it was "
                             "redacted whole; truncated to 16 of 999 bytes"},
                 id="truncated-json-redacted-whole"),
]


@pytest.mark.parametrize(("changes", "redactor", "expected"), CONTENT_CASES)
def test_response_content(changes: dict[str, Any], redactor: Optional[Redactor],
                          expected: dict[str, Any]) -> None:
    entry = entry_of(make_exchange(**changes), redactor=redactor)
    assert entry["response"]["content"] == expected
    assert entry["response"]["bodySize"] == changes["response_body_size"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({}, {"status": 200, "statusText": "OK", "redirectURL": ""}, id="ok"),
        pytest.param({"status": 302, "status_text": "Found",
                      "response_headers": [("Location", "/next?a=1")]},
                     {"status": 302, "statusText": "Found", "redirectURL": "/next?a=1"},
                     id="redirect"),
        pytest.param({"status": 500, "status_text": "Internal Server Error",
                      "http_version": "HTTP/1.0"},
                     {"status": 500, "statusText": "Internal Server Error", "redirectURL": "",
                      "httpVersion": "HTTP/1.0"}, id="error-http10"),
        pytest.param({"status": 599, "status_text": "Custom Thing"},
                     {"status": 599, "statusText": "Custom Thing", "redirectURL": ""},
                     id="custom-status"),
    ],
)
def test_response_status(changes: dict[str, Any], expected: dict[str, Any]) -> None:
    response = entry_of(make_exchange(**changes))["response"]
    for key, value in expected.items():
        assert response[key] == value
    assert response["headersSize"] == -1


def test_response_headers_as_sent() -> None:
    headers = [("Content-Type", "application/json"), ("X-Thing", "a"), ("x-thing", "b"),
               ("x-documentation-url", "https://docs/logs/1")]
    entry = entry_of(make_exchange(response_headers=headers))
    assert [(h["name"], h["value"]) for h in entry["response"]["headers"]] == headers


# -- redaction everywhere ------------------------------------------------------------------

SECRET = "s3cr3t-VALUE"


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"url": f"http://h/p?secret={SECRET}"}, id="query"),
        pytest.param({"request_headers": [("Secret", SECRET)]}, id="request-header"),
        pytest.param({"response_headers": [("SECRET", SECRET)]}, id="response-header"),
        pytest.param({"request_headers": [("Cookie", f"secret={SECRET}")]}, id="cookie"),
        pytest.param({"response_headers": [("Set-Cookie", f"Secret={SECRET}; Path=/")]},
                     id="set-cookie"),
        pytest.param({"request_headers": [("Content-Type", "application/x-www-form-urlencoded")],
                      "request_body": f"secret={SECRET}".encode(), "request_body_size": 19},
                     id="form"),
        pytest.param({"request_headers": [("Content-Type", "application/json")],
                      "request_body": json.dumps({"a": [{"SECRET": SECRET}]}).encode(),
                      "request_body_size": 30}, id="json-request"),
        pytest.param({"response_headers": [("Content-Type", "application/json")],
                      "response_body": json.dumps({"secret": {"k": SECRET}}).encode(),
                      "response_body_size": 30}, id="json-response"),
        pytest.param({"response_body": json.dumps({"secret": SECRET}).encode()[:-4],
                      "response_body_size": 30}, id="truncated-json"),
    ],
)
def test_denylisted_value_never_sent(changes: dict[str, Any]) -> None:
    exchange = make_exchange(**changes)
    if exchange.request_body:
        exchange.method = "POST"
        exchange.request_body_size = max(exchange.request_body_size, len(exchange.request_body))
    sent = json.dumps(sent_log(exchange, redactor=Redactor(["secret"])), ensure_ascii=False)
    assert SECRET not in sent
    assert "[REDACTED" in sent


# -- assert_valid_log can fail -------------------------------------------------------------


def _entry(log: dict[str, Any]) -> dict[str, Any]:
    return log["request"]["log"]["entries"][0]


MUTATIONS: list[Any] = [
    pytest.param(lambda log: log.update(_id=str(uuid.uuid1())), id="id-not-uuid4"),
    pytest.param(lambda log: log["group"].update(id="rdme_key_1234"), id="group-not-masked"),
    pytest.param(lambda log: log.update(extra=1), id="unknown-top-level-key"),
    pytest.param(lambda log: log["request"]["log"]["creator"].update(name="x"), id="creator"),
    pytest.param(lambda log: _entry(log).update(startedDateTime="2026-11-21T10:31:43Z"),
                 id="date-without-ms"),
    pytest.param(lambda log: _entry(log).update(time=1.0), id="time-not-sum"),
    pytest.param(lambda log: _entry(log)["timings"].update(wait=-1), id="negative-timing"),
    pytest.param(lambda log: _entry(log)["request"].update(headersSize=0), id="headers-size"),
    pytest.param(lambda log: _entry(log)["request"]["headers"].append(
        {"name": "Authorization", "value": "Bearer x"}), id="authorization-in-clear"),
    pytest.param(lambda log: _entry(log)["request"]["cookies"].append(
        {"name": "sid", "value": "x"}), id="cookie-in-clear"),
    pytest.param(lambda log: _entry(log).update(extra=1), id="schema-extra-field"),
    pytest.param(lambda log: _entry(log)["request"].pop("method"), id="schema-missing-field"),
    pytest.param(lambda log: _entry(log)["response"].update(status="200"), id="schema-type"),
    pytest.param(lambda log: _entry(log).update(cache={"comment": "x"}), id="cache-not-empty"),
    pytest.param(lambda log: _entry(log)["request"].update(
        postData={"mimeType": "text/plain", "text": "x"}), id="post-data-without-body"),
    pytest.param(lambda log: _entry(log)["response"]["content"].update(mimeType="text/xml"),
                 id="content-mime-type"),
    pytest.param(lambda log: _entry(log)["response"].update(redirectURL="/x"),
                 id="redirect-without-location"),
    pytest.param(lambda log: log["request"]["log"]["entries"].append(
        copy.deepcopy(_entry(log))), id="two-entries"),
]


@pytest.mark.parametrize("mutate", MUTATIONS)
def test_assert_valid_log_rejects(mutate: Callable[[dict[str, Any]], Any]) -> None:
    log = sent_log(make_exchange())
    mutate(log)
    with pytest.raises(AssertionError):
        assert_valid_log(log)


def test_assert_valid_log_accepts_custom_fields() -> None:
    log = sent_log(make_exchange())
    log["_requestId"] = "abc"
    _entry(log)["_custom"] = {"any": "thing"}
    _entry(log)["comment"] = "fine"
    assert_valid_log(log)


# -- properties ---------------------------------------------------------------------------

HEADER_NAMES = st.sampled_from(
    ["Content-Type", "Cookie", "Set-Cookie", "Authorization", "X-Api-Key", "Location",
     "Accept", "password"]
) | st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,12}", fullmatch=True)
LATIN1 = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=40)
CONTENT_TYPES = st.sampled_from(
    ["application/json", "application/x-www-form-urlencoded", MULTIPART_CT,
     "multipart/form-data", "text/plain; charset=utf-16", "text/html; charset=bogus",
     "text/plain; charset=utf-7", "text/plain; charset=unicode_escape",
     "image/png", "application/problem+json", ""]
) | LATIN1
QUERY = st.lists(st.sampled_from(list("ab=&%+;/?é") + ["%2", "%41", "%FF", "%C3%A9"]),
                 max_size=20).map("".join)
REDACTORS = st.sampled_from(
    [None, Redactor(), Redactor(["password", "a", "x-api-key"]), Redactor((), ["b", "id"]),
     Redactor(["a.b", "cookie"], ["password"])]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.binary(max_size=200) | st.sampled_from([MULTIPART, b'{"password": "x"}']),
    extra=st.sampled_from([0, 0, 5, -1]),
    request_type=st.none() | CONTENT_TYPES,
    response_type=st.none() | CONTENT_TYPES,
    response_body=st.binary(max_size=100),
    headers=st.lists(st.tuples(HEADER_NAMES, LATIN1), max_size=6),
    query=QUERY,
    omitted=st.booleans(),
    redactor=REDACTORS,
    max_body_bytes=st.sampled_from([0, 16, 262144]),
)
def test_any_input_gives_a_valid_log(
    body: bytes, extra: int, request_type: Optional[str], response_type: Optional[str],
    response_body: bytes, headers: list[tuple[str, str]], query: str, omitted: bool,
    redactor: Optional[Redactor], max_body_bytes: int,
) -> None:
    request_headers = list(headers)
    if request_type is not None:
        request_headers.append(("Content-Type", request_type))
    response_headers = list(headers)
    if response_type is not None:
        response_headers.append(("Content-Type", response_type))
    size = -1 if extra == -1 else len(body) + extra
    exchange = make_exchange(
        method="POST", url=f"http://h:1/p?{query}", request_headers=request_headers,
        request_body=body, request_body_size=size, response_headers=response_headers,
        response_body=response_body, response_body_size=len(response_body),
        response_body_omitted=omitted,
    )
    log = build_log(exchange, redactor=redactor, max_body_bytes=max_body_bytes)
    wire = json.dumps(log, ensure_ascii=False).encode("utf-8")  # must be sendable
    assert_valid_log(json.loads(wire))


JSON_DOCS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["password", "PASSWORD", "user", "a", "b", "list"])
                      | st.text(max_size=4), children, max_size=4),
    max_leaves=30,
)


def _under_denied(node: Any, deny: set[str]) -> list[Any]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key.lower() in deny:
                found.append(value)
            else:
                found.extend(_under_denied(value, deny))
    elif isinstance(node, list):
        for value in node:
            found.extend(_under_denied(value, deny))
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request_doc=JSON_DOCS, response_doc=JSON_DOCS,
       content_type=st.sampled_from(["application/json", "text/plain", None]))
def test_json_bodies_never_leak_denied_keys(request_doc: Any, response_doc: Any,
                                            content_type: Optional[str]) -> None:
    request_body = json.dumps(request_doc).encode()
    response_body = json.dumps(response_doc, ensure_ascii=False).encode()
    exchange = post(content_type, request_body, response_body=response_body,
                    response_body_size=len(response_body),
                    response_headers=[("Content-Type", "application/json")])
    entry = entry_of(exchange, redactor=Redactor(["password"]))
    texts = [entry["request"]["postData"]["text"], entry["response"]["content"]["text"]]
    for text in texts:
        for value in _under_denied(json.loads(text), {"password"}):
            assert isinstance(value, str) and value.startswith("[REDACTED")


@st.composite
def multipart_bodies(draw: st.DrawFn) -> bytes:
    """Well-formed and broken multipart bodies with random names, charsets and files."""
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        name = draw(st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF,
                                          exclude_characters='"\\'), max_size=8))
        head = f'Content-Disposition: form-data; name="{name}"'
        if draw(st.booleans()):
            head += f'; filename="{draw(st.text(max_size=6))}"'
        charset = draw(st.sampled_from([None, None, "utf-7", "utf-7", "utf-8", "latin-1",
                                        "bogus"]))
        if charset is not None:
            head += f"\r\nContent-Type: text/plain; charset={charset}"
        value = draw(st.sampled_from([b"+2AA-", b"password", b"\xff"]) | st.binary(max_size=20))
        parts.append(b"--XyZ\r\n" + head.encode("utf-8", "surrogatepass") + b"\r\n\r\n"
                     + value + b"\r\n")
    body = b"".join(parts) + (b"--XyZ--\r\n" if draw(st.booleans()) else b"")
    truncate = draw(st.sampled_from([False, False, True]))
    return body[:draw(st.integers(0, len(body)))] if truncate else body


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=multipart_bodies(), redactor=REDACTORS)
def test_any_multipart_gives_a_valid_log(body: bytes, redactor: Optional[Redactor]) -> None:
    exchange = post(MULTIPART_CT, body, size=len(body) + 1)
    log = build_log(exchange, redactor=redactor)
    assert_valid_log(json.loads(json.dumps(log, ensure_ascii=False).encode("utf-8")))


# -- the log as the Metrics API gets it, through the middleware (SPEC 4, black box) --------


def test_log_envelope(inline_wrap: Any, collector: Collector) -> None:
    from readme_metrics import __version__

    result, log, _ = exchange(inline_wrap(reading_app(), development_mode=True), collector)
    assert set(log) == {"_id", "group", "clientIPAddress", "development", "request"}
    parsed = uuid.UUID(log["_id"])
    assert parsed.version == 4 and str(parsed) == log["_id"]
    assert result.header("x-documentation-url") == [f"{DOCS}/logs/{log['_id']}"]
    assert log["group"] == {"id": spec_mask(CALLER["api_key"]), "label": CALLER["label"],
                            "email": CALLER["email"]}
    assert log["development"] is True
    har = log["request"]
    assert set(har) == {"log"} and har["log"]["version"] == "1.2"
    assert har["log"]["creator"] == {
        "name": "readme-metrics (python)",
        "version": __version__,
        "comment": f"{platform.machine()}-{platform.system()}{platform.release()}"
                   f"/{platform.python_version()}",
    }
    assert len(har["log"]["entries"]) == 1


def test_development_false_by_default(inline_wrap: Any, collector: Collector) -> None:
    _, log, _ = exchange(inline_wrap(reading_app()), collector)
    assert log["development"] is False


def test_entry_timing_and_fixed_fields(inline_wrap: Any, collector: Collector) -> None:
    def slow(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        time.sleep(0.02)
        start_response("200 OK", [("Content-Type", "text/plain")])
        time.sleep(0.02)
        yield b"slow"

    before = time.time()
    _, _, entry = exchange(inline_wrap(slow), collector)
    after = time.time()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["startedDateTime"])
    started = time.mktime(time.strptime(entry["startedDateTime"][:19], "%Y-%m-%dT%H:%M:%S"))
    started = started - time.timezone + int(entry["startedDateTime"][20:23]) / 1000
    assert before - 1 <= started <= after  # UTC, the moment the request arrived
    timings = entry["timings"]
    assert set(timings) >= {"send", "wait", "receive"}
    assert all(timings[name] >= 0 for name in ("send", "wait", "receive"))
    assert entry["time"] == pytest.approx(timings["send"] + timings["wait"] + timings["receive"],
                                          abs=1e-9)
    assert timings["wait"] >= 15 and entry["time"] >= 30  # milliseconds, not seconds
    assert entry["cache"] == {}
    assert "pageref" in entry
    assert entry["request"]["headersSize"] == -1 and entry["response"]["headersSize"] == -1


@pytest.mark.parametrize("query, expected", [
    pytest.param("a=1&b=2", [("a", "1"), ("b", "2")], id="simple"),
    pytest.param("q=hello+world&r=caf%C3%A9", [("q", "hello world"), ("r", "café")],
                 id="plus-is-space-percent-decoded"),
    pytest.param("plus=%2B", [("plus", "+")], id="encoded-plus"),
    pytest.param("a=1&a=2&a=", [("a", "1"), ("a", "2"), ("a", "")], id="repeats-and-blank"),
    pytest.param("flag&x=", [("flag", ""), ("x", "")], id="no-equals"),
    pytest.param("z=1&y=2&x=3", [("z", "1"), ("y", "2"), ("x", "3")], id="order-kept"),
    pytest.param("na+me=v", [("na me", "v")], id="plus-in-name"),
])
def test_query_string_decoded_pairs(inline_wrap: Any, collector: Collector, query: str,
                                    expected: list[tuple[str, str]]) -> None:
    _, _, entry = exchange(inline_wrap(reading_app()), collector, query=query)
    assert [(p["name"], p["value"]) for p in entry["request"]["queryString"]] == expected


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=5),
       st.booleans())
def test_any_query_round_trips(inline_wrap: Any, collector: Collector,
                               query_pairs: list[tuple[str, str]], plus: bool) -> None:
    """Whatever a client encodes (quote or quote_plus), the url keeps it as sent and
    queryString decodes it back to the pairs, in order."""
    query = urlencode(query_pairs, quote_via=quote_plus if plus else quote)
    collector.received.clear()
    _, _, entry = exchange(inline_wrap(reading_app()), collector, query=query)
    request = entry["request"]
    assert urlsplit(request["url"]).query == query
    assert [(p["name"], p["value"]) for p in request["queryString"]] == query_pairs


def test_request_headers_cookies_and_http_version(inline_wrap: Any, collector: Collector) -> None:
    _, _, entry = exchange(
        inline_wrap(reading_app()), collector, method="POST", body=b'{"a": 1}',
        headers={"Content-Type": "application/json", "X-Api-Key": "visible",
                 "Cookie": "theme=dark; session=abcdef123456", "Host": "api.example.com"})
    request = entry["request"]
    assert request["method"] == "POST"
    assert request["httpVersion"] == "HTTP/1.0"  # SERVER_PROTOCOL of the environ
    headers = {h["name"].lower(): h["value"] for h in request["headers"]}
    assert headers["content-type"] == "application/json"
    assert headers["content-length"] == "8"
    assert headers["x-api-key"] == spec_mask("visible")  # a credential header (SPEC 6)
    assert headers["host"] == "api.example.com"
    assert headers["cookie"] == spec_mask("theme=dark; session=abcdef123456")
    assert [c["name"] for c in request["cookies"]] == ["theme", "session"]
    # Cookie values are credentials too: never in clear (masked like the header).
    assert [c["value"] for c in request["cookies"]] == [spec_mask("dark"),
                                                       spec_mask("abcdef123456")]
    assert request["bodySize"] == 8


MULTIPART = (
    b"--XyZ\r\nContent-Disposition: form-data; name=\"field\"\r\n\r\nvalue 1\r\n"
    b"--XyZ\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"pic.png\"\r\n"
    b"Content-Type: image/png\r\n\r\n\x89PNG\r\n\x00\xff\r\n--XyZ--\r\n"
)


@pytest.mark.parametrize("content_type, body, expected", [
    pytest.param("application/x-www-form-urlencoded", b"a=1+2&b=&a=%26",
                 {"mimeType": "application/x-www-form-urlencoded",
                  "params": [{"name": "a", "value": "1 2"}, {"name": "b", "value": ""},
                             {"name": "a", "value": "&"}]}, id="form"),
    pytest.param("multipart/form-data; boundary=XyZ", MULTIPART,
                 {"mimeType": "multipart/form-data; boundary=XyZ",
                  "params": [{"name": "field", "value": "value 1"},
                             {"name": "upload", "fileName": "pic.png",
                              "contentType": "image/png",
                              "value": "data:image/png;name=pic.png;base64,"
                                       + base64.b64encode(b"\x89PNG\r\n\x00\xff").decode()}]},
                 id="multipart"),
    pytest.param("application/json", b'{"b": 1,  "a": [true]}',
                 {"mimeType": "application/json", "text": '{"b": 1,  "a": [true]}'},
                 id="json-exact"),
    pytest.param("application/vnd.api+json; charset=utf-8", b'{"x": "\xc3\xa9"}',
                 {"mimeType": "application/vnd.api+json; charset=utf-8",
                  "text": '{"x": "é"}'}, id="plus-json"),
    pytest.param("application/xml", b"<a><b>1</b></a>",
                 {"mimeType": "application/xml", "text": "<a><b>1</b></a>"}, id="xml"),
    pytest.param("text/csv", b"a,b\n1,2\n", {"mimeType": "text/csv", "text": "a,b\n1,2\n"},
                 id="text-star"),
    pytest.param(None, b"no type given", {"mimeType": "text/plain", "text": "no type given"},
                 id="no-content-type"),
    pytest.param("image/png", b"\x89PNG\r\n\x1a\n\x00\xff\xfe",
                 {"mimeType": "image/png",
                  "text": base64.b64encode(b"\x89PNG\r\n\x1a\n\x00\xff\xfe").decode(),
                  "comment": "base64"}, id="binary"),
])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_post_data_shapes(inline_wrap: Any, collector: Collector, method: str,
                          content_type: Optional[str], body: bytes,
                          expected: dict[str, Any]) -> None:
    app = reading_app()
    headers = {} if content_type is None else {"Content-Type": content_type}
    _, _, entry = exchange(inline_wrap(app), collector, method=method, body=body, headers=headers)
    assert app.seen["body"] == body
    assert entry["request"]["postData"] == expected
    assert entry["request"]["bodySize"] == len(body)


def test_response_fields(inline_wrap: Any, collector: Collector) -> None:
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("X-Custom", "1"),
               ("Location", "https://elsewhere.example/x?y=1")]
    result, log, entry = exchange(
        inline_wrap(reading_app("302 Found It", headers, [b"caf\xc3\xa9", b" ", b"au lait"])),
        collector)
    response = entry["response"]
    assert response["status"] == 302
    assert response["statusText"] == "Found It"
    assert response["httpVersion"] == "HTTP/1.0"
    assert [(h["name"], h["value"]) for h in response["headers"]] == [
        *headers, ("x-documentation-url", f"{DOCS}/logs/{log['_id']}")]
    assert result.headers == [(h["name"], h["value"]) for h in response["headers"]]
    assert response["content"] == {"size": len("café au lait".encode()),
                                   "mimeType": "text/plain; charset=utf-8",
                                   "text": "café au lait"}
    assert response["bodySize"] == 13
    assert response["redirectURL"] == "https://elsewhere.example/x?y=1"
    assert response["headersSize"] == -1
    assert response["cookies"] == []


@pytest.mark.parametrize("status, code, text", [
    pytest.param("200 OK", 200, "OK", id="ok"),
    pytest.param("404 Nothing Here", 404, "Nothing Here", id="custom-reason"),
    pytest.param("599 Custom Reason Phrase", 599, "Custom Reason Phrase", id="unknown-code"),
    pytest.param("418 I'm a teapot", 418, "I'm a teapot", id="teapot"),
])
def test_status_text_from_the_status_line(inline_wrap: Any, collector: Collector, status: str,
                                          code: int, text: str) -> None:
    _, _, entry = exchange(inline_wrap(reading_app(status)), collector)
    assert (entry["response"]["status"], entry["response"]["statusText"]) == (code, text)
    assert entry["response"]["redirectURL"] == ""


def test_binary_response_is_base64(inline_wrap: Any, collector: Collector) -> None:
    data = bytes(range(256))
    _, _, entry = exchange(
        inline_wrap(reading_app(headers=[("Content-Type", "application/octet-stream")],
                         body=[data[:100], data[100:]])), collector)
    content = entry["response"]["content"]
    assert content["encoding"] == "base64"
    assert base64.b64decode(content["text"]) == data
    assert content["size"] == 256 and content["mimeType"] == "application/octet-stream"


@pytest.mark.parametrize("name", ["Set-Cookie", "set-cookie", "SET-COOKIE"])
def test_set_cookie_masked_and_parsed_header_name_case_kept(
        inline_wrap: Any, collector: Collector, name: str) -> None:
    value = "session=s3cr3t-token-value; Path=/; HttpOnly"
    _, _, entry = exchange(
        inline_wrap(reading_app(headers=[("Content-Type", "text/plain"), (name, value)])),
        collector)
    response = entry["response"]
    assert {"name": name, "value": spec_mask(value)} in response["headers"]
    [cookie] = response["cookies"]
    assert cookie["name"] == "session" and cookie["value"] == spec_mask("s3cr3t-token-value")
    assert "s3cr3t-token-value" not in json.dumps(entry)


@pytest.mark.parametrize("header", ["Authorization", "Proxy-Authorization", "Cookie"])
def test_request_credentials_are_masked(inline_wrap: Any, collector: Collector,
                                        header: str) -> None:
    value = "Bearer sk_live_0123456789abcdef" if header != "Cookie" else "sid=0123456789"
    _, _, entry = exchange(inline_wrap(reading_app()), collector, headers={header: value})
    assert {"name": header, "value": spec_mask(value)} in entry["request"]["headers"]
    assert value not in json.dumps(entry)


@pytest.mark.parametrize("header", ["authorization", "PROXY-AUTHORIZATION", "X-Other"])
def test_response_credential_headers_masked_with_their_case(
        inline_wrap: Any, collector: Collector, header: str) -> None:
    value = "Basic dXNlcjpwYXNzd29yZA=="
    _, _, entry = exchange(
        inline_wrap(reading_app(headers=[("Content-Type", "text/plain"), (header, value)])),
        collector)
    expected = value if header == "X-Other" else spec_mask(value)
    assert {"name": header, "value": expected} in entry["response"]["headers"]


@pytest.mark.parametrize("returned, expected", [
    pytest.param({"api_key": "k-1234567"}, {"id": spec_mask("k-1234567")}, id="api-key-only"),
    pytest.param({"id": "legacy-9876", "label": "Old", "email": "old@example.com"},
                 {"id": spec_mask("legacy-9876"), "label": "Old", "email": "old@example.com"},
                 id="legacy-id-key"),
    pytest.param({"api_key": "k-1", "label": "L", "email": "e@example.com", "plan": "pro",
                  "extra": 1},
                 {"id": spec_mask("k-1"), "label": "L", "email": "e@example.com"},
                 id="extra-keys-dropped"),
])
def test_group_is_masked_with_known_keys_only(inline_wrap: Any, collector: Collector,
                                              returned: dict[str, Any],
                                              expected: dict[str, str],
                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="readme_metrics")
    _, log, _ = exchange(inline_wrap(reading_app(), grouping_function=lambda req: dict(returned)),
                         collector)
    assert log["group"] == expected
    extra = sorted(set(returned) - {"api_key", "id", "label", "email"})
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    if extra:
        assert len(warned) == 1 and all(key in warned[0].getMessage() for key in extra)
    else:
        assert warned == []
