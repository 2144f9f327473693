"""No denied value ever reaches the Metrics API, however a client spells its key (SPEC 6).

Hypothesis picks a place a keyed value can be (query, form, JSON, multipart, headers,
cookies, URL headers, the response), a spelling of the denied key there (any case, any
character percent-encoded or JSON-escaped, bracketed, after a "#" or a ";"), and a
secret; the request goes through the middleware to the real collector, and the batches it
received are searched for the secret in every spelling: raw bytes, JSON strings decoded,
percent-decoded once and twice, "+" as a space or not, any case.
"""

from __future__ import annotations

import json
from typing import Any, Callable
from urllib.parse import quote, unquote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.contract import exchange
from tests.support.fake_api import Collector
from tests.support.leaks import found

KEY = "token"
_ALNUM = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@st.composite
def url_key(draw: st.DrawFn) -> str:
    """``token`` as a URL or form may spell it: any case, any character percent-encoded
    (hex digits in either case), maybe bracketed (``a[token]`` reads as its parts)."""
    out = []
    for character in KEY:
        character = draw(st.sampled_from([character, character.upper()]))
        if draw(st.booleans()):
            escape = f"%{ord(character):02X}"
            character = draw(st.sampled_from([escape, escape.lower()]))
        out.append(character)
    return draw(st.sampled_from(["{}", "{}[]", "user[{}]", "user%5B{}%5D"])).format("".join(out))


@st.composite
def json_key(draw: st.DrawFn) -> str:
    """``token`` as a JSON text may spell it (the quotes included): any case, any
    character ``\\u``-escaped."""
    out = []
    for character in KEY:
        character = draw(st.sampled_from([character, character.upper()]))
        if draw(st.booleans()):
            character = f"\\u{ord(character):04x}"
        out.append(character)
    return '"' + "".join(out) + '"'


def _query(joint: str, key: str, secret: str) -> dict[str, Any]:
    return {"query": f"a=1{joint}{key}={quote(secret)}"}


def _form(joint: str, key: str, secret: str, charset: str = "") -> dict[str, Any]:
    return {"method": "POST", "body": f"a=1{joint}{key}={quote(secret)}".encode(),
            "headers": {"Content-Type": "application/x-www-form-urlencoded" + charset}}


def _json(key: str, secret: str, shape: int, content_type: str, shape_in_a_string: bool = False
          ) -> dict[str, Any]:
    document = [
        '{%s: "%s"}', '{"x": {"b": [1, {%s: "%s"}]}}', '[{"x": 1}, {%s: "%s"}]',
        '{%s: "%s", "TOKEN": 2}', '{%s: {"v": "%s"}}',
    ][shape] % (key, secret)
    if shape_in_a_string:
        document = json.dumps({"Message": document})
    return {"method": "POST", "body": document.encode(), "headers": {
        "Content-Type": content_type}}


def _multipart(key: str, secret: str) -> dict[str, Any]:
    disposition = f"name*=UTF-8''{key}" if "%" in key else f'name="{unquote(key)}"'
    body = (f"--XyZ\r\nContent-Disposition: form-data; {disposition}\r\n\r\n{secret}\r\n"
            "--XyZ--\r\n").encode()
    return {"method": "POST", "body": body,
            "headers": {"Content-Type": "multipart/form-data; boundary=XyZ"}}


PLACES: dict[str, Callable[[st.DrawFn, str], dict[str, Any]]] = {
    "query": lambda draw, secret: _query(
        draw(st.sampled_from(["&", "#", "%23", ";", "#/cb?"])), draw(url_key()), secret),
    "form": lambda draw, secret: _form(
        draw(st.sampled_from(["&", "#", ";"])), draw(url_key()), secret,
        draw(st.sampled_from(["", "; charset=latin-1", "; charset=utf-7"]))),
    "json": lambda draw, secret: _json(
        draw(json_key()), secret, draw(st.integers(0, 4)),
        draw(st.sampled_from(["application/json", "application/x-www-form-urlencoded",
                              "text/plain", "application/vnd.api+json"])), draw(st.booleans())),
    "query-json": lambda draw, secret: {"query": "filter=" + quote(_json(
        draw(json_key()), secret, draw(st.integers(0, 4)), "")["body"].decode(), safe="")},
    "multipart": lambda draw, secret: _multipart(draw(url_key()), secret),
    "header": lambda draw, secret: {"headers": {
        draw(st.sampled_from([KEY, KEY.upper(), KEY.title()])): secret}},
    "cookie": lambda draw, secret: {"headers": {
        "Cookie": f"a=1; {draw(st.sampled_from([KEY, KEY.upper()]))}={secret}"}},
    "url-header": lambda draw, secret: {"headers": {
        draw(st.sampled_from(["Referer", "X-Original-URL", "X-Forwarded-Uri"])):
        "https://x.example/p" + _query(draw(st.sampled_from(["?", "?a=1&", "#"])),
                                       draw(url_key()), secret)["query"][3:]}},
}


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), place=st.sampled_from(sorted(PLACES)),
       secret=st.text(_ALNUM, min_size=6, max_size=10).map(lambda s: "Qz" + s),
       lists=st.sampled_from([{"denylist": [KEY]}, {"allowlist": ["a", "user"]},
                              {"denylist": [KEY], "allowlist": ["a", KEY]}]))
def test_a_denied_value_never_reaches_the_collector(
        inline_wrap: Any, collector: Collector, data: st.DataObject, place: str,
        secret: str, lists: dict[str, list[str]]) -> None:
    """Under a key the denylist names, or the allowlist does not (``a``, next to it, is
    listed; ``user[token]`` is the one spelling a listed key holds whole, as SPEC 6 keeps
    an object under a listed key, so ``user`` is listed only where it is no such key)."""
    request = PLACES[place](data.draw, secret)
    if "user" in lists.get("allowlist", ()) and "user" in json.dumps(request, default=str):
        lists = {"allowlist": ["a"]}
    before = len(collector.received)
    exchange(inline_wrap(_echo, **lists), collector, path="/p", **request)
    bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    assert found(bodies, secret) == [], request


def _echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Answers with the request's body and Content-Type: the response side too."""
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", environ.get("CONTENT_TYPE") or "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
