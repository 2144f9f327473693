"""secrets17: what secrets16 left in clear, or masked where nothing was secret.

* The caller's key base64-encoded and wrapped across lines (MIME's 76 columns, PEM's 64)
  in a form or multipart field, or a query's value: only bodies were looked at so.
* The key base64-encoded in a query's value or a cookie percent-encoded as urlencode
  writes it (``+``, ``/``, ``=`` as %2B, %2F, %3D): the spelling held a "+" or a "/",
  and was not found as written (a key whose spelling holds neither was masked).
* URL-safe base64 (``-``, ``_``) wrapped across lines: only the standard alphabet was
  read so.
* A run of base64 read from just after an escaped backslash (``\\\\u0041`` in a JSON
  string: a backslash and "u0041") was written again unescaped after that backslash:
  ``\\A``, invalid JSON.
* A settings row naming a credential header with a scheme's name as its value
  (``{"name": "auth", "value": "oauth2"}``) was masked: it holds no secret.

Each leak case goes through the WSGI middleware to the collector on 127.0.0.1, and the
posted batch is searched for the key in every spelling a reader can decode (review72's
search: as is, percent- or JSON-decoded, line breaks taken out, base64 at each
alignment in either alphabet).
"""

from __future__ import annotations

import base64
import json
from typing import Any, Callable
from urllib.parse import quote, unquote

import pytest

from readme_metrics import MetricsMiddleware
from tests.support.contract import exchange, reading_app, spec_mask
from tests.support.fake_api import Collector
from tests.test_secrets16_findings import _sent as sent_with_key
from tests.test_secrets16_findings import _wrapped

KEY = "sk_live_secrets17Kq9Zx3Vw8"
# A key whose base64 spellings hold "+" and "/" (and "-", "_" in the URL-safe alphabet)
# at every alignment.
SIGNED = "sk_live_s17>>>???Kq9Zx3Vw8"
JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _b64(text: str, urlsafe: bool = False) -> str:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return encode(text.encode()).decode("ascii")


def _long(key: str, urlsafe: bool = False) -> str:
    """A certificate-like blob long enough to wrap, the key's credential in the middle."""
    return _b64("x" * 40 + "owl:" + key + "y" * 60, urlsafe)


def _sent(collector: Collector, wrap: Callable[..., MetricsMiddleware], app: Any = None,
          key: str = KEY, **request: Any) -> tuple[list[str], dict[str, Any]]:
    return sent_with_key(collector, wrap, app, key, **request)


def _multipart(value: str) -> dict[str, Any]:
    return {"method": "POST", "headers": {"Content-Type": "multipart/form-data; boundary=b"},
            "body": (b'--b\r\nContent-Disposition: form-data; name="c"\r\n\r\n'
                     + value.encode() + b"\r\n--b--\r\n")}


OUTSIDE_THE_BODIES = {
    "form field, MIME 76": {"method": "POST", "headers": FORM, "body": (
        "c=" + quote(_wrapped(_long(KEY), 76, "\r\n"), safe="") + "&n=1").encode()},
    "multipart field, PEM 64": _multipart(_wrapped(_long(KEY), 64, "\n")),
    "query value, PEM 64": {"method": "GET",
                            "query": "c=" + quote(_wrapped(_long(KEY), 64, "\n"), safe="")},
    "query value, +/ percent-encoded": {"method": "GET", "key": SIGNED, "query": "&".join(
        f"c{lead}=" + quote(_b64(lead + SIGNED), safe="") for lead in ("", "a", "ab"))},
    "cookie, +/ percent-encoded": {"method": "GET", "key": SIGNED, "headers": {
        "Cookie": "a=1; creds=" + quote(_b64("owl:" + SIGNED), safe="")}},
    "form field, url-safe PEM 64": {"method": "POST", "key": SIGNED, "headers": FORM,
                                    "body": ("c=" + quote(_wrapped(
                                        _long(SIGNED, True), 64, "\n"), safe="")).encode()},
}


@pytest.mark.parametrize("request_", list(OUTSIDE_THE_BODIES.values()),
                         ids=list(OUTSIDE_THE_BODIES))
def test_the_key_in_broken_base64_outside_the_bodies_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        request_: dict[str, Any]) -> None:
    hits, _ = _sent(collector, inline_wrap, **request_)
    assert hits == []


