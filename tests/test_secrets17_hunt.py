"""secrets17's leak hunt: the caller's key, in each spelling a reader of the log decodes
(as is, percent-encoded, JSON-escaped, base64 in either alphabet at any alignment, padded
or not, wrapped at 64 or 76 columns, and those combined), put in one part of an exchange
(the url's path and query, a header's name or value, a cookie, a form or multipart field
or file name, a JSON member's name or value, XML, a text body, the response's headers
and body), must not reach the collector in any of those spellings; and a JSON body that
was valid JSON stays so.

Hypothesis draws the spelling and the place (a few dozen examples here; the session ran
thousands). Each example goes through the WSGI middleware to the collector on 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any, Callable
from urllib.parse import quote, quote_plus, unquote, unquote_plus

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics import MetricsMiddleware
from tests.support.contract import exchange, reading_app
from tests.support.fake_api import Collector
from tests.test_review72_findings import _spelled

# Long keys: plain, one whose base64 holds "+" and "/" at every alignment, one with
# characters a URL or JSON escapes.
KEYS = ["sk_live_hunt17Kq9Zx3Vw8", "sk_live_h17>>>???Kq9Zx3Vw8", "hunt17/key+with space&=%"]


def _json_unescaped(text: str) -> str:
    try:
        value = json.loads('"' + text.replace('"', '\\"') + '"')
    except ValueError:
        return text
    return value if isinstance(value, str) else text


def _views(text: str) -> set[str]:
    views = {text}
    for _ in range(2):
        views |= {form for view in list(views) for form in (
            unquote(view), unquote_plus(view), _json_unescaped(view))}
    return {v.replace("\r", "").replace("\n", "").replace("\\r", "").replace("\\n", "")
            for v in views} | views


def leaks(batches: list[bytes], key: str) -> list[str]:
    """Each string of the posted batches (JSON documents in them looked into) that
    spells ``key`` (review72's spellings: the key and its base64) in any view
    (:func:`_views`)."""
    return _spelled(batches, key, _views)


@st.composite
def spellings(draw: Any, key: str) -> str:
    """The key spelled as a client may send it."""
    how = draw(st.sampled_from(["plain", "base64", "base64", "base64"]))
    if how == "plain":
        text = key
    else:
        lead = draw(st.sampled_from(["", "u:", "ab", "owl:", "x" * 41]))
        tail = draw(st.sampled_from(["", "y", "y" * 61]))
        data = (lead + key + tail).encode()
        urlsafe = draw(st.booleans())
        text = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(data).decode()
        if draw(st.booleans()):
            text = text.rstrip("=")
        width = draw(st.sampled_from([0, 0, 64, 76]))
        if width and len(text) > width:
            newline = draw(st.sampled_from(["\n", "\r\n"]))
            text = newline.join(text[at:at + width] for at in range(0, len(text), width))
        if draw(st.booleans()):
            text = draw(st.sampled_from(["Basic ", "Bearer ", "creds=", ""])) + text
    return text


PLACES = ["path", "query value", "query name", "header value", "header json",
          "cookie", "form value", "form name", "multipart value", "multipart file name",
          "json value", "json name", "json escaped", "xml", "text",
          "response header", "response json", "response text", "response form",
          "response cookie", "response location",
          # secrets19: the status text, the client's address (an X-Forwarded-For hop
          # behind trusted_proxies), names of headers and cookies, a Set-Cookie's path.
          "status text", "client ip", "header name", "cookie name", "response header name",
          "response cookie name", "response cookie path"]


def _flat(text: str) -> str:
    """``text`` on one line (a status line, a header's value)."""
    return text.replace("\r\n", " ").replace("\n", " ")


def _token(text: str) -> str:
    """``text`` as a name can carry it: its base64 (or key) characters only."""
    return "".join(c for c in text if c.isalnum() or c in "+/_-") or "x"


def _request(place: str, text: str) -> tuple[dict[str, Any], Any]:
    """The request (and app) carrying ``text`` at ``place``."""
    app = None
    json_type = {"Content-Type": "application/json"}
    pad = "p " * 600  # past 1 KB: a long body's probes
    if place == "path":
        # As a server passes it on, decoded (build_url percent-encodes it again).
        return {"method": "GET", "path": "/s/" + text}, app
    if place == "query value":
        return {"method": "GET", "query": "a=1&c=" + quote(text, safe="") + "&d=2"}, app
    if place == "query name":
        return {"method": "GET", "query": quote_plus(text) + "=1"}, app
    if place == "header value":
        return {"method": "GET", "headers": {"X-Blob": text.replace("\r\n", " ").replace(
            "\n", " ")}}, app
    if place == "header json":
        return {"method": "GET", "headers": {"X-Blob": json.dumps({"b": text})}}, app
    if place == "cookie":
        return {"method": "GET", "headers": {"Cookie": "a=1; c=" + quote(text, safe="")}}, app
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    if place == "form value":
        return {"method": "POST", "headers": form,
                "body": ("c=" + quote_plus(text) + "&n=1").encode()}, app
    if place == "form name":
        return {"method": "POST", "headers": form, "body": (quote_plus(text) + "=1").encode()}, app
    multipart = {"Content-Type": "multipart/form-data; boundary=b"}
    if place == "multipart value":
        return {"method": "POST", "headers": multipart, "body": (
            b'--b\r\nContent-Disposition: form-data; name="c"\r\n\r\n' + text.encode()
            + b"\r\n--b--\r\n")}, app
    if place == "multipart file name":
        name = text.replace("\r\n", "").replace("\n", "").replace('"', "")
        return {"method": "POST", "headers": multipart, "body": (
            b'--b\r\nContent-Disposition: form-data; name="f"; filename="'
            + name.encode() + b'"\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n')}, app
    if place == "json value":
        return {"method": "POST", "headers": json_type,
                "body": json.dumps({"pad": pad, "c": text}).encode()}, app
    if place == "json name":
        return {"method": "POST", "headers": json_type,
                "body": json.dumps({text: 1, "pad": pad}).encode()}, app
    if place == "json escaped":
        return {"method": "POST", "headers": json_type, "body": (
            '{"pad": "' + pad + '", "c": "' + "".join(f"\\u{ord(c):04x}" for c in text)
            + '"}').encode()}, app
    if place == "xml":
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return {"method": "POST", "headers": {"Content-Type": "application/xml"},
                "body": f"<a><c>{escaped}</c></a>".encode()}, app
    if place == "text":
        return {"method": "POST", "headers": {"Content-Type": "text/plain"},
                "body": (pad + text).encode()}, app
    if place == "response header":
        value = text.replace("\r\n", " ").replace("\n", " ")
        app = reading_app(headers=[("Content-Type", "text/plain"), ("X-Echo", value)])
        return {"method": "GET"}, app
    if place in ("response cookie", "response location"):
        value = quote(text, safe="")
        header = ("Set-Cookie", f"c={value}; Path=/") if place == "response cookie" else (
            "Location", f"/next?c={value}")
        app = reading_app(status="302 Found", headers=[("Content-Type", "text/plain"), header])
        return {"method": "GET"}, app
    if place == "response json":
        app = reading_app(headers=[("Content-Type", "application/json")],
                          body=[json.dumps({"pad": pad, "c": text}).encode()])
        return {"method": "GET"}, app
    if place == "response form":
        app = reading_app(headers=[("Content-Type", "application/x-www-form-urlencoded")],
                          body=[("c=" + quote_plus(text) + "&n=1").encode()])
        return {"method": "GET"}, app
    plain = [("Content-Type", "text/plain")]
    if place == "status text":
        return {"method": "GET"}, reading_app(status="401 Unknown " + _flat(text), headers=plain)
    if place == "client ip":  # (check() trusts one proxy)
        return {"method": "GET", "headers": {"X-Forwarded-For": "10.0.0.1, " + _flat(text)}}, app
    if place == "header name":
        return {"method": "GET", "headers": {"X-" + _token(text): "1"}}, app
    if place == "cookie name":
        return {"method": "GET", "headers": {"Cookie": f"a=1; {_token(text)}=1"}}, app
    if place == "response header name":
        return {"method": "GET"}, reading_app(headers=[*plain, ("X-" + _token(text), "1")])
    if place == "response cookie name":
        return {"method": "GET"}, reading_app(headers=[
            *plain, ("Set-Cookie", f"{_token(text)}=1; Path=/")])
    if place == "response cookie path":
        return {"method": "GET"}, reading_app(headers=[
            *plain, ("Set-Cookie", f"c=1; Path=/p/{_token(text)}")])
    app = reading_app(headers=plain, body=[text.encode()])
    return {"method": "GET"}, app


class _Said(logging.Handler):
    """The library's log lines, formatted (a traceback included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(logging.Formatter().format(record))


@st.composite
def planted(draw: Any) -> tuple[str, str, str]:
    key = draw(st.sampled_from(KEYS))
    return key, draw(st.sampled_from(PLACES)), draw(spellings(key))


def check(collector: Collector, wrap: Callable[..., MetricsMiddleware], key: str,
          place: str, text: str) -> None:
    request, app = _request(place, text)
    middleware = wrap(app or reading_app(),
                      grouping_function=lambda req: {"api_key": key, "label": "owl"},
                      trusted_proxies=1 if place == "client ip" else 0)
    before = len(collector.received)
    # The library's own lines too, at DEBUG (secrets19): none may spell the key.
    said = _Said()
    library = logging.getLogger("readme_metrics")
    level = library.level
    library.addHandler(said)
    library.setLevel(logging.DEBUG)
    try:
        _, _, entry = exchange(middleware, collector, **request)
    finally:
        library.removeHandler(said)
        library.setLevel(level)
    bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    assert leaks(bodies, key) == [], (place, text)
    assert leaks([json.dumps(said.lines).encode()], key) == [], (place, said.lines)
    for sent, logged in ((request.get("body"), entry["request"].get("postData", {})),
                         (b"".join(getattr(app, "body", [])) if app else None,
                          entry["response"]["content"])):
        if sent and "json" in (logged.get("mimeType") or ""):
            json.loads(logged["text"])


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(planted())
def test_the_callers_key_reaches_the_collector_in_no_spelling(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        case: tuple[str, str, str]) -> None:
    check(collector, inline_wrap, *case)
