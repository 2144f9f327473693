"""review57: newcomer9's and spec25's landings reviewed, then the credential header list.

Each test is one defect found, with the library's real parts (a real server, a real
collector, the collector's own checks); each failed before its fix.
"""

from __future__ import annotations

from typing import Any

import pytest

from readme_metrics import MetricsApiConfig
from tests.support.contract import API_KEY, caller, pairs, spec_mask
from tests.support.fake_api import Collector


def _entry(log: dict[str, Any]) -> dict[str, Any]:
    return log["request"]["log"]["entries"][0]


# -- 3e05793: the options check of the middlewares' __new__ ------------------------------

def _hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def test_a_subclass_whose_own_init_takes_option_keywords_is_made_as_before(
        collector: Collector) -> None:
    """A user's subclass whose ``__init__`` takes ``api_key=...`` and builds the config
    itself (as an app wraps the middleware with its own defaults) was refused with the
    TypeError meant for ``MetricsMiddleware(app, api_key=...)``: the check in the base's
    ``__new__`` looked at the keywords only, not at whether the class takes them. Made
    directly, and lazily by Starlette's ``add_middleware`` (FastAPI's middleware)."""
    import requests
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from readme_metrics import MetricsMiddleware
    from readme_metrics.fastapi import ReadMeMetricsMiddleware
    from tests.support.wsgi import ThreadedWSGIServer

    class Ours(MetricsMiddleware):
        def __init__(self, app: Any, api_key: str, metrics_api: str,
                     development_mode: bool = True) -> None:
            super().__init__(app, MetricsApiConfig(
                api_key=api_key, grouping_function=caller, metrics_api=metrics_api,
                development_mode=development_mode))

    class OursFast(ReadMeMetricsMiddleware):
        def __init__(self, app: Any, api_key: str, metrics_api: str) -> None:
            super().__init__(app, MetricsApiConfig(
                api_key=api_key, grouping_function=caller, metrics_api=metrics_api))

    middleware = Ours(_hello, api_key=API_KEY, metrics_api=collector.url)
    try:
        with ThreadedWSGIServer(middleware) as server:
            assert requests.get(server.url + "/wsgi", headers={"X-Api-Key": "owlbert"},
                                timeout=30).text == "hello"
        assert middleware.flush(10) is True
    finally:
        middleware.close()
    fast = FastAPI()

    @fast.get("/asgi")
    def answer() -> dict[str, str]:
        return {"ok": "yes"}

    fast.add_middleware(OursFast, api_key=API_KEY, metrics_api=collector.url)
    with TestClient(fast) as client:
        assert client.get("/asgi", headers={"X-Api-Key": "owlbert"}).json() == {"ok": "yes"}
    logs = collector.wait_for_logs(2)
    assert sorted(_entry(log)["request"]["url"].rpartition("/")[2] for log in logs) == [
        "asgi", "wsgi"]
    assert [log["development"] for log in logs if _entry(log)["request"]["url"].endswith(
        "/wsgi")] == [True]
    # and the library's own classes still say where options go
    with pytest.raises(TypeError, match=r"api_key=\.\.\. is an option of MetricsApiConfig"):
        MetricsMiddleware(_hello, api_key=API_KEY)


# -- SPEC 6: credential headers "and the like" -------------------------------------------

#: Credential headers no list named, each a service's own (request side): secrets, API
#: keys, tokens, the Authorization under other names, webhook signatures.
RULE_CREDENTIALS = [
    "X-Api-Secret", "Dd-Api-Key", "Dd-Application-Key", "X-Algolia-Api-Key",
    "X-Parse-Master-Key", "X-Parse-Rest-Api-Key", "X-Sentry-Auth", "Authentication", "X-Jwt",
    "Id-Token", "X-Github-Token", "X-CSRFToken", "X-Webhook-Secret", "X-Db-Password",
    "X-Amz-Server-Side-Encryption-Customer-Key", "Stripe-Signature", "X-Hub-Signature-256",
    "X-Shopify-Hmac-Sha256", "X-Slack-Signature", "X-Signature-Ed25519", "DPoP",
]
#: Ordinary headers real APIs send, which hold no credential: logged in clear.
ORDINARY = {
    "X-Request-Id": "req-1234", "X-RateLimit-Remaining": "59", "Idempotency-Key": "idem-42",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZQ==", "X-Next-Page-Token": "page-3",
    "X-Continuation-Token": "cont-7", "X-Api-Key-Id": "kid-9", "If-None-Match": '"v1"',
    "X-Signature-Timestamp": "1700000000", "X-Auth-Request-Email": "a@example.com",
    "X-Amz-Content-Sha256": "e3b0c442", "Accept-Signature": 'sig1=("@method")',
    # review61: an idempotency token, a key's digest, Atlassian's "no XSRF check"
    "I-Twilio-Idempotency-Token": "idem-43", "X-Goog-Encryption-Key-Sha256": "47DEQpj8",
    "X-Amz-Server-Side-Encryption-Customer-Key-MD5": "1B2M2Y8A", "X-Atlassian-Token": "no-check",
}


