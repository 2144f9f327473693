"""readme_metrics.skip_rules: which requests a middleware's config leaves out (SPEC 3),
table-driven over SkipRules.wants and SkipRules.wants_environ, which must agree."""

from __future__ import annotations

import logging
from typing import Any, Optional

import pytest

from readme_metrics import MetricsApiConfig
from readme_metrics._logging import QuietLogger
from readme_metrics.skip_rules import OWN_AGENT, SkipRules


def _rules(**options: Any) -> SkipRules:
    config = MetricsApiConfig(api_key="rdme_test", grouping_function=lambda request: None,
                              **options)
    return SkipRules(config, QuietLogger(logging.getLogger("test_skip_rules")))


def _environ(method: str, host: str, forwarded_host: Optional[str],
             agent: Optional[str], path: str) -> dict[str, str]:
    environ = {"REQUEST_METHOD": method, "HTTP_HOST": host, "PATH_INFO": path,
               "SERVER_NAME": "server.invalid"}
    if forwarded_host is not None:
        environ["HTTP_X_FORWARDED_HOST"] = forwarded_host
    if agent is not None:
        environ["HTTP_USER_AGENT"] = agent
    return environ


OWN = OWN_AGENT + "9.9.9"


@pytest.mark.parametrize(("options", "method", "host", "forwarded_host", "agent", "path",
                          "wanted"), [
    pytest.param({}, "GET", "a.example", None, None, "/x", True, id="default-get"),
    pytest.param({}, "OPTIONS", "a.example", None, None, "/x", False, id="default-options"),
    pytest.param({"skip_methods": ["GET"]}, "GET", "a", None, None, "/", False,
                 id="skip-methods-given"),
    pytest.param({"skip_methods": []}, "OPTIONS", "a", None, None, "/", True,
                 id="skip-methods-empty"),
    pytest.param({"allowed_http_hosts": ["api.example.com"]}, "GET", "API.example.com",
                 None, None, "/", True, id="host-listed-any-case"),
    pytest.param({"allowed_http_hosts": ["api.example.com"]}, "GET", "api.example.com.:8080",
                 None, None, "/", True, id="host-root-dot-and-port"),
    pytest.param({"allowed_http_hosts": ["api.example.com."]}, "GET", "api.example.com",
                 None, None, "/", True, id="listed-with-root-dot"),
    pytest.param({"allowed_http_hosts": ["api.example.com"]}, "GET", "other.example",
                 None, None, "/", False, id="host-not-listed"),
    pytest.param({"allowed_http_hosts": ["api.example.com"]}, "GET", "other.example",
                 "api.example.com", None, "/", False, id="forwarded-host-untrusted"),
    pytest.param({"allowed_http_hosts": ["api.example.com"], "trusted_proxies": 1}, "GET",
                 "internal:8000", "evil.example, api.example.com", None, "/", True,
                 id="forwarded-host-trusted-hop"),
    pytest.param({"allowed_http_hosts": ["api.example.com"], "trusted_proxies": 1}, "GET",
                 "api.example.com", "evil.example", None, "/", False,
                 id="forwarded-host-trusted-counts"),
    pytest.param({}, "POST", "a", None, OWN, "/v1/request", False, id="own-post"),
    pytest.param({}, "POST", "a", None, OWN, "/v1/request/", False, id="own-post-slash"),
    pytest.param({}, "POST", "a", None, OWN, "/v1/other", True, id="own-agent-other-path"),
    pytest.param({}, "GET", "a", None, OWN, "/v1/request", True, id="own-agent-get"),
    pytest.param({}, "POST", "a", None, "curl/8", "/v1/request", True, id="other-agent"),
])
def test_wants(options: dict[str, Any], method: str, host: str,
               forwarded_host: Optional[str], agent: Optional[str], path: str,
               wanted: bool) -> None:
    rules = _rules(**options)
    assert rules.wants(method, host, forwarded_host, agent, path) is wanted
    environ = _environ(method, host, forwarded_host, agent, path)
    assert rules.wants_environ(environ) is wanted


def test_any_host_and_forwarded_hosts_say_when_a_call_is_needed() -> None:
    assert _rules().any_host and not _rules().forwarded_hosts
    listed = _rules(allowed_http_hosts=["a.example"])
    assert not listed.any_host and not listed.forwarded_hosts
    assert _rules(allowed_http_hosts=["a.example"], trusted_proxies=2).forwarded_hosts


def test_the_own_post_is_warned_about_once(caplog: pytest.LogCaptureFixture) -> None:
    rules = _rules()
    with caplog.at_level(logging.WARNING, logger="test_skip_rules"):
        for _ in range(3):
            assert not rules.wants("POST", "a", None, OWN, "/v1/request")
    warned = [r for r in caplog.records if "own POST" in r.getMessage()]
    assert len(warned) == 1
