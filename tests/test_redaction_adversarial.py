"""No denied value, and no caller's key, ever reaches the Metrics API, however a client
spells it (SPEC 6).

Hypothesis picks a place a keyed value can be (query, form, JSON, multipart, headers,
cookies, URL headers, the response), a spelling of the denied key there (any case, any
character percent-encoded or JSON-escaped, bracketed, after a "#" or a ";"), and a
secret; the request goes through the middleware to the real collector, and the batches it
received are searched for the secret in every spelling: raw bytes, JSON strings decoded,
percent-decoded once and twice, "+" as a space or not, any case.
"""

from __future__ import annotations

import base64
import json
import re
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
        draw(st.sampled_from(["Referer", "X-Original-URL", "X-Forwarded-Uri", "Origin"])):
        "https://x.example/p" + _query(draw(st.sampled_from(["?", "?a=1&", "#"])),
                                       draw(url_key()), secret)["query"][3:]}},
    "json-header": lambda draw, secret: {"headers": {"X-Data": _json(
        draw(json_key()), secret, draw(st.integers(0, 4)), "")["body"].decode()}},
    # A link in a JSON body (pagination, a presigned URL): the key as a URL writes it.
    "json-link": lambda draw, secret: _json(
        '"next"', "https://x.example/p?" + _query(
            draw(st.sampled_from(["&", "#", ";"])),
            draw(st.sampled_from([KEY, KEY.upper(), "a[token]", "token[]"])), secret)["query"],
        0, draw(st.sampled_from(["application/json", "text/plain"]))),
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


# -- the caller's key ------------------------------------------------------------------------

# Letters and digits, and what keys hold besides (base64's "/" and "+", "=", "-", "_",
# ".", "~", ":"); no "?" (a mask's tail follows one) and no "Q" after the first character.
_KEY_CHARACTERS = _ALNUM.replace("Q", "") + "/+=-_.~:"


def _percent(draw: st.DrawFn, text: str) -> str:
    """``text`` with any character percent-encoded, as drawn (needed or not)."""
    return "".join(f"%{ord(c):02X}" if c in "/+=:%&;#" or draw(st.booleans()) else c
                   for c in text)


def _php_json(document: Any) -> str:
    """JSON as PHP's json_encode writes it: a slash escaped (\\/)."""
    return json.dumps(document).replace("/", "\\/")


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


CALLER_PLACES: dict[str, Callable[[st.DrawFn, str], dict[str, Any]]] = {
    "header": lambda draw, key: {"headers": {"X-Note": key}},
    "header-json": lambda draw, key: {"headers": {"X-Data": _php_json({"k": key, "n": 1})}},
    "forwarded-authorization": lambda draw, key: {"headers": {
        "X-Forwarded-Authorization": _basic(key, "")}},
    "cookie": lambda draw, key: {"headers": {"Cookie": f"a=1; c={key}"}},
    "query": lambda draw, key: {"query": f"a=1&k={_percent(draw, key)}"},
    "query-json": lambda draw, key: {"query": "f=" + quote(_php_json({"k": key}), safe="")},
    "referer": lambda draw, key: {"headers": {
        "Referer": f"https://x.example/p?k={_percent(draw, key)}"}},
    "referer-json": lambda draw, key: {"headers": {
        "Referer": "https://x.example/p?f=" + quote(_php_json([key]), safe="")}},
    "form": lambda draw, key: {"method": "POST", "body": f"k={_percent(draw, key)}".encode(),
                               "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
    "form-json": lambda draw, key: {
        "method": "POST", "body": b"d=" + quote(_php_json({"k": key}), safe="").encode(),
        "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
    "json-as-form": lambda draw, key: {
        "method": "POST", "body": json.dumps({"k": key}).encode(),
        "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
    "multipart": lambda draw, key: {
        "method": "POST", "headers": {"Content-Type": "multipart/form-data; boundary=XyZ"},
        "body": (f'--XyZ\r\nContent-Disposition: form-data; name="k"\r\n\r\n{key}\r\n'
                 f'--XyZ\r\nContent-Disposition: form-data; name="d"\r\n\r\n'
                 f'{_php_json([key])}\r\n--XyZ--\r\n').encode()},
    "json": lambda draw, key: {
        "method": "POST", "headers": {"Content-Type": "application/json"},
        "body": draw(st.sampled_from([_php_json({"k": key}), json.dumps({"m": json.dumps(
            {"k": key})}), json.dumps({"m": json.dumps({"n": json.dumps([key])})})])).encode()},
}


def _caller(request: Any) -> dict[str, str]:
    return {"api_key": request.headers["X-Caller"]}


def _base64_spells(bodies: list[bytes], key: str) -> list[str]:
    """The strings of the posted batches holding base64 (Basic credentials, a data URL)
    that decodes to a text holding ``key``."""
    hits = []
    for body in bodies:
        for text in re.findall(r"[A-Za-z0-9+/]{8,}={0,2}", body.decode("utf-8")):
            for start in range(4):  # base64 of the key starts at any of 4 offsets
                chunk = text[start:][:len(text[start:]) // 4 * 4]
                try:
                    if key.encode() in base64.b64decode(chunk):
                        hits.append(text)
                except ValueError:
                    continue
    return hits


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), place=st.sampled_from(sorted(CALLER_PLACES)),
       key=st.one_of(st.text(_KEY_CHARACTERS, min_size=7, max_size=14),
                     st.text(_ALNUM.replace("Q", ""), min_size=4, max_size=6)).map(
                         lambda tail: "Q" + tail),
       lists=st.sampled_from([{}, {"denylist": ["token"]}, {"allowlist": ["k", "d", "f"]}]))
def test_the_callers_key_never_reaches_the_collector(
        inline_wrap: Any, collector: Collector, data: st.DataObject, place: str, key: str,
        lists: dict[str, list[str]]) -> None:
    """The key the grouping function returns, a long one (8 characters or more) or a short
    one (only ever a whole value, or a whole string of JSON a value holds), wherever the
    request carried it (the response echoes the body), in no spelling in the batches:
    raw, percent-decoded once and twice, JSON-decoded (also in a JSON string of a
    JSON string), or base64 (Basic credentials, a data URL)."""
    request = CALLER_PLACES[place](data.draw, key)
    request.setdefault("headers", {})["X-Caller"] = key
    before = len(collector.received)
    exchange(inline_wrap(_echo_keyed, grouping_function=_caller, **lists), collector,
             path="/p", **request)
    bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    nested = [json.dumps(json.loads(text)).encode() for body in bodies
              for text in _json_strings(json.loads(body))]
    assert found(bodies + nested, key) == [] and _base64_spells(bodies, key) == [], request


def _echo_keyed(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """:func:`_echo` for JSON and forms, the keyed bodies a response has; any other body
    (multipart, which a short key is masked in as a request's field only) is not sent
    back."""
    if "json" in environ.get("CONTENT_TYPE", "") or "urlencoded" in environ.get(
            "CONTENT_TYPE", ""):
        return _echo(environ, start_response)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def _json_strings(node: Any) -> list[str]:
    """The strings in ``node`` that are JSON documents themselves (in strings too)."""
    if isinstance(node, dict):
        return [s for item in node.values() for s in _json_strings(item)]
    if isinstance(node, list):
        return [s for item in node for s in _json_strings(item)]
    if isinstance(node, str) and node[:1] in "{[":
        try:
            inner = json.loads(node)
        except ValueError:
            return []
        return [node, *_json_strings(inner)]
    return []
