"""readme_metrics.har: no secret in clear (SPEC sections 4 and 6): a denylisted value is
redacted wherever it stands (query, headers, cookies, forms, JSON at any depth), and
credential headers are masked whatever their case.

Every table case goes through ``json.dumps``/``json.loads`` (what is actually sent) and
:func:`tests.support.har_check.assert_valid_log` (the strict HAR 1.2 schema plus the SPEC contract).
"""

from __future__ import annotations

import json
from typing import Any, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.redaction import Redactor
from tests.support.contract import exchange, reading_app, spec_mask
from tests.support.exchanges import entry_of, make_exchange, post, sent_log
from tests.support.fake_api import Collector

# -- redaction everywhere ------------------------------------------------------------------


SECRET = "s3cr3t-VALUE"


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"url": f"http://h/p?secret={SECRET}"}, id="query"),
        pytest.param({"request_headers": [("Secret", SECRET)]}, id="request-header"),
        pytest.param({"response_headers": [("SECRET", SECRET)]}, id="response-header"),
        pytest.param({"request_headers": [("Cookie", f"secret={SECRET}")]}, id="cookie"),
        pytest.param({"response_headers": [("Set-Cookie", f"Secret={SECRET}; Path=/")]},
                     id="set-cookie"),
        pytest.param({"request_headers": [("Content-Type", "application/x-www-form-urlencoded")],
                      "request_body": f"secret={SECRET}".encode(), "request_body_size": 19},
                     id="form"),
        pytest.param({"request_headers": [("Content-Type", "application/json")],
                      "request_body": json.dumps({"a": [{"SECRET": SECRET}]}).encode(),
                      "request_body_size": 30}, id="json-request"),
        pytest.param({"response_headers": [("Content-Type", "application/json")],
                      "response_body": json.dumps({"secret": {"k": SECRET}}).encode(),
                      "response_body_size": 30}, id="json-response"),
        pytest.param({"response_body": json.dumps({"secret": SECRET}).encode()[:-4],
                      "response_body_size": 30}, id="truncated-json"),
    ],
)
def test_denylisted_value_never_sent(changes: dict[str, Any]) -> None:
    exchange = make_exchange(**changes)
    if exchange.request_body:
        exchange.method = "POST"
        exchange.request_body_size = max(exchange.request_body_size, len(exchange.request_body))
    sent = json.dumps(sent_log(exchange, redactor=Redactor(["secret"])), ensure_ascii=False)
    assert SECRET not in sent
    assert "[REDACTED" in sent


JSON_DOCS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["password", "PASSWORD", "user", "a", "b", "list"])
                      | st.text(max_size=4), children, max_size=4),
    max_leaves=30,
)


def _under_denied(node: Any, deny: set[str]) -> list[Any]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key.lower() in deny:
                found.append(value)
            else:
                found.extend(_under_denied(value, deny))
    elif isinstance(node, list):
        for value in node:
            found.extend(_under_denied(value, deny))
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request_doc=JSON_DOCS, response_doc=JSON_DOCS,
       content_type=st.sampled_from(["application/json", "text/plain", None]))
def test_json_bodies_never_leak_denied_keys(request_doc: Any, response_doc: Any,
                                            content_type: Optional[str]) -> None:
    request_body = json.dumps(request_doc).encode()
    response_body = json.dumps(response_doc, ensure_ascii=False).encode()
    exchange = post(content_type, request_body, response_body=response_body,
                    response_body_size=len(response_body),
                    response_headers=[("Content-Type", "application/json")])
    entry = entry_of(exchange, redactor=Redactor(["password"]))
    texts = [entry["request"]["postData"]["text"], entry["response"]["content"]["text"]]
    for text in texts:
        for value in _under_denied(json.loads(text), {"password"}):
            assert isinstance(value, str) and value.startswith("[REDACTED")


# -- the log as the Metrics API gets it, through the middleware (SPEC 4, black box) --------


@pytest.mark.parametrize("header", ["Authorization", "Proxy-Authorization", "Cookie"])
def test_request_credentials_are_masked(inline_wrap: Any, collector: Collector,
                                        header: str) -> None:
    value = "Bearer sk_live_0123456789abcdef" if header != "Cookie" else "sid=0123456789"
    _, _, entry = exchange(inline_wrap(reading_app()), collector, headers={header: value})
    assert {"name": header, "value": spec_mask(value)} in entry["request"]["headers"]
    assert value not in json.dumps(entry)


@pytest.mark.parametrize("header", ["authorization", "PROXY-AUTHORIZATION", "X-Other"])
def test_response_credential_headers_masked_with_their_case(
        inline_wrap: Any, collector: Collector, header: str) -> None:
    value = "Basic dXNlcjpwYXNzd29yZA=="
    _, _, entry = exchange(
        inline_wrap(reading_app(headers=[("Content-Type", "text/plain"), (header, value)])),
        collector)
    expected = value if header == "X-Other" else spec_mask(value)
    assert {"name": header, "value": expected} in entry["response"]["headers"]
