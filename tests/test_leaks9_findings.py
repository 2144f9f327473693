"""leaks9's items (secrets leaving in clear through forms and names, found by review26):
each test failed on main at 18ddf48 and passes with its fix, under real parts (the
collector on 127.0.0.1, the public middleware)."""

from __future__ import annotations

import base64
import json
from typing import Any, Callable
from urllib.parse import quote, quote_plus, unquote_plus

import pytest
from werkzeug.wrappers import Request

from readme_metrics import MetricsMiddleware
from readme_metrics.masking import mask
from tests.support.contract import exchange
from tests.support.fake_api import Collector
from tests.support.leaks import found

SECRET = "leaks9-denied-secret"
DOCUMENT = json.dumps({"user": "zoe", "password": SECRET})
FORM = "application/x-www-form-urlencoded"


def _app(seen: dict[str, Any]) -> Callable[..., list[bytes]]:
    """Reads the form as Flask's ``request.form`` does."""
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        seen["form"] = list(Request(environ).form.items(multi=True))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    return app


def _bodies(collector: Collector, before: int) -> list[bytes]:
    return [r.body for r in collector.received[before:] if r.path == "/v1/request"]


# -- 1. A form field or query parameter NAMED by a JSON document ------------------------

# ``curl --data-urlencode '{"password": ...}'`` (no "name=") sends the document
# percent-encoded, no "=": read as a form, the whole document is one field's name, which
# no list looks into; so is a JSON document given as a name beside other fields.
NAMED_BY_JSON = {
    "curl-data-urlencode": quote(DOCUMENT, safe=""),
    "plus-for-spaces": quote_plus(DOCUMENT),
    "named-with-a-value": quote(DOCUMENT, safe="") + "=1",
    "beside-a-field": "a=1&" + quote_plus(DOCUMENT) + "&b=2",
    "an-array": quote(json.dumps([{"password": SECRET}]), safe=""),
}


@pytest.mark.parametrize("case", list(NAMED_BY_JSON))
def test_a_form_field_named_by_a_json_document_is_redacted_as_json(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        case: str) -> None:
    """The JSON document a form field's name is gets its denied keys redacted, as a JSON
    value of a field already did; the other fields and the app's read are unchanged."""
    body = NAMED_BY_JSON[case].encode()
    seen: dict[str, Any] = {}
    before = len(collector.received)
    _, _, entry = exchange(inline_wrap(_app(seen), denylist=["password"]), collector,
                           method="POST", body=body, headers={"Content-Type": FORM})
    assert SECRET in json.dumps(seen["form"])  # what the app reads: the document, a name
    assert found(_bodies(collector, before), SECRET) == []
    params = entry["request"]["postData"]["params"]
    names = [p["name"] for p in params]
    document = next(json.loads(n) for n in names if n[:1] in "{[")
    holder = document[0] if isinstance(document, list) else document
    assert holder["password"] == f"[REDACTED {len(SECRET)}]"
    assert [p for p in params if p["name"][:1] not in "{["] == [
        p for p in ({"name": "a", "value": "1"}, {"name": "b", "value": "2"})
        if case == "beside-a-field"]


def test_a_query_parameter_named_by_a_json_document_is_redacted_in_url_and_query(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    """``GET /search?{"password": ...}`` (percent-encoded, no "="): the url and
    queryString carried the document in clear; so did a Referer holding such a query."""
    query = "q=1&" + quote(DOCUMENT, safe="")
    referer = "https://app.example/p?" + quote(DOCUMENT, safe="")
    before = len(collector.received)
    _, _, entry = exchange(inline_wrap(_app({}), denylist=["password"]), collector,
                           path="/search", query=query, headers={"Referer": referer})
    assert found(_bodies(collector, before), SECRET) == []
    request = entry["request"]
    assert request["queryString"][0] == {"name": "q", "value": "1"}
    assert json.loads(request["queryString"][1]["name"])["password"].startswith("[REDACTED")
    assert request["url"].endswith("/search?" + request["url"].partition("?")[2])


# Names that are no JSON document, or one naming no listed key, stay byte for byte.
KEPT_NAMES = [
    pytest.param("%7Bnot+json%7D=1&%5Bx%5D=2", {"denylist": ["password"]}, id="not-json"),
    pytest.param("%7Bpassword%7D=1", {"denylist": ["password"]}, id="braced-word"),
    pytest.param(quote('{"user": "zoe"}', safe="") + "=1", {"denylist": ["password"]},
                 id="json-naming-no-denied-key"),
    pytest.param("%7Bnot+json%7D=1&a=2", {"allowlist": ["a"]}, id="allowlist-not-json"),
]


@pytest.mark.parametrize(("body", "lists"), KEPT_NAMES)
def test_a_name_that_is_no_json_with_a_listed_key_is_kept(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        body: str, lists: dict[str, list[str]]) -> None:
    _, _, entry = exchange(inline_wrap(_app({}), **lists), collector, method="POST",
                           body=body.encode(), headers={"Content-Type": FORM})
    names = [p["name"] for p in entry["request"]["postData"]["params"]]
    assert names == [unquote_plus(pair.partition("=")[0]) for pair in body.split("&")]


# -- 4. The caller's key in UTF-16/32 inside a binary body (recorded in base64) ---------

CALLER_KEY = "leaks9-caller-key-1234"


def _by_key(request: Any) -> dict[str, str]:
    return {"api_key": CALLER_KEY}


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize("content_type", ["application/octet-stream",
                                          "multipart/form-data; boundary=none-here"])
def test_the_callers_key_in_utf16_or_32_in_a_binary_body_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        codec: str, content_type: str) -> None:
    """A binary body (or a multipart one that does not parse, recorded as base64) holding
    the caller's key in UTF-16/32 (a Windows client's string) had it in clear in the
    base64, where the key's UTF-8 bytes were masked; the denylist already reads such
    NUL-spaced names. The key's mask stands there now, in the same encoding."""
    body = b"\x89\x00\x01" + f"key={CALLER_KEY};".encode(codec) + b"\xff\x00"
    _, _, entry = exchange(inline_wrap(_app({}), grouping_function=_by_key), collector,
                           method="POST", body=body, headers={"Content-Type": content_type})
    post = entry["request"]["postData"]
    assert post["comment"] == "base64"
    data = base64.b64decode(post["text"])
    assert CALLER_KEY.encode(codec) not in data
    assert mask(CALLER_KEY).encode(codec) in data
    assert data.startswith(b"\x89\x00\x01") and data.endswith(b"\xff\x00")
