"""review140: what an adversarial read of land52 (delivery62, blackbox19, cpu35,
delivery63) found wrong, each through the public API (``MetricsMiddleware``, the loopback
collector), checked on the log the collector received.

1. blackbox19 says a redacted JSON body keeps its numbers as sent; an integer ``-0``
   (valid JSON: RFC 8259's ``-`` before any int; JavaScript's ``JSON.parse`` reads it as
   -0) came back ``0``: Python's int has no negative zero. Both lists.
2. A name/value pair or a headers object naming a credential header is masked in any JSON
   body (README), but one whose object names a member twice kept the earlier value in
   clear: the document read from the text holds the last value only (json.loads's rule,
   as the app reads it), that one needed no mask, and the text went out as written,
   ``"Bearer abc123"`` and all. The redaction walk writes such a text back from the
   document (its earlier values are in no document); the masking now does the same.
   (Not new in land52: 6f454a55 did the same; blackbox19 moved this reading.)
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.fake_api import Collector
from tests.test_blackbox19_redaction import bodies


@pytest.mark.parametrize("options", [{"denylist": ["password"]}, {"allowlist": ["n", "m"]}],
                         ids=["denylist", "allowlist"])
def test_a_negative_zero_integer_is_kept_as_sent(
        inline_wrap: Any, collector: Collector, options: dict[str, Any]) -> None:
    body = '{"password":"x","n":-0,"m":[-0,0,-0.0,-0e0,{"k":-0}]}'
    request, response = bodies(inline_wrap, collector, body.encode(), **options)
    # (allowlist: k is not listed, but m is: kept whole, as under a listed key)
    expected = '{"password":"[REDACTED 1]","n":-0,"m":[-0,0,-0.0,-0e0,{"k":-0}]}'
    assert request == expected and response == expected


@pytest.mark.parametrize("body", [
    '{"headers":{"Authorization":"Bearer abc123","Authorization":1}}',
    '{"headers":[{"name":"Authorization","value":"Bearer abc123","value":2}]}',
    '{"headers":[{"name":"Authorization","value":"Bearer abc123","value":null}],"n":12.30}',
    '{"auth":{"headers":{"X-Api-Key":"abc123secret"}},"auth":{"headers":{}}}',
], ids=["keyed", "pair", "pair-null", "earlier-object"])
def test_a_credential_under_a_member_named_twice_is_not_sent_in_clear(
        inline_wrap: Any, collector: Collector, body: str) -> None:
    """No lists: the credential pairs' masking alone. The log's body is the document as
    the app reads it (the last of each member), numbers as sent."""
    request, response = bodies(inline_wrap, collector, body.encode())
    for text in (request, response):
        assert "abc123" not in text, text
        assert json.loads(text) == json.loads(body), text
    if "12.30" in body:
        assert request.endswith(',"n":12.30}'), request


def test_a_body_naming_a_member_twice_without_a_credential_is_sent_as_written(
        inline_wrap: Any, collector: Collector) -> None:
    """The rewrite is for a text that may name a credential only: another is byte exact
    (a guard: it passed before the fix too)."""
    body = '{"headers":{"Accept":"text/plain","Accept":"*/*"}, "n": 1.50}'
    request, response = bodies(inline_wrap, collector, body.encode())
    assert request == body and response == body