def test_a_wrapped_form_field_still_decodes_with_the_keys_mask(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    """The field is written again wrapped as it was, what stood around the key kept."""
    blob = _wrapped(_long(KEY), 76, "\r\n")
    _, entry = _sent(collector, inline_wrap, method="POST", headers=FORM,
                     body=("c=" + quote(blob, safe="") + "&n=1").encode())
    params = entry["request"]["postData"]["params"]
    assert params[1] == {"name": "n", "value": "1"}
    lines = params[0]["value"].split("\r\n")
    assert {len(line) for line in lines[:-1]} == {76}
    assert base64.b64decode("".join(lines)) == (
        "x" * 40 + "owl:" + spec_mask(KEY) + "y" * 60).encode()


def test_a_percent_encoded_query_value_is_masked_and_the_url_stays_valid(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    encoded = quote(_b64("owl:" + SIGNED), safe="")
    assert "%2B" in encoded or "%2F" in encoded
    _, entry = _sent(collector, inline_wrap, key=SIGNED, method="GET",
                     path="/p/a", query="c=" + encoded + "&n=1")
    url = entry["request"]["url"]
    assert "/p/a?c=" in url and url.endswith("&n=1")
    value = unquote(url.split("?c=", 1)[1].split("&", 1)[0])
    assert base64.b64decode(value + "=" * (-len(value) % 4)).decode() == (
        "owl:" + spec_mask(SIGNED))
    assert entry["request"]["queryString"][0] == {"name": "c", "value": value}


@pytest.mark.parametrize("text", [
    _wrapped(_long(SIGNED, True), 64, "\n"),
    json.dumps({"blob": _wrapped(_long(SIGNED, True), 76, "\r\n")}),
    json.dumps({"pad": "p" * 2000, "blob": _wrapped(_long(SIGNED, True), 76, "\r\n")}),
], ids=["text, PEM 64", "JSON, MIME 76 escaped", "JSON over 1 KB"])
def test_the_key_in_wrapped_url_safe_base64_in_a_body_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        text: str) -> None:
    kind = "application/json" if text.startswith("{") else "text/plain"
    hits, entry = _sent(collector, inline_wrap, key=SIGNED, method="POST",
                        body=text.encode(), headers={"Content-Type": kind})
    assert hits == []
    logged = entry["request"]["postData"]["text"]
    if kind == "application/json":
        blob = json.loads(logged)["blob"]
        assert base64.urlsafe_b64decode(blob.replace("\r\n", "")) == (
            "x" * 40 + "owl:" + spec_mask(SIGNED) + "y" * 60).encode()


def test_a_run_after_an_escaped_backslash_keeps_the_json_valid(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    """``\\\\u0041`` is a backslash and "u0041": no escape of an "A" to read base64 from.
    The run read from its second backslash was written again as "A...", after the first:
    ``\\A``, which no JSON reader takes."""
    text = '{"blob": "\\\\u0041' + json.dumps(_wrapped(_long(KEY), 64, "\n"))[1:-1] + '"}'
    json.loads(text)
    hits, entry = _sent(collector, inline_wrap, method="POST", body=text.encode(),
                        headers=JSON)
    assert hits == []
    blob = json.loads(entry["request"]["postData"]["text"])["blob"]
    assert blob.startswith("\\u0041")


@pytest.mark.parametrize("text", [
    '[{"name":"auth","value":"oauth2"},{"name":"theme","value":"dark"}]',
    '[{"name":"Authorization","value":"Bearer"},{"name":"x-api-key","value":"header"}]',
    '{"security":[{"name":"token","value":"JWT"},{"name":"auth","value":"apiKey"}]}',
    '[["auth","basic"],["authorization","digest"]]',
])
def test_a_scheme_name_alone_in_a_settings_row_is_kept(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        text: str) -> None:
    _, _, entry = exchange(inline_wrap(reading_app()), collector, method="POST",
                           body=text.encode(), headers=JSON)
    assert entry["request"]["postData"]["text"] == text


@pytest.mark.parametrize("value", ["Bearer abc123", "oauth2-s3cr3t", "basic:x"])
def test_a_scheme_with_a_credential_is_still_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        value: str) -> None:
    text = json.dumps([{"name": "auth", "value": value}])
    _, _, entry = exchange(inline_wrap(reading_app()), collector, method="POST",
                           body=text.encode(), headers=JSON)
    assert json.loads(entry["request"]["postData"]["text"]) == [
        {"name": "auth", "value": spec_mask(value)}]


def _escaped(text: str, every: bool = True) -> str:
    return "".join(f"\\u{ord(c):04x}" if every or c.isalpha() else c for c in text)


@pytest.mark.parametrize("every", [True, False], ids=["every character", "letters"])
@pytest.mark.parametrize("side", ["request", "response"])
def test_the_key_in_escaped_base64_in_a_long_json_body_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        side: str, every: bool) -> None:
    """A body of 1 KB or more was looked at for a spelling only when its probe
    characters were there: ``\\u``-escaped, they are not (secrets16 read a short body
    so; a long one went out in clear)."""
    text = json.dumps({"pad": "p " * 1000})[:-1] + (
        ', "auth": "Basic ' + _escaped(_b64("owl:" + KEY), every) + '"}')
    assert len(text) > 1024
    if side == "request":
        hits, entry = _sent(collector, inline_wrap, method="POST", body=text.encode(),
                            headers=JSON)
        logged = entry["request"]["postData"]["text"]
    else:
        app = reading_app(headers=[("Content-Type", "application/json")],
                          body=[text.encode()])
        hits, entry = _sent(collector, inline_wrap, app=app, method="GET")
        logged = entry["response"]["content"]["text"]
    assert hits == []
    auth = json.loads(logged)["auth"].split(" ")[1]
    assert base64.b64decode(auth + "=" * (-len(auth) % 4)).decode() == (
        "owl:" + spec_mask(KEY))


