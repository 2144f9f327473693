"""Leaks found by a pass over the places the caller's key or a credential could leave in
clear (leak4): each test failed before its fix. Real middleware (WSGI and ASGI), real
collector (tests/support/fake_api.py); a secret is looked for in the posted batches
however it is spelled (tests/support/leaks.py), its own mask taken out (the mask ends
with the key's last four characters: a short key's whole).

* A caller key sent as a query parameter NAME (``?k42``, ``?k42=1``, ``?k%342=1``, a
  JSON document as the name ``?{"a":"k42"}=1``) was masked in ``queryString`` at most,
  never in ``url`` and ``pageref``: the url masked values only. Names are now masked as
  values are (a short key where the whole name, or a whole JSON string of it, equals
  it), in the url, queryString, forms, multipart fields, cookies and JSON member names.
* A short key as a whole PATH segment (``/keys/k42/usage``) stayed in the url: SPEC 6
  says "the url", whose path is part of it; masked where a whole segment (or the host)
  decodes to it. A long key was already masked anywhere in the url.
* A key that is a number, written otherwise (``1.2345678e7`` for 12345678) in a JSON
  document used as a query name, was masked in queryString but not in the url (found by
  tests/test_leak4_property.py's check that url and queryString agree).
* A long key JSON-escaped in a query name (``{"a":"sk\\u005flive..."}=1``) stayed in
  queryString and url (the escapes were decoded in values only).
* ``without_userinfo`` / ``shown_url`` (base_log_url, the looked-up baseUrl, messages)
  took a later ``//...@`` in a path or query for the userinfo: the link lost part of its
  path (``https://docs.example.com/u//team@docs`` became ``.../u//docs``). Only the
  authority's userinfo is taken now.
* A Host header holding ``user:password@host`` (a hand-made client) put the password in
  the url percent-encoded (``user%3Apw%40host``) and in the Host header in clear. The
  url now holds it as a userinfo, masked as any URL's (``mask(userinfo)@host``), and
  Host and X-Forwarded-Host show the mask in its place.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Optional
from urllib.parse import quote

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics._http import shown_url, without_userinfo
from readme_metrics.asgi import MetricsMiddleware as AsgiMetricsMiddleware
from readme_metrics.har.pairs import parse_query
from readme_metrics.masking import mask
from tests.support.asgi import http_scope, run
from tests.support.fake_api import INLINE_TIMEOUT, Collector
from tests.support.key_site import Caller, Site, app, asgi_app
from tests.support.leaks import found_unmasked
from tests.support.wsgi import run_wsgi, wsgi_environ

SHORT = "k42"
LONG = "sk_live_0123456789"


@pytest.mark.parametrize(("key", "path", "query"), [
    pytest.param(SHORT, "/", quote('{"a":"k42"}', safe="") + "=1", id="json-document-name"),
    pytest.param(SHORT, "/", "k42", id="flag"),
    pytest.param(SHORT, "/", "k42=1&b=2", id="name"),
    pytest.param(SHORT, "/", "k%342=1", id="percent-encoded-name"),
    pytest.param(SHORT, "/", "%6B%34%32", id="percent-encoded-flag"),
    pytest.param(SHORT, "/", "a=1#k42=1", id="name-after-hash"),
    pytest.param("a b", "/", "a+b=1", id="plus-for-space-name"),
    pytest.param("42", "/", "42=x", id="digits-name"),
    pytest.param(SHORT, "/keys/k42/usage", "", id="path-segment"),
    pytest.param(SHORT, "/k42", "a=1", id="whole-path"),
    pytest.param(LONG, "/", quote('{"a":"sk\\u005flive_0123456789"}', safe="") + "=1",
                 id="long-key-json-escaped-in-a-name"),
    pytest.param("12345678", "/", quote('{"id": 1.2345678e7}', safe="") + "=1",
                 id="number-key-written-otherwise-in-a-json-name"),
])
def test_a_key_used_as_a_query_name_or_path_segment_is_masked_in_the_url(
        site: Site, key: str, path: str, query: str) -> None:
    entry, leaks = site.send(key, path, query)
    assert leaks == [], (entry["request"]["url"], entry["request"]["queryString"])
    assert entry["pageref"] == entry["request"]["url"]
    # The url's query and queryString agree (SPEC 4): masked alike.
    assert [{"name": name, "value": value} for name, value in parse_query(
        entry["request"]["url"].partition("?")[2])] == entry["request"]["queryString"]
    assert mask(key) in json.dumps(entry["request"]["queryString"]) + entry["pageref"] \
        or quote(mask(key), safe="") in entry["pageref"]


@pytest.mark.parametrize(("content_type", "body", "headers"), [
    pytest.param("application/x-www-form-urlencoded", b"k42=1&b=2", {}, id="form-name"),
    pytest.param("multipart/form-data; boundary=XyZ",
                 b'--XyZ\r\nContent-Disposition: form-data; name="k42"\r\n\r\n1\r\n--XyZ--\r\n',
                 {}, id="multipart-name"),
    pytest.param("application/json", b'{"k42": 1, "b": {"k42": [2]}}', {}, id="json-member"),
    pytest.param("text/plain", b"", {"Cookie": "k42=1; b=2"}, id="cookie-name"),
])
def test_a_key_used_as_a_field_or_member_name_is_masked(
        site: Site, content_type: str, body: bytes, headers: dict[str, str]) -> None:
    entry, leaks = site.send(SHORT, "/p", "", "POST",
                             {"Content-Type": content_type, **headers}, body)
    assert leaks == [], json.dumps(entry["request"])


def test_an_ordinary_name_holding_a_short_key_is_kept(site: Site) -> None:
    # Only a whole name is the key: "k42x" or "a_k42" are other names.
    entry, leaks = site.send(SHORT, "/k42x/a_k42", "k42x=1&a_k42=2")
    assert entry["request"]["url"].endswith("/k42x/a_k42?k42x=1&a_k42=2")
    assert [pair["name"] for pair in entry["request"]["queryString"]] == ["k42x", "a_k42"]


@pytest.mark.parametrize(("url", "without", "shown"), [
    pytest.param("https://owl:pw@docs.example.com/x", "https://docs.example.com/x",
                 "https://***@docs.example.com/x", id="userinfo"),
    pytest.param("https://a@b:pw@docs.example.com/", "https://docs.example.com/",
                 "https://***@docs.example.com/", id="up-to-the-last-at"),
    pytest.param("https://docs.example.com/u//team@docs", None, None, id="in-the-path"),
    pytest.param("http://h/p?next=//owl@host", None, None, id="in-the-query"),
    pytest.param("http://h/#//owl@host", None, None, id="in-the-fragment"),
    pytest.param("https://owl:pw@d.example/p?next=//a@b", "https://d.example/p?next=//a@b",
                 "https://***@d.example/p?next=//a@b", id="userinfo-and-query"),
    pytest.param("//owl:pw@d.example/x", "//d.example/x", "//***@d.example/x",
                 id="scheme-relative"),
])
def test_only_the_authoritys_userinfo_is_taken_out(
        url: str, without: Optional[str], shown: Optional[str]) -> None:
    assert without_userinfo(url) == (url if without is None else without)
    assert shown_url(url) == (url if shown is None else shown)


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_a_docs_link_keeps_a_path_holding_at(collector: Collector, kind: str) -> None:
    base = "https://docs.example.com/u//team@docs"
    config = MetricsApiConfig(api_key="rdme_leak4_key", metrics_api=collector.url,
                              grouping_function=Caller(), buffer_length=1,
                              background_worker_mode=False,
                              timeout=INLINE_TIMEOUT, base_log_url=base)
    if kind == "wsgi":
        middleware: Any = MetricsMiddleware(app, config)
        headers = dict(run_wsgi(middleware, wsgi_environ()).headers)
    else:
        middleware = AsgiMetricsMiddleware(asgi_app, config)
        ran = asyncio.run(run(middleware, http_scope(), then="disconnect"))
        headers = {k.decode(): v.decode() for k, v in ran.start["headers"]}
    middleware.close()
    assert headers["x-documentation-url"].startswith(base + "/logs/"), headers


PASSWORD = "pw-s3cr3t-host"


@pytest.mark.parametrize(("headers", "trusted"), [
    pytest.param({"Host": f"owl:{PASSWORD}@h.example:8080"}, 0, id="host"),
    pytest.param({"Host": f"owl:{PASSWORD}@h.example@x"}, 0, id="host-two-ats"),
    pytest.param({"Host": "h.example", "X-Forwarded-Host": f"owl:{PASSWORD}@fw.example"}, 1,
                 id="x-forwarded-host"),
])
@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_a_password_in_a_host_header_is_masked(
        collector: Collector, kind: str, headers: dict[str, str], trusted: int) -> None:
    from readme_metrics.cli.collector.validation import validate_log

    config = MetricsApiConfig(api_key="rdme_leak4_key", metrics_api=collector.url,
                              grouping_function=Caller(), buffer_length=1,
                              background_worker_mode=False,
                              timeout=INLINE_TIMEOUT, trusted_proxies=trusted)
    site = Site(kind, collector)
    site.middleware.close()
    site.middleware = (MetricsMiddleware(app, config) if kind == "wsgi"
                       else AsgiMetricsMiddleware(asgi_app, config))
    try:
        entry, _ = site.send(SHORT, "/p", "q=1", headers=headers)
        (log,) = collector.logs
    finally:
        site.close()
    assert found_unmasked([r.body for r in collector.received], PASSWORD,
                          mask(f"owl:{PASSWORD}")) == [], json.dumps(entry["request"])
    assert validate_log(log) == []
    assert "@" in entry["request"]["url"].split("/")[2]
