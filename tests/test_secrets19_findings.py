"""secrets19: what secrets18 left of the caller's key in the log (SPEC 6).

* The key's base64 (``Basic base64("user:" + key)``, any alignment, either alphabet) was
  masked in the url, the headers' values, the cookies' values, the fields and the
  bodies, not in the response's status text (a server's "401 Unknown token <base64>";
  the comment quoting a status no status line carries),
  the client's address (behind ``trusted_proxies``, an X-Forwarded-For hop as the client
  wrote it), a header's or a cookie's name, a Set-Cookie's path or domain, nor in a
  body's mimeType that an allowlist left (the Content-Type as sent).
* A key starting with a character JSON escapes ("/v1/keys/..."), after a backslash in a
  JSON text: the escape's backslash went with the key (``"\\sha512-..."``: no JSON), or
  an escaped backslash just before it was dropped and the body written again.

Each exchange goes through the WSGI middleware to the collector on 127.0.0.1; the posted
batch is searched with the hunt's :func:`tests.test_secrets17_hunt.leaks`.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Callable, Optional

import pytest

from readme_metrics import MetricsMiddleware
from readme_metrics.exchange import Exchange, Group
from readme_metrics.har import build_log
from tests.support.contract import exchange, reading_app
from tests.support.fake_api import Collector
from tests.test_secrets17_hunt import leaks

LONG = "sk_live_secrets19Kq9Zx3Vw8"
# Its base64 holds "+" and "/" at every alignment.
SLASHED = "sk_live_s19>>>???Kq9Zx3Vw8"
NUMERIC = "12345678"
KEYS = [LONG, SLASHED, NUMERIC]
USERS = ["user:", "u:", "ab:", ""]


def _b64(text: str, urlsafe: bool = False) -> str:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return encode(text.encode()).decode("ascii")


def _blobs(key: str) -> list[str]:
    """The key's credential in base64, for each user, padded and not, either alphabet."""
    out = []
    for user in USERS:
        for urlsafe in (False, True):
            blob = _b64(user + key, urlsafe)
            out += [blob, blob.rstrip("=")]
    return list(dict.fromkeys(out))


def _sent(collector: Collector, wrap: Callable[..., MetricsMiddleware], key: str,
          app: Any = None, options: Optional[dict[str, Any]] = None, **request: Any
          ) -> tuple[list[str], dict[str, Any]]:
    """One exchange through the middleware: the posted batch's leaks of ``key``, the log."""
    middleware = wrap(app or reading_app(),
                      grouping_function=lambda req: {"api_key": key, "label": "owl"},
                      **(options or {}))
    before = len(collector.received)
    _, log, _ = exchange(middleware, collector, **request)
    bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    assert bodies
    return leaks(bodies, key), log


# -- (a) the status text, the client's address ---------------------------------------------


@pytest.mark.parametrize("key", KEYS)
def test_the_keys_base64_in_the_status_text_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware], key: str) -> None:
    for blob in _blobs(key):
        app = reading_app(f"401 Unknown token Basic {blob}", [("Content-Type", "text/plain")])
        hits, log = _sent(collector, inline_wrap, key, app)
        response = log["request"]["log"]["entries"][0]["response"]
        assert hits == [], response["statusText"]
        assert response["status"] == 401
        assert response["statusText"].startswith("Unknown token Basic ")


@pytest.mark.parametrize("key", KEYS)
def test_the_keys_base64_in_the_comment_quoting_a_status_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware], key: str) -> None:
    """A status no status line carries ("2000 ..."): logged as 500, the comment quoting
    the app's status line."""
    for blob in _blobs(key):
        app = reading_app(f"2000 Basic {blob}", [("Content-Type", "text/plain")])
        hits, log = _sent(collector, inline_wrap, key, app)
        response = log["request"]["log"]["entries"][0]["response"]
        assert hits == [], response.get("comment")
        assert response["status"] == 500 and "2000 Basic " in response["comment"]


@pytest.mark.parametrize("key", KEYS)
def test_the_keys_base64_in_the_client_address_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware], key: str) -> None:
    """Behind trusted_proxies=1 the address is the last X-Forwarded-For hop, which a
    client reaching the app directly writes itself."""
    for blob in _blobs(key):
        for forwarded in (blob, f"Basic {blob}", f"10.0.0.1, {blob}"):
            hits, log = _sent(collector, inline_wrap, key, options={"trusted_proxies": 1},
                              headers={"X-Forwarded-For": forwarded})
            assert hits == [], log["clientIPAddress"]


def test_an_ordinary_client_address_is_kept(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    hits, log = _sent(collector, inline_wrap, LONG, options={"trusted_proxies": 1},
                      headers={"X-Forwarded-For": "203.0.113.7, 10.0.0.1"})
    assert hits == [] and log["clientIPAddress"] == "10.0.0.1"


# -- (b) a numeric key's base64 in the headers' values and Set-Cookie ----------------------


@pytest.mark.parametrize("key", [NUMERIC, "123456789012", "12345678.5"])
def test_a_numeric_keys_base64_in_header_values_and_set_cookie_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware], key: str) -> None:
    """(Passed before this session too: kept as the numeric rows of the names below.)"""
    for blob in _blobs(key):
        app = reading_app("200 OK", [("Content-Type", "text/plain"), ("X-Echo", blob),
                                     ("Set-Cookie", f"c={blob}; Path=/")])
        hits, _ = _sent(collector, inline_wrap, key, app,
                        headers={"X-Blob": f"Basic {blob}", "X-Json": json.dumps({"b": blob})})
        assert hits == [], blob


