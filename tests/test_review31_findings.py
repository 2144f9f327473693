"""review31's findings on leaks9's landing (ea7b11a, ae3facc): each test failed before its
fix, under real parts (the public middleware, the collector on 127.0.0.1)."""

from __future__ import annotations

import json
from typing import Any, Callable
from urllib.parse import quote

from readme_metrics import MetricsMiddleware
from tests.support.contract import exchange
from tests.support.fake_api import Collector
from tests.support.leaks import found

FORM = "application/x-www-form-urlencoded"
UNLISTED = "review31-unlisted-value"


def _app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def _bodies(collector: Collector, before: int) -> list[bytes]:
    return [r.body for r in collector.received[before:] if r.path == "/v1/request"]


def test_a_json_name_cut_at_max_body_bytes_is_hidden_under_an_allowlist(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    """``curl --data-urlencode '{...}'``, a form of one field named by the document, cut
    at max_body_bytes: under an allowlist the whole document's values are redacted (SPEC
    6: every value whose key is not listed), so its cut text cannot be kept in clear
    either; it was, the broken branch asking about denied keys only."""
    document = json.dumps({"user": "zoe", "secret": UNLISTED, "pad": "x" * 400})
    body = quote(document, safe="").encode()
    before = len(collector.received)
    _, _, entry = exchange(inline_wrap(_app, allowlist=["a"], max_body_bytes=len(body) - 200),
                           collector, method="POST", body=body,
                           headers={"Content-Type": FORM})
    assert found(_bodies(collector, before), UNLISTED) == []
    post = entry["request"]["postData"]
    assert UNLISTED not in json.dumps(post)
    # The complete document, under the same allowlist, has its values redacted too.
    before = len(collector.received)
    _, _, entry = exchange(inline_wrap(_app, allowlist=["a"]), collector, method="POST",
                           body=body, headers={"Content-Type": FORM})
    assert found(_bodies(collector, before), UNLISTED) == []

