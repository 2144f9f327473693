"""creds14: credentials sent in clear (or masked though they hold none) in headers and
bodies, checked against the names and spellings real APIs and clients use.

Each test is one defect found, with the library's real parts (a real collector, the
collector's own checks, build_log); each failed before its fix.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig
from tests.support.contract import API_KEY, caller, spec_mask
from tests.support.fake_api import Collector
from tests.test_validation import _valid_log


def _entry(log: dict[str, Any]) -> dict[str, Any]:
    return log["request"]["log"]["entries"][0]


# -- credential header names ----------------------------------------------------------------

#: Credentials logged in clear: digits glued to the last word of a credential name (a
#: second key, a rotation's next one), and names the rule cannot tell: AWS's MFA serial and
#: code, GitHub's two-factor code, New Relic's Insights keys, Adafruit IO's, JFrog
#: Artifactory's, Appwrite's and Mashape's keys, Vercel's protection bypass secret, Trino's
#: extra credentials, WordPress's and Jenkins's CSRF tokens, PayPal's webhook signature.
MISSED = [
    "X-Api-Key2", "Api-Key1", "X-ApiKey2", "X-Auth-Token2", "X-Amz-Mfa", "X-Github-Otp",
    "X-Insert-Key", "X-Query-Key", "X-Aio-Key", "X-JFrog-Art-Api", "X-Appwrite-Key",
    "X-Mashape-Key", "X-Vercel-Protection-Bypass", "X-Trino-Extra-Credential",
    "X-Presto-Extra-Credential", "X-Wp-Nonce", "Jenkins-Crumb", "Paypal-Transmission-Sig",
]
#: Credentials that were masked already, kept so (the brief's list, checked one by one).
MASKED_ALREADY = [
    "X-Api-Key-2", "X-Amz-Security-Token", "X-Goog-Iap-Jwt-Assertion",
    "Cf-Access-Jwt-Assertion", "X-Vault-Token", "X-Consul-Token", "X-Nomad-Token",
    "Private-Token", "X-Shopify-Access-Token", "X-Postmark-Server-Token", "Dd-Api-Key",
    "Dd-Application-Key", "X-Sentry-Auth", "X-Hub-Signature", "X-Hub-Signature-256",
    "Proxy-Authorization", "X-Forwarded-Authorization", "X-Original-Authorization",
]
#: Ordinary headers, which must stay as sent: ids, digests, an old WebSocket handshake's
#: keys (Sec-WebSocket-Key1/Key2, no secret), a key's id.
ORDINARY = {
    "X-Request-Id": "req-0042", "Traceparent": "00-4bf92f35-00f067aa-01",
    "Content-Digest": "sha-256=:X48E9q=:", "Idempotency-Key": "idem-0042",
    "X-Amz-Content-Sha256": "e3b0c442", "Content-Md5": "1B2M2Y8A",
    "Sec-WebSocket-Key1": "18x 6]8vM;54 *(5:  {   U1]8  z [  8",
    "Sec-WebSocket-Key2": "1_ tx7X d  <  nw  334J702) 7]o}` 0", "X-Api-Key-Id": "kid-7",
    "X-Request-Id2": "req-0043", "X-Appwrite-Project": "proj-42",
}


def test_credentials_under_these_names_are_masked_and_ordinary_headers_are_not(
        collector: Collector) -> None:
    """Through the WSGI environ (HTTP_X_API_KEY2) to a real collector: the names in MISSED
    were logged in clear, whose values the collector holds must be masked too; the
    MASKED_ALREADY ones stay masked, the ORDINARY ones as sent."""
    from readme_metrics import MetricsMiddleware
    from readme_metrics.cli.collector.validation import validate_log
    from tests.support.contract import exchange, reading_app

    names = [*MISSED, *MASKED_ALREADY]
    secrets = {name: f"sec.{name.lower()}.{index:04d}" for index, name in enumerate(names)}
    middleware = MetricsMiddleware(reading_app(headers=[
        ("Content-Type", "text/plain"), ("X-Api-Key2", "answer.key.5678")]),
        MetricsApiConfig(api_key=API_KEY, grouping_function=caller,
                         metrics_api=collector.url))
    try:
        _, log, entry = exchange(middleware, collector,
                                 headers={"X-Api-Key": "owlbert", **secrets, **ORDINARY})
    finally:
        middleware.close()
    sent = b"".join(post.body for post in collector.received)
    for secret in [*secrets.values(), "answer.key.5678"]:
        assert secret.encode() not in sent
    sent_headers = {header["name"].lower(): header["value"]
                    for header in entry["request"]["headers"]}
    assert {name: sent_headers[name.lower()] for name in secrets} == {
        name: spec_mask(secret) for name, secret in secrets.items()}
    assert {name: sent_headers[name.lower()] for name in ORDINARY} == ORDINARY
    assert validate_log(log) == []
    for name in MISSED:
        entry["request"]["headers"] = [{"name": name, "value": "clear-1"}]
        assert [problem for problem in validate_log(log) if "must be masked" in problem], name
    entry["request"]["headers"] = [{"name": name, "value": value}
                                   for name, value in ORDINARY.items()]
    assert validate_log(_valid_log()) == []
    assert validate_log(log) == []


# -- a caller key that is one of the constants Python's JSON parser reads ---------------------

def _logged(key: str, **changes: Any) -> dict[str, Any]:
    """The HAR entry build_log makes of an exchange of caller ``key``."""
    from readme_metrics.exchange import Group
    from readme_metrics.har import build_log
    from tests.support.exchanges import make_exchange

    exchange = make_exchange(**changes)
    exchange.group = Group(key, "Owlbert")
    return _entry(build_log(exchange))


@pytest.mark.parametrize("key", ["Infinity", "-Infinity", "NaN"])
def test_a_key_that_is_a_json_constant_is_masked_into_a_json_string(key: str) -> None:
    """A JSON body holding the key as Python's parser (and so the app's) reads it outside a
    string, ``{"limit": Infinity}``: the key "Infinity" (8 characters, masked inside
    values) had its mask written bare in its place, ``{"limit": sha512-...?nity}``, no
    JSON any more; the key "NaN" (short: a whole value) was kept in clear. Now each goes
    into a JSON string, as a numeric key does; the other constants stay as sent."""
    body = f'{{"limit": {key}, "name": "{key}", "all": [{key}, 1], "other": NaN}}'
    if key == "NaN":
        body = body.replace('"other": NaN', '"other": Infinity')
    data = body.encode()
    entry = _logged(key, method="POST", request_headers=[("Content-Type", "application/json")],
                    request_body=data, request_body_size=len(data),
                    response_body=data, response_body_size=len(data))
    masked = spec_mask(key)
    for text in (entry["request"]["postData"]["text"], entry["response"]["content"]["text"]):
        document = json.loads(text)  # (NaN and Infinity as the app reads them)
        assert (document["limit"], document["name"], document["all"]) == (
            masked, masked, [masked, 1]), text
        other = document["other"]
        assert isinstance(other, float) and not math.isfinite(other)


@pytest.mark.parametrize("key", ["true", "false", "null"])
def test_a_key_that_is_a_json_literal_keeps_the_documents_literals(key: str) -> None:
    """Decided, not changed: JSON's own literals (true, false, null) are no spelling of a
    string, and a caller whose key is "true" would have every boolean of every body
    hidden; such a key is masked where a string is it, as any short key."""
    data = f'{{"flag": {key}, "name": "{key}"}}'.encode()
    entry = _logged(key, method="POST", request_headers=[("Content-Type", "application/json")],
                    request_body=data, request_body_size=len(data))
    document = json.loads(entry["request"]["postData"]["text"])
    assert document == {"flag": json.loads(key), "name": spec_mask(key)}


# -- a short caller key in a binary body in UTF-16/32 -----------------------------------------

@pytest.mark.parametrize("codec,mark", [
    ("utf-16-le", b""), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"),
    ("utf-32-le", b""), ("utf-32-be", b"\x00\x00\xfe\xff")])
def test_a_binary_body_that_is_a_short_key_in_utf16_or_utf32_is_masked(
        codec: str, mark: bytes) -> None:
    """A short key (under 8 characters) is masked where a whole value is it: an
    octet-stream body of the key in UTF-8 was, the same key in UTF-16 or UTF-32 (a Windows
    client's), with or without its byte order mark, went out in clear in the base64 text.
    The bound: only a body of at most 4 bytes a character and a mark is compared (one dict
    lookup); a short key inside a longer binary body stays, as in a text body."""
    key = "k42"
    data = mark + key.encode(codec)
    longer = mark + f"id {key} ok".encode(codec)
    entry = _logged(key, method="POST",
                    request_headers=[("Content-Type", "application/octet-stream")],
                    request_body=data, request_body_size=len(data),
                    response_headers=[("Content-Type", "application/octet-stream")],
                    response_body=longer, response_body_size=len(longer))
    sent = base64.b64decode(entry["request"]["postData"]["text"])
    assert sent == mark + spec_mask(key).encode(codec)
    assert base64.b64decode(entry["response"]["content"]["text"]) == longer


# -- bearer tokens sent as WebSocket subprotocols ---------------------------------------------

_K8S = "base64url.bearer.authorization.k8s.io."
_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvd2xiZXJ0In0.c2lnbmF0dXJlLXMzY3IzdA"


@pytest.mark.parametrize("sent,tokens,kept", [
    pytest.param(f"{_K8S}c2VjcmV0LXRva2VuLTQy, v4.channel.k8s.io",
                 ["c2VjcmV0LXRva2VuLTQy"], f"{_K8S}{{0}}, v4.channel.k8s.io", id="k8s"),
    pytest.param(f"access_token, {_JWT}", [_JWT], "access_token, {0}", id="pair-jwt"),
    pytest.param("graphql-ws, Authorization,opaque-s3cr3t-77", ["opaque-s3cr3t-77"],
                 "graphql-ws, Authorization,{0}", id="pair-authorization"),
    pytest.param("Bearer, opaque-s3cr3t-78, chat", ["opaque-s3cr3t-78"],
                 "Bearer, {0}, chat", id="pair-bearer"),
    pytest.param(f"chat, {_JWT}", [_JWT], "chat, {0}", id="jwt-alone"),
])
def test_a_token_sent_as_a_websocket_subprotocol_is_masked_the_names_kept(
        collector: Collector, sent: str, tokens: list[str], kept: str) -> None:
    """A browser's WebSocket API sets no Authorization, so clients send their token in
    Sec-WebSocket-Protocol (Kubernetes' API server reads the k8s one; many servers the
    item after access_token, Authorization or Bearer): an upgrade the app answered over
    HTTP (here a 426) was logged with the token in clear, in the request and in the
    server's echo of it. Now the token is masked, the protocol names kept."""
    from readme_metrics import MetricsMiddleware
    from tests.support.contract import exchange, reading_app

    middleware = MetricsMiddleware(reading_app("426 Upgrade Required", headers=[
        ("Content-Type", "text/plain"), ("Sec-WebSocket-Protocol", sent)]),
        MetricsApiConfig(api_key=API_KEY, grouping_function=caller,
                         metrics_api=collector.url))
    try:
        _, _, entry = exchange(middleware, collector, headers={
            "X-Api-Key": "owlbert", "Upgrade": "websocket", "Connection": "Upgrade",
            "Sec-WebSocket-Protocol": sent})
    finally:
        middleware.close()
    posted = b"".join(post.body for post in collector.received)
    for token in tokens:
        assert token.encode() not in posted
    expected = kept.format(*(spec_mask(token) for token in tokens))
    for side in ("request", "response"):
        logged = {header["name"].lower(): header["value"] for header in entry[side]["headers"]}
        assert logged["sec-websocket-protocol"] == expected


@pytest.mark.parametrize("value", [
    "graphql-ws", "graphql-transport-ws, graphql-ws", "v4.channel.k8s.io, base64.binary.k8s.io",
    "mqtt", "wamp.2.json, wamp.2.msgpack", "soap, wamp"])
def test_subprotocols_that_hold_no_token_are_logged_as_sent(value: str) -> None:
    """Not over-masked: protocol names (dotted ones too) stay as sent."""
    from readme_metrics.har.headers import headers

    [logged], _ = headers([("Sec-WebSocket-Protocol", value)], None)
    assert logged["value"] == value
