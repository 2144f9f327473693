"""secrets18: the caller's key base64-encoded in a URL's path wrecked the logged URL.

``http://h/files/<base64 of "user:" + key>/download?x=1`` was logged as
``http:sha512-...?x=1`` (review75): the run of base64 characters crosses the path's "/"
(one of base64's), did not decode as a whole, and the whole run became the mask, the
host and the path gone. When it did decode (with the segments after it read as base64
too), they were written again shifted by the mask's length: ``.../<masked>D92jCeWhpw``
for ``/download``. The percent-encoded form (secrets17's masked_encoded_runs) did the
same. SPEC 5/6: the URL is logged with only the secret masked, so the log still says
which endpoint was called.

Each case goes through the WSGI middleware to the collector on 127.0.0.1; the posted
batch is searched for the key in every spelling a reader can decode (the hunt's
:func:`tests.test_secrets17_hunt.leaks`).
"""

from __future__ import annotations

import base64
from typing import Any, Callable
from urllib.parse import quote, unquote

import pytest

from readme_metrics import MetricsMiddleware
from tests.support.contract import reading_app, spec_mask
from tests.support.fake_api import Collector
from tests.support.har_check import assert_valid_log
from tests.support.wsgi import run_wsgi, wsgi_environ
from tests.test_secrets17_hunt import leaks

# Keys whose credential's base64 ends unpadded, with "=" and with "==" (after "user:",
# "u:", "ab:"), and one whose spellings hold "+" and "/" at every alignment.
KEYS = ["sk_live_secrets18Kq9Zx3Vw8", "sk_live_secrets18Kq9Zx3Vw8x",
        "sk_live_secrets18Kq9Zx3Vw8xy", "sk_live_s18>>>???Kq9Zx3Vw8"]
USERS = ["user:", "u:", "ab:"]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")


ENCODINGS: dict[str, Callable[[str], str]] = {
    "as is": lambda blob: blob,
    "unpadded": lambda blob: blob.rstrip("="),
    "percent-encoded": lambda blob: quote(blob, safe=""),
    "percent-encoded, / kept": quote,
}
# (path before, path after, query): the key's segment in the middle, at the end, last
# before a query, among more segments.
PLACES = {
    "middle, query": ("/files/", "/download", "x=1"),
    "middle": ("/files/", "/download", ""),
    "end": ("/files/", "", ""),
    "end, query": ("/files/", "", "x=1"),
    "short after": ("/files/", "/d", "x=1"),
    "two after": ("/files/", "/dl", ""),
    "deep": ("/v1/a/files/", "/download/b/c", "x=1&y=2"),
}


def _sent(collector: Collector, wrap: Callable[..., MetricsMiddleware], key: str,
          target: str, app: Any = None) -> tuple[list[str], dict[str, Any]]:
    """One GET of ``target`` (as the client wrote it: RAW_URI, as gunicorn gives it)
    through the middleware; the posted batch's leaks of ``key``, and the HAR entry."""
    middleware = wrap(app or reading_app(),
                      grouping_function=lambda req: {"api_key": key, "label": "owl"})
    path, _, query = target.partition("?")
    environ = wsgi_environ(path=unquote(path), query=query, headers={"Host": "h"})
    environ["RAW_URI"] = target
    before, logs_before = len(collector.received), len(collector.logs)
    run_wsgi(middleware, environ)
    assert middleware.flush(5.0) is True
    logs = collector.wait_for_logs(logs_before + 1)
    assert len(logs) == logs_before + 1
    assert_valid_log(logs[-1])
    bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    assert bodies
    return leaks(bodies, key), logs[-1]["request"]["log"]["entries"][0]


def _targets(key: str, encoding: str, place: str) -> list[tuple[str, str, str]]:
    """(target, what the logged URL starts with, what it ends with) for each user."""
    before, after, query = PLACES[place]
    end = after + ("?" + query if query else "")
    return [(before + ENCODINGS[encoding](_b64(user + key)) + end, "http://h" + before, end)
            for user in USERS]


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("encoding", list(ENCODINGS))
@pytest.mark.parametrize("place", list(PLACES))
def test_the_keys_base64_in_a_path_segment_is_masked_and_the_url_kept(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        key: str, encoding: str, place: str) -> None:
    for target, start, end in _targets(key, encoding, place):
        hits, entry = _sent(collector, inline_wrap, key, target)
        url = entry["request"]["url"]
        assert hits == [], (target, url)
        assert url.startswith(start) and url.endswith(end), (target, url)
        assert entry["pageref"] == url


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("encoding", list(ENCODINGS))
@pytest.mark.parametrize("header", ["Location", "Content-Location", "Link"])
def test_the_keys_base64_in_a_redirects_path_is_masked_and_the_url_kept(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        key: str, encoding: str, header: str) -> None:
    for target, start, end in _targets(key, encoding, "middle, query"):
        location = "http://h" + target
        value = f"<{location}>; rel=next" if header == "Link" else location
        app = reading_app("302 Found", [(header, value), ("Content-Type", "text/plain")])
        hits, entry = _sent(collector, inline_wrap, key, "/go", app)
        assert hits == [], (location, entry["response"])
        logged = next(h["value"] for h in entry["response"]["headers"]
                      if h["name"].lower() == header.lower())
        if header == "Link":
            assert logged.startswith("<" + start) and logged.endswith(end + ">; rel=next")
        else:
            assert logged.startswith(start) and logged.endswith(end), logged
        if header == "Location":
            assert entry["response"]["redirectURL"] == logged


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("place", list(PLACES))
def test_the_key_itself_in_a_path_segment_is_masked_and_the_url_kept(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        key: str, place: str) -> None:
    """CallerKey.url: the key as is (percent-encoded where a path must) in a segment."""
    before, after, query = PLACES[place]
    end = after + ("?" + query if query else "")
    hits, entry = _sent(collector, inline_wrap, key, before + quote(key) + end)
    url = entry["request"]["url"]
    assert hits == [], url
    assert url.startswith("http://h" + before) and url.endswith(end), url


@pytest.mark.parametrize("user", USERS)
def test_a_slash_of_base64_outside_a_urls_path_is_base64s(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        user: str) -> None:
    """In a query's value, or a URL header's value that is no URL, a "/" is base64's: the
    run is read whole, and decodes to the credential with the key's mask (as before)."""
    key = KEYS[3]
    blob = _b64(user + key)
    assert "/" in blob
    app = reading_app("302 Found", [("Location", f"s={blob}; Path=/"),
                                    ("Content-Type", "text/plain")])
    hits, entry = _sent(collector, inline_wrap, key, f"/files/x/download?t={blob}&n=1", app)
    assert hits == []
    location = next(h["value"] for h in entry["response"]["headers"]
                    if h["name"] == "Location")
    url = entry["request"]["url"]
    assert url.startswith("http://h/files/x/download?t=") and url.endswith("&n=1")
    for written in (unquote(location[2:].split(";")[0]),
                    unquote(url.split("?t=")[1].split("&")[0])):
        assert base64.b64decode(written + "=" * (-len(written) % 4)) == (
            user + spec_mask(key)).encode(), written