# -- found by the hunt (tests/test_secrets17_hunt.py) -------------------------------------

HUNTED = {
    "form field name": {"method": "POST", "headers": FORM,
                        "body": ("creds%3D" + quote(_b64("owl:" + KEY), safe="") + "=1").encode()},
    "multipart file name": {
        "method": "POST", "headers": {"Content-Type": "multipart/form-data; boundary=b"},
        "body": (b'--b\r\nContent-Disposition: form-data; name="f"; filename="'
                 + _b64("u:" + KEY).encode() + b'"\r\nContent-Type: text/plain\r\n\r\n'
                 b"hi\r\n--b--\r\n")},
    "response form, +/ percent-encoded": {
        "method": "GET", "key": SIGNED, "app": reading_app(
            headers=[("Content-Type", "application/x-www-form-urlencoded")],
            body=[("c=" + quote(_b64("owl:" + SIGNED), safe="") + "&n=1").encode()])},
    "JSON, line breaks \\u-escaped": {
        "method": "POST", "headers": JSON, "body": (
            '{"b": "' + _escaped(_wrapped(_long(KEY), 64, "\r\n")) + '"}').encode()},
}


@pytest.mark.parametrize("request_", list(HUNTED.values()), ids=list(HUNTED))
def test_the_key_in_base64_where_the_hunt_found_it_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        request_: dict[str, Any]) -> None:
    hits, entry = _sent(collector, inline_wrap, **request_)
    assert hits == []
    if "filename" in request_.get("body", b"").decode():
        (part,) = entry["request"]["postData"]["params"]
        assert part["value"].startswith(f"data:text/plain;name={part['fileName']};base64,")


# -- the library's log lines with a short key -------------------------------------------

def k() -> None:
    """A function named as a one-character key, raising on a line a short key numbers;
    its source line quotes the key."""
    raise KeyError("k")


@pytest.mark.parametrize("key", ["k", str(k.__code__.co_firstlineno + 3)])
def test_a_short_key_leaves_a_tracebacks_line_numbers_and_names(key: str) -> None:
    """A short secret was hidden wherever no letter or digit touched it in a traceback:
    ``line [REDACTED], in k`` for the key "77", ``in [REDACTED]`` for "k". Line numbers
    and function names are code; the source line (which may quote the key) and the
    file's path are still hidden."""
    from readme_metrics._logging import HIDDEN, withheld_traceback

    try:
        k()
    except KeyError as exc:
        text = withheld_traceback(exc, [key])
    line = k.__code__.co_firstlineno + 3
    assert f'test_secrets17_findings.py", line {line}, in k\n' in text
    if key == "k":
        assert f'raise KeyError("{HIDDEN}")' in text
    assert "builtins.KeyError (message withheld)" in text