def test_credential_headers_named_by_their_words_are_masked_by_default(
        collector: Collector) -> None:
    """X-Api-Secret, Dd-Api-Key, X-Sentry-Auth, Stripe-Signature and the others were
    logged in clear: only the names of CREDENTIAL_HEADERS were masked. A name whose last
    word says secret, token, password, auth(orization/entication), jwt, signature, an
    API (or master, secret, access ...) key is masked now; an ordinary header is not."""
    import requests

    from readme_metrics import MetricsMiddleware
    from tests.support.wsgi import ThreadedWSGIServer

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("X-Api-Secret", "answer.secret.5678"),
                                  ("ETag", '"etag-1"'), ("X-RateLimit-Limit", "60")])
        return [b"ok"]

    secrets = {name: f"sec.{name.lower()}.{index:04d}"
               for index, name in enumerate(RULE_CREDENTIALS)}
    middleware = MetricsMiddleware(app, MetricsApiConfig(
        api_key=API_KEY, grouping_function=caller, metrics_api=collector.url))
    try:
        with ThreadedWSGIServer(middleware) as server:
            answer = requests.get(server.url + "/me", headers={**secrets, **ORDINARY},
                                  timeout=30)
            assert answer.text == "ok"
        assert middleware.flush(10) is True
    finally:
        middleware.close()
    [post] = collector.received
    for secret in [*secrets.values(), "answer.secret.5678"]:
        assert secret.encode() not in post.body
    entry = _entry(post.json()[0])
    sent = {header["name"].lower(): header["value"] for header in entry["request"]["headers"]}
    assert {name: sent[name.lower()] for name in secrets} == {
        name: spec_mask(secret) for name, secret in secrets.items()}
    assert {name: sent[name.lower()] for name in ORDINARY} == ORDINARY
    answered = pairs(entry["response"]["headers"])
    assert answered["X-Api-Secret"] == spec_mask("answer.secret.5678")
    assert (answered["ETag"], answered["X-RateLimit-Limit"]) == ('"etag-1"', "60")


@pytest.mark.parametrize("name", ["X-Api-Secret", "Stripe-Signature", "x_sentry_auth"])
def test_the_collector_refuses_them_in_clear(name: str) -> None:
    """The collector holds a log to the same names the library masks."""
    from readme_metrics.cli.collector.validation import validate_log
    from tests.test_validation import _valid_log

    def log(headers: dict[str, str]) -> dict[str, Any]:
        built = _valid_log()
        _entry(built)["request"]["headers"] += [
            {"name": key, "value": value} for key, value in headers.items()]
        return built

    assert validate_log(log({"X-Request-Id": "r-1"})) == []
    assert [problem for problem in validate_log(log({name: "in-clear-1"}))
            if f"the {name} value must be masked" in problem]


def test_readme_says_which_names_the_rule_takes_and_which_it_leaves() -> None:
    """README's examples of the rule are masked, the ordinary names it quotes are not,
    and this file's lists agree with it."""
    import re

    from readme_metrics.har.credentials import credential_header
    from tests.test_readme import readme_sections

    section = " ".join(readme_sections()["What is sent, and how to keep secrets out"].split())
    taken = section[section.index("every header whose name says"):
                    section.index("A pagination")]
    left = section[section.index("A pagination"):section.index("are logged as sent")]
    examples = re.findall(r"`([A-Za-z0-9-]*-[A-Za-z0-9-]+|Authentication)`", taken)
    assert set(RULE_CREDENTIALS) - {"DPoP", "X-Parse-Rest-Api-Key", "X-Webhook-Secret"} <= set(
        examples)
    assert [name for name in examples if not credential_header(name.lower())] == []
    ordinary = re.findall(r"`([A-Za-z0-9]+-[A-Za-z0-9-]+)`", left)
    assert set(ordinary) <= set(ORDINARY) | {"X-Next-Page-Token"} and len(ordinary) >= 6
    assert [name for name in ordinary if credential_header(name.lower())] == []