# -- (c) names: headers, cookies, a Set-Cookie's attributes --------------------------------


def _named(place: str, blob: str) -> tuple[dict[str, Any], Any]:
    """The request (and app) carrying ``blob`` as a name, or a Set-Cookie's path."""
    plain = [("Content-Type", "text/plain")]
    name = blob.rstrip("=")  # (no "=" in a cookie's name)
    if place == "request header":  # WSGI passes it on title-cased, "-" for "_"
        return {"headers": {"X-" + name: "1"}}, None
    if place == "response header":
        return {}, reading_app("200 OK", [*plain, ("X-" + name, "1")])
    if place == "cookie":
        return {"headers": {"Cookie": f"a=1; {name}=1"}}, None
    if place == "cookie, percent-encoded":
        return {"headers": {"Cookie": name.replace("+", "%2B").replace("/", "%2F") + "=1"}}, None
    if place == "set-cookie":
        return {}, reading_app("200 OK", [*plain, ("Set-Cookie", f"{name}=1; Path=/")])
    return {}, reading_app("200 OK", [*plain, ("Set-Cookie", f"s=1; Path=/p/{blob}")])


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("place", ["request header", "response header", "cookie",
                                   "cookie, percent-encoded", "set-cookie",
                                   "set-cookie path"])
def test_the_keys_base64_in_a_name_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        key: str, place: str) -> None:
    for blob in _blobs(key):
        request, app = _named(place, blob)
        hits, log = _sent(collector, inline_wrap, key, app, **request)
        entry = log["request"]["log"]["entries"][0]
        assert hits == [], (blob, entry["request"]["headers"], entry["response"])
        if place == "request header":
            # Title-cased, it no longer decodes as written, yet reads back: the whole
            # run is the mask.
            names = {h["name"].lower() for h in entry["request"]["headers"]}
            assert not any(_b64(key).lower()[:8] in n for n in names if "sha512" not in n)


def test_a_header_name_without_the_key_is_kept(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    name = "X-" + _b64("user:someone-else-entirely").rstrip("=")
    hits, log = _sent(collector, inline_wrap, LONG, reading_app(
        "200 OK", [("Content-Type", "text/plain"), (name, "1")]))
    assert hits == []
    assert name in {h["name"] for h in log["request"]["log"]["entries"][0]["response"]["headers"]}


def test_the_keys_base64_in_a_mime_type_an_allowlist_keeps_is_masked() -> None:
    """The allowlist hides the Content-Type header; mimeType is the HAR's own field and
    shows it as sent (no lists decide it), the key's base64 masked there too."""
    from readme_metrics.har.redaction import Redactor

    for blob in _blobs(LONG):
        content_type = f"text/plain; boundary={blob}"
        log = build_log(Exchange(
            id="x", started=0.0, method="GET", url="http://api.test/", http_version="HTTP/1.1",
            request_headers=[("Host", "api.test")], client_ip="127.0.0.1", group=Group(LONG),
            status=200, status_text="OK", response_headers=[("Content-Type", content_type)],
            response_body=b"ok", response_body_size=2), redactor=Redactor(None, ["host"]))
        assert leaks([json.dumps(log).encode()], LONG) == [], blob
        mime = log["request"]["log"]["entries"][0]["response"]["content"]["mimeType"]
        assert mime.startswith("text/plain; boundary=")


# -- (d) a backslash before a key JSON escapes ---------------------------------------------

ROOTED = "/v1/keys/secret-0001"


@pytest.mark.parametrize(("sent", "kept"), [
    # An escaped backslash, then the key with its "/" escaped: the backslash is data.
    ('{"c": "\\\\\\/v1\\/keys\\/secret-0001", "n": 1}', '{"c": "\\\\'),
    # An escaped backslash, then the key as is.
    ('{"c": "\\\\/v1/keys/secret-0001", "n": 1}', '{"c": "\\\\'),
    # The key with its first "/" escaped: the backslash is the escape's.
    ('{"c": "\\/v1/keys/secret-0001", "n": 1}', '{"c": "'),
    ('{"c": "x\\/v1/keys/secret-0001", "n": 1}', '{"c": "x'),
])
@pytest.mark.parametrize("where", ["request body", "response body", "header"])
def test_a_key_after_a_backslash_in_json_is_masked_and_the_json_kept(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        sent: str, kept: str, where: str) -> None:
    expected = json.loads(sent)["c"].replace(ROOTED, "\0")
    json_type = [("Content-Type", "application/json")]
    if where == "request body":
        hits, log = _sent(collector, inline_wrap, ROOTED, method="POST", body=sent.encode(),
                          headers=dict(json_type))
        text = log["request"]["log"]["entries"][0]["request"]["postData"]["text"]
    elif where == "response body":
        hits, log = _sent(collector, inline_wrap, ROOTED, reading_app(
            "200 OK", json_type, [sent.encode()]))
        text = log["request"]["log"]["entries"][0]["response"]["content"]["text"]
    else:
        hits, log = _sent(collector, inline_wrap, ROOTED, headers={"X-Json": sent})
        text = next(h["value"] for h in log["request"]["log"]["entries"][0]["request"]["headers"]
                    if h["name"] == "X-Json")
    assert hits == [], text
    document = json.loads(text)  # still JSON
    assert text.startswith(kept + "sha512-"), text  # in place, the data before it kept
    assert document["n"] == 1
    # What stood before the key is still there (an escaped "/" read is the key's).
    assert document["c"].split("sha512-")[0] == expected.split("\0")[0].rstrip("/"), text
