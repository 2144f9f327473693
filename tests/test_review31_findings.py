"""review31's findings on leaks9's landing (ea7b11a, ae3facc): each test failed before its
fix, under real parts (the public middleware, the collector on 127.0.0.1)."""

from __future__ import annotations

import base64
import json
from typing import Any, Callable
from urllib.parse import quote, unquote

import pytest

from readme_metrics import MetricsMiddleware
from readme_metrics.masking import mask
from tests.support.contract import exchange
from tests.support.fake_api import Collector
from tests.support.leaks import found

FORM = "application/x-www-form-urlencoded"
UNLISTED = "review31-unlisted-value"


def _app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def _bodies(collector: Collector, before: int) -> list[bytes]:
    return [r.body for r in collector.received[before:] if r.path == "/v1/request"]


def test_a_json_name_cut_at_max_body_bytes_is_hidden_under_an_allowlist(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    """``curl --data-urlencode '{...}'``, a form of one field named by the document, cut
    at max_body_bytes: under an allowlist the whole document's values are redacted (SPEC
    6: every value whose key is not listed), so its cut text cannot be kept in clear
    either; it was, the broken branch asking about denied keys only."""
    document = json.dumps({"user": "zoe", "secret": UNLISTED, "pad": "x" * 400})
    body = quote(document, safe="").encode()
    before = len(collector.received)
    _, _, entry = exchange(inline_wrap(_app, allowlist=["a"], max_body_bytes=len(body) - 200),
                           collector, method="POST", body=body,
                           headers={"Content-Type": FORM})
    assert found(_bodies(collector, before), UNLISTED) == []
    post = entry["request"]["postData"]
    assert UNLISTED not in json.dumps(post)
    # The complete document, under the same allowlist, has its values redacted too.
    before = len(collector.received)
    _, _, entry = exchange(inline_wrap(_app, allowlist=["a"]), collector, method="POST",
                           body=body, headers={"Content-Type": FORM})
    assert found(_bodies(collector, before), UNLISTED) == []


# -- The caller's key beyond latin-1, in UTF-16/32 inside a binary body -----------------

WIDE_KEY = "ключ-1234-клиента"  # its mask ends beyond latin-1 too


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize("nul", [True, False], ids=["with-a-nul", "no-nul"])
def test_a_key_beyond_latin1_in_utf16_or_32_in_a_binary_body_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        codec: str, nul: bool) -> None:
    """ae3facc masked a latin-1 key's UTF-16/32 bytes only (one replace for both byte
    orders needs NUL high bytes), and only in data holding a NUL: a key "ключ-..." a
    Windows client sent as UTF-16 left in clear in the base64 (SPEC 6). Each encoding of
    such a key is replaced by the mask in that encoding now."""
    head = b"\x89\x00\x01" if nul else b"\x89\x01"
    body = head + WIDE_KEY.encode(codec) + b"\xff"
    before = len(collector.received)
    _, _, entry = exchange(
        inline_wrap(_app, grouping_function=lambda request: {"api_key": WIDE_KEY}),
        collector, method="POST", body=body,
        headers={"Content-Type": "application/octet-stream"})
    post = entry["request"]["postData"]
    assert post["comment"] == "base64"
    data = base64.b64decode(post["text"])
    assert WIDE_KEY.encode(codec) not in data
    assert mask(WIDE_KEY).encode(codec) in data
    assert data.startswith(head) and data.endswith(b"\xff")
    assert found(_bodies(collector, before), WIDE_KEY) == []


# -- A JSON name alone after a ";" or "#" inside a query pair ---------------------------

SECRET = "review31-denied-secret"


@pytest.mark.parametrize("separator", [";", "#", "%23"])
def test_a_json_name_alone_after_a_separator_in_a_query_pair_is_redacted(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        separator: str) -> None:
    """ea7b11a asked about names in the pairs after a ";" or "#" inside a pair only when
    they had a "=": ``?a=1;{"password": ...}`` (";" a separator to Python's parse_qs
    before 3.9.2; a "#" some servers pass on in QUERY_STRING) kept the document in
    clear in url and queryString. An anchor-like name alone there is still kept."""
    document = quote(json.dumps({"user": "zoe", "password": SECRET}), safe="")
    before = len(collector.received)
    _, _, entry = exchange(inline_wrap(_app, denylist=["password"]), collector,
                           path="/p", query=f"a=1{separator}{document}&b=2{separator}token")
    assert found(_bodies(collector, before), SECRET) == []
    assert unquote(entry["request"]["url"]).endswith(f"&b=2{unquote(separator)}token")
