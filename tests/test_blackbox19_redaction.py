"""blackbox19: SPEC section 6, read as a stranger would: "Redacting a JSON body keeps it
valid JSON", and a redaction changes the values it redacts, nothing else.

Through the public API (``MetricsMiddleware`` with a denylist or an allowlist, the loopback
collector), a JSON body the lists had to redact came back with its numbers rewritten by
Python's float and int: ``12.30`` as ``12.3``, ``1E2`` as ``100.0``,
``3.14159265358979323846`` cut to a double's digits; and a body holding a number no double
holds (``1e400``: valid JSON, RFC 8259 sets no range, and JavaScript's ``JSON.parse``
reads it) or an integer longer than ``int()`` reads (over 4,300 digits) was hidden whole,
``"[REDACTED 33]"``, which is no JSON, every field of it lost. Reading of SPEC: the
numbers are part of the body as received; only the redacted values may change.

Each test failed before the fix (numbers respelled, or the body hidden whole) and checks
the log the collector received, as JSON.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest

from tests.support.contract import exchange
from tests.support.fake_api import Collector


def echo_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """Answers the JSON body it was sent, as sent."""
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def bodies(inline_wrap: Any, collector: Collector, body: bytes,
           **options: Any) -> tuple[str, str]:
    """(the request's postData text, the response's content text) of one echoed call."""
    _, _, entry = exchange(inline_wrap(echo_app, **options), collector, method="POST",
                           body=body, headers={"Content-Type": "application/json"})
    sent = entry["request"]["postData"]
    assert "comment" not in sent, sent  # not "redacted whole"
    return sent["text"], entry["response"]["content"]["text"]


NUMBERS = '"price":12.30,"ratio":1E2,"pi":3.14159265358979323846,"big":1.0e5,"tiny":1e-7'


@pytest.mark.parametrize(("options", "body", "expected"), [
    pytest.param({"denylist": ["password"]},
                 '{"password":"hunter2",' + NUMBERS + '}',
                 '{"password":"[REDACTED 7]",' + NUMBERS + '}', id="denylist"),
    pytest.param({"allowlist": ["price", "ratio", "pi", "big", "tiny"]},
                 '{"password":"hunter2",' + NUMBERS + '}',
                 '{"password":"[REDACTED 7]",' + NUMBERS + '}', id="allowlist"),
    pytest.param({"denylist": ["password"]},
                 '[{"password":"x","n":[0.50,-0.0,2.000]}]',
                 '[{"password":"[REDACTED 1]","n":[0.50,-0.0,2.000]}]', id="in-arrays"),
])
def test_a_redacted_json_body_keeps_its_numbers_as_sent(
        inline_wrap: Any, collector: Collector, options: dict[str, Any], body: str,
        expected: str) -> None:
    request, response = bodies(inline_wrap, collector, body.encode(), **options)
    assert request == expected
    assert response == expected


@pytest.mark.parametrize("number", ["1e400", "-1E999", "1.5e+400", "9" * 5000],
                         ids=["1e400", "-1E999", "1.5e+400", "5000-digits"])
@pytest.mark.parametrize("options", [{"denylist": ["password"]}, {"allowlist": ["n"]}],
                         ids=["denylist", "allowlist"])
def test_a_number_no_double_holds_leaves_a_redacted_body_valid_json(
        inline_wrap: Any, collector: Collector, options: dict[str, Any],
        number: str) -> None:
    """Valid JSON (RFC 8259 sets numbers no range): the body was hidden whole, its text
    ``[REDACTED n]`` (no JSON), for Python reads 1e400 as infinity, which json.dumps does
    not write, and refuses an int of more than 4,300 digits."""
    body = '{"password":"hunter2","n":' + number + ',"keep":1}'
    request, response = bodies(inline_wrap, collector, body.encode(), **options)
    keep = "1" if "denylist" in options else '"[REDACTED]"'
    expected = '{"password":"[REDACTED 7]","n":' + number + ',"keep":' + keep + "}"
    assert request == expected and response == expected
    assert "hunter2" not in request and "Infinity" not in request
    if len(number) < 100:
        assert json.loads(request)["password"] == "[REDACTED 7]"


def test_a_denied_number_no_double_holds_is_redacted_as_a_number(
        inline_wrap: Any, collector: Collector) -> None:
    request, _ = bodies(inline_wrap, collector, b'{"password":1e400,"n":12.30}',
                        denylist=["password"])
    assert request == '{"password":"[REDACTED]","n":12.30}'


def test_a_header_list_in_a_body_is_masked_with_its_numbers_as_sent(
        inline_wrap: Any, collector: Collector) -> None:
    """A name/value pair naming a credential header is masked in any JSON body (README),
    with no list configured: the rest of the document was written back with Python's
    spelling of its numbers too."""
    body = b'{"headers":[{"name":"Authorization","value":"Bearer abc123"}],"amount":12.30}'
    request, _ = bodies(inline_wrap, collector, body)
    document = json.loads(request)
    assert document["headers"][0]["value"].startswith("sha512-")
    assert request.endswith('"amount":12.30}')
