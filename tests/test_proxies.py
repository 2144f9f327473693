"""SPEC 2, ``trusted_proxies``: "how many reverse proxies to trust for
X-Forwarded-For/-Proto/-Host (as werkzeug's ProxyFix); 0 = use REMOTE_ADDR,
wsgi.url_scheme and Host only".

A differential property: for any number of trusted proxies and any forwarded headers, the
logged ``clientIPAddress`` and the scheme and host of the logged ``url`` are what
werkzeug's ``ProxyFix(x_for=n, x_proto=n, x_host=n)`` makes of the same environ
(``REMOTE_ADDR``, ``wsgi.url_scheme``, ``HTTP_HOST``), through the public middleware and a
real collector, with the option given as an argument or as ``README_TRUSTED_PROXIES``.
"""

from __future__ import annotations

import os
from typing import Any, Optional
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.middleware.proxy_fix import ProxyFix

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.contract import API_KEY, inline_options, reading_app
from tests.support.fake_api import Collector
from tests.support.wsgi import run_wsgi, wsgi_environ

IPS = st.sampled_from(["198.51.100.1", "192.0.2.7", "203.0.113.200", "10.0.0.1", "2001:db8::1"])
HOSTS = st.sampled_from(["public.example", "api.example.com:8443", "a.example:80",
                         "127.0.0.1:5000", "[2001:db8::2]:8080"])
PROTOS = st.sampled_from(["http", "https"])


def _header(values: st.SearchStrategy[str]) -> st.SearchStrategy[Optional[str]]:
    """Absent, or one to four comma-separated hops (as each proxy appends its own)."""
    return st.none() | st.lists(values, min_size=1, max_size=4).map(", ".join)


def _proxy_fix_view(environ: dict[str, Any], trusted: int) -> tuple[str, str, str]:
    """(client ip, scheme, host) as werkzeug's ProxyFix hands them to the app."""
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.update(environ)
        start_response("204 No Content", [])
        return []

    run_wsgi(ProxyFix(app, x_for=trusted, x_proto=trusted, x_host=trusted), dict(environ))
    return seen["REMOTE_ADDR"], seen["wsgi.url_scheme"], seen["HTTP_HOST"]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(trusted=st.integers(0, 3), forwarded_for=_header(IPS), proto=_header(PROTOS),
       host=_header(HOSTS), scheme=PROTOS, from_environment=st.booleans())
def test_client_ip_scheme_and_host_are_proxy_fixs(
        collector: Collector, trusted: int, forwarded_for: Optional[str],
        proto: Optional[str], host: Optional[str], scheme: str,
        from_environment: bool) -> None:
    headers = {"Host": "origin.internal:8000"}
    for name, value in (("X-Forwarded-For", forwarded_for), ("X-Forwarded-Proto", proto),
                        ("X-Forwarded-Host", host)):
        if value is not None:
            headers[name] = value
    environ = wsgi_environ(path="/p", headers=headers)
    environ.update({"REMOTE_ADDR": "203.0.113.9", "wsgi.url_scheme": scheme})
    expected_ip, expected_scheme, expected_host = _proxy_fix_view(environ, trusted)

    options = inline_options({"api_key": API_KEY, "metrics_api": collector.url})
    saved = os.environ.get("README_TRUSTED_PROXIES")
    if from_environment:
        os.environ["README_TRUSTED_PROXIES"] = str(trusted)
    else:
        options["trusted_proxies"] = trusted
    try:
        middleware = MetricsMiddleware(reading_app(), MetricsApiConfig(**options))
    finally:
        if saved is None:
            os.environ.pop("README_TRUSTED_PROXIES", None)
        else:
            os.environ["README_TRUSTED_PROXIES"] = saved
    collector.received.clear()
    try:
        run_wsgi(middleware, environ)
        assert middleware.flush(10.0)
    finally:
        middleware.close()
    [log] = collector.logs
    url = urlsplit(log["request"]["log"]["entries"][0]["request"]["url"])
    assert log["clientIPAddress"] == expected_ip
    assert (url.scheme, url.netloc) == (expected_scheme, expected_host)


@pytest.mark.parametrize("value", ["-1", "one", "1.5"])
def test_a_bad_trusted_proxies_variable_names_option_and_variable(
        monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("README_TRUSTED_PROXIES", value)
    with pytest.raises(ValueError, match=r"trusted_proxies \(README_TRUSTED_PROXIES\)"):
        MetricsApiConfig(api_key=API_KEY, grouping_function=lambda req: None)
