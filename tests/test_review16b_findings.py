"""review16b: defects found in today's leak4, audit3 (ASGI companions) and newcomer2 changes.

* A URL option given without its scheme and holding a user and password
  (``user:pw@metrics.example.com``): the error echoed it in clear in its "got '...'"
  part, while newcomer2's own hint after it showed it as ``***@``.
* A short caller key that is the request's host name (leak4 masks it in the url) went
  out in clear when the Host had a port (in the Host header) or a userinfo (in the url,
  pageref and Host header too).
"""

from __future__ import annotations

import json
from typing import Optional
from urllib.parse import urlsplit

import pytest

from readme_metrics import MetricsApiConfig
from readme_metrics._http import shown_url
from tests.support.key_site import Site

PASSWORD = "s3cretpw"


@pytest.mark.parametrize("value", [
    pytest.param(f"user:{PASSWORD}@metrics.example.com", id="no-scheme"),
    pytest.param(f"user:{PASSWORD}@127.0.0.1:8001", id="no-scheme-loopback-port"),
    pytest.param(f"user:{PASSWORD}@[::1]:8001", id="no-scheme-ipv6"),
    pytest.param(f"http:/user:{PASSWORD}@metrics.example.com", id="one-slash"),
])
@pytest.mark.parametrize("option", ["metrics_api", "base_log_url", "readme_api_url"])
def test_a_url_option_without_scheme_never_shows_its_password(option: str,
                                                              value: str) -> None:
    with pytest.raises(ValueError) as raised:
        MetricsApiConfig(api_key="rdme_review16b_key", grouping_function=lambda r: None,
                         **{option: value})
    assert PASSWORD not in str(raised.value)
    assert "***@" in str(raised.value)


@pytest.mark.parametrize(("url", "shown"), [
    ("user:pw@h.example/x", "***@h.example/x"),
    ("user@h.example", "***@h.example"),
    ("http:/user:pw@h.example", "http:/***@h.example"),
    ("[::1]:80", None),
    ("h.example/a@b", None),
    ("/p?next=a@b", None),
    ("mailto-like:/p@x/y", "mailto-like:/***@x/y"),
    ("https://[::1]:80/a@b", None),
    ("https://u:p%40w@[::1]:80/", "https://***@[::1]:80/"),
])
def test_shown_url_without_scheme(url: str, shown: Optional[str]) -> None:
    assert shown_url(url) == (url if shown is None else shown)


# -- A short caller key that is the Host's name: masked in the url (leak4's "or its
# host"), but not when the Host had a port or a userinfo: the Host header ("k42:8080")
# and the url ("...@k42/") still spelled it.

@pytest.mark.parametrize("host", [
    pytest.param("k42:8080", id="port"),
    pytest.param("owl@k42", id="userinfo"),
    pytest.param("owl:pw@k42:80", id="userinfo-port"),
    pytest.param("k%342:8080", id="encoded-port"),
])
def test_a_short_key_that_is_the_hosts_name_is_masked_with_a_port_or_userinfo(
        site: Site, host: str) -> None:
    entry, leaks = site.send("k42", "/p", "a=1", "GET", {"Host": host})
    assert leaks == [], json.dumps(entry["request"])
    parts = urlsplit(entry["request"]["url"])
    assert parts.path == "/p" and parts.query == "a=1"
    if host.endswith(("8080", ":80")):
        assert parts.port == int(host.rpartition(":")[2])
    hosts = [h["value"] for h in entry["request"]["headers"] if h["name"].lower() == "host"]
    # (A password hidden whole, its user kept: hostile52; a user name alone kept,
    # hostile54.)
    assert hosts and all(value.startswith(("sha512-", "[")) or value.startswith(
        ("owl:%5BREDACTED%20", "owl@")) and value.rpartition("@")[2].startswith("sha512-")
        for value in hosts), hosts


@pytest.mark.parametrize("host", ["k42x:8080", "owl@k42x", "k42.example:80", "[::1]:8080"])
def test_a_host_merely_holding_a_short_key_is_kept(site: Site, host: str) -> None:
    entry, leaks = site.send("k42", "/p", "a=1", "GET", {"Host": host})
    hosts = [h["value"] for h in entry["request"]["headers"] if h["name"].lower() == "host"]
    assert hosts and hosts[0].endswith(host.rpartition("@")[2]), hosts
    assert host.rpartition("@")[2] in entry["request"]["url"]
