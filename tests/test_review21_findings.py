"""Findings of review21 (an adversarial read of the ASGI capture restructuring, the cookie
key decision, odds6's and odds7's changes): each test failed before its fix."""

from __future__ import annotations

import json
from typing import Any

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from tests.support.fake_api import Collector
from tests.support.wsgi import run_wsgi, wsgi_environ

# -- 1. a JSON document in a JSON string, too deep to read, holding a denied key ------------

SECRET = "hunter2-review21"


def _deep_message(depth: int) -> str:
    """A webhook-like body: a JSON string holding a JSON document ``depth`` levels deep,
    a denied key at the bottom."""
    inner = '{"a":' * depth + json.dumps({"secret": SECRET}) + "}" * depth
    return json.dumps({"Message": inner, "id": 7})


def _echo(environ: Any, start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


@pytest.mark.parametrize("depth", [1, 126, 127, 128, 200, 600])
def test_a_too_deep_document_in_a_json_string_is_not_sent_with_its_denied_key(
        collector: Collector, depth: int) -> None:
    """deep_json (odds6) made a document nested deeper than 128 levels no JSON to the
    Redactor; a JSON string holding one was then left as it was (Redactor._inner), the
    denied value in clear, in the request and the response body alike, where before it
    was read and redacted key by key. Now hidden whole, as a string past MAX_INNER_DEPTH
    is; the rest of the document is still redacted key by key."""
    middleware = MetricsMiddleware(_echo, MetricsApiConfig(
        api_key="rdme_review21_deep_key", metrics_api=collector.url, buffer_length=1,
        background_worker_mode=False, denylist=["secret"],
        grouping_function=lambda req: {"api_key": "review21-caller"}))
    try:
        answer = run_wsgi(middleware, wsgi_environ(
            method="POST", body=_deep_message(depth).encode(),
            headers={"Content-Type": "application/json"}))
        assert answer.status.startswith("200")
        entry = collector.wait_for_logs(1)[0]["request"]["log"]["entries"][0]
    finally:
        middleware.close()
    for side in (entry["request"]["postData"]["text"], entry["response"]["content"]["text"]):
        assert SECRET not in side, (depth, side[-200:])
        document = json.loads(side)  # still JSON, the other members kept
        assert document["id"] == 7
        assert "[REDACTED" in document["Message"]
