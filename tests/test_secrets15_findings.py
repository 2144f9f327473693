"""secrets15: secrets that still went out in clear through redaction.

* XML: a denied element's content ended at the first ``</password>`` found, even inside
  a comment, a CDATA section or a processing instruction in it, or closing an element of
  the same name nested in it: ``<password><!-- </password> -->secret</password>`` sent
  ``secret`` in clear. The close tag is now looked for in the content's markup.
* A header list sent in a JSON body (Postman's and HAR's ``[{"name": "Authorization",
  "value": "Bearer ..."}]``, AWS's ``{"Name": ..., "Value": ...}``, fetch's
  ``[["X-Api-Key", ...]]``) kept its credential headers' values in clear when no list
  named them, though the headers themselves are masked by default. (With a denylist
  naming them, such pairs were redacted already: redact13/14.)

Each case goes through the WSGI middleware to the collector on 127.0.0.1; every LEAKS
case spelled the secret in the posted batch on main at 43989bb.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Callable

import pytest

from readme_metrics import MetricsMiddleware
from readme_metrics.har.redaction import Redactor
from readme_metrics.har.redaction_xml import xml_redacted
from tests.support.contract import exchange, reading_app, spec_mask
from tests.support.fake_api import Collector
from tests.support.leak_carriers import spelled
from tests.support.leaks import found_spelled

S = "Qz9secrets15Secret"


def _typed(content_type: str, text: str) -> dict[str, Any]:
    return {"method": "POST", "body": text.encode(), "headers": {"Content-Type": content_type}}


def _json(document: Any) -> dict[str, Any]:
    return _typed("application/json", json.dumps(document))


def _logged(collector: Collector, wrap: Callable[..., MetricsMiddleware],
            request: dict[str, Any], app: Any = None, **options: Any
            ) -> tuple[list[str], dict[str, Any]]:
    before = len(collector.received)
    _, _, entry = exchange(wrap(app or reading_app(), **options), collector, **request)
    bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    return found_spelled(bodies, S), entry


XML_LEAKS = {
    "comment": f"<login><password><!-- </password> -->{S}</password></login>",
    "CDATA": f"<login><password><![CDATA[</password>]]>{S}</password></login>",
    "processing instruction": f"<login><password><?x </password> ?>{S}</password></login>",
    "nested element": f"<login><password><password>a</password>{S}</password></login>",
    "SOAP": ('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header>'
             "<wsse:Security><wsse:Password><!--</wsse:Password>-->"
             f"{S}</wsse:Password></wsse:Security></s:Header></s:Envelope>"),
}


@pytest.mark.parametrize("text", list(XML_LEAKS.values()), ids=list(XML_LEAKS))
def test_markup_in_a_denied_element_does_not_end_it(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware], text: str) -> None:
    hits, entry = _logged(collector, inline_wrap, _typed("application/xml", text),
                          denylist=["password"])
    assert hits == []
    assert "REDACTED" in entry["request"]["postData"]["text"]


@pytest.mark.parametrize(("text", "expected"), [
    ("<p><password><!-- </password> -->s</password><b>kept</b></p>",
     "<p><password>[REDACTED 21]</password><b>kept</b></p>"),
    ("<password><password/>s</password><b>kept</b>",
     "<password>[REDACTED 12]</password><b>kept</b>"),
    ("<password>s</password ><passwordHint>kept</passwordHint>",
     "<password>[REDACTED 1]</password ><passwordHint>kept</passwordHint>"),
    ("<password><!-- never ended </password>", "<password>[REDACTED 28]"),
    ("<a:password>s</a:password><b:password>t</b:password>",
     "<a:password>[REDACTED 1]</a:password><b:password>[REDACTED 1]</b:password>"),
])
def test_xml_close_tags(text: str, expected: str) -> None:
    assert xml_redacted(text, Redactor(denylist=["password"]).denies) == expected


def test_a_large_xml_body_is_read_whole() -> None:
    """2 MiB of denied elements, each holding a comment, and distinct prefixes: each read
    (linear: the close tag is looked for in each content only; 0.15 s here)."""
    item = "<item><password>p<!-- </password> --></password><name>n</name></item>"
    body = "<r>" + item * (2 ** 21 // len(item)) + "".join(
        f"<a{n}:password>q</a{n}:password>" for n in range(2000)) + "</r>"
    out = xml_redacted(body, Redactor(denylist=["password"]).denies)
    assert out.count("[REDACTED 21]") == 2 ** 21 // len(item)
    assert out.count("[REDACTED 1]") == 2000
    assert "<name>n</name>" in out


def _har(headers: list[dict[str, str]]) -> dict[str, Any]:
    return {"log": {"entries": [{"request": {"method": "GET", "url": "https://x/",
                                             "headers": headers}}]}}


HEADER_LISTS = {
    "Postman headers": {"header": [{"key": "Authorization", "value": f"Bearer {S}"}]},
    "HAR posted to an API": _har([{"name": "Accept", "value": "*/*"},
                                  {"name": "X-Api-Key", "value": S}]),
    "AWS Name/Value": {"Headers": [{"Name": "x-auth-token", "Value": S}]},
    "a list of pairs": [{"name": "authorization", "value": f"Basic {S}"}],
    "fetch rows": {"headers": [["Content-Type", "text/plain"], ["X-Api-Key", S]]},
    "underscored name": {"headers": [{"name": "x_api_key", "value": S}]},
}


@pytest.mark.parametrize("document", list(HEADER_LISTS.values()), ids=list(HEADER_LISTS))
@pytest.mark.parametrize("lists", [pytest.param({}, id="no lists"),
                                   pytest.param({"denylist": ["email"]}, id="denylist")])
def test_credential_headers_in_a_json_header_list_are_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        document: Any, lists: dict[str, Any]) -> None:
    hits, entry = _logged(collector, inline_wrap, _json(document), **lists)
    assert hits == []
    text = entry["request"]["postData"]["text"]
    assert "sha512-" in text
    json.loads(text)


def test_a_masked_pair_is_the_headers_mask_and_the_rest_is_kept(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    document = [{"name": "Authorization", "value": f"Bearer {S}"},
                {"name": "Accept", "value": "application/json"}]
    _, entry = _logged(collector, inline_wrap, _json(document))
    assert json.loads(entry["request"]["postData"]["text"]) == [
        {"name": "Authorization", "value": spec_mask(f"Bearer {S}")},
        {"name": "Accept", "value": "application/json"}]


def test_a_header_list_in_a_response_body_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    app = reading_app(headers=[("Content-Type", "application/json")],
                      body=[json.dumps({"headers": [{"name": "X-Api-Key", "value": S}]}
                                       ).encode()])
    hits, entry = _logged(collector, inline_wrap, {"method": "GET"}, app=app)
    assert hits == []
    assert spec_mask(S) in entry["response"]["content"]["text"]


#: Header lists naming no credential header, and pairs that are no header: byte for byte.
KEPT = [
    '[{"name": "Content-Type", "value": "text/plain"}]',
    '{"headers": [{"name": "X-Next-Page-Token", "value": "p2"}]}',
    '{"name": "Zoe", "value": 42, "key": "sort"}',
    '[["Accept", "text/html"], ["Idempotency-Key", "abc"]]',
]


@pytest.mark.parametrize("text", KEPT)
def test_other_pairs_are_kept_as_sent(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware], text: str) -> None:
    _, entry = _logged(collector, inline_wrap, _typed("application/json", text))
    assert entry["request"]["postData"]["text"] == text


# The caller's key base64-encoded in a body (SPEC 6: the key never leaves in clear).
KEY = "sk_live_secrets15Zq7Wx"


def _key_caller(request: Any) -> dict[str, str]:
    return {"api_key": KEY, "label": "owl"}


def _b64(text: str, urlsafe: bool = False) -> str:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return encode(text.encode()).decode("ascii")


KEY_IN_BASE64 = {
    "json Basic credential": lambda: _json({"auth": "Basic " + _b64(f"owl:{KEY}")}),
    "json url-safe, unpadded": lambda: _json({"t": _b64(f"x{KEY}", urlsafe=True).rstrip("=")}),
    "json at each alignment": lambda: _json([_b64(lead + KEY) for lead in ("", "a", "ab")]),
    "text body": lambda: _typed("text/plain", "credentials: " + _b64(f"{KEY}:x") + "\n"),
}


@pytest.mark.parametrize("build", list(KEY_IN_BASE64.values()), ids=list(KEY_IN_BASE64))
def test_the_callers_key_in_base64_in_a_request_body_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        build: Callable[[], dict[str, Any]]) -> None:
    before = len(collector.received)
    exchange(inline_wrap(reading_app(), grouping_function=_key_caller), collector, **build())
    bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    assert spelled(bodies, KEY) == []


def test_the_callers_key_in_base64_in_a_response_body_is_masked(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    """An echo of the request's body (httpbin's /anything): its Basic credential
    decodes to the user and the key's mask. (An echo of its headers has the
    Authorization masked whole, as the header is: test_review72_findings.)"""
    echo = json.dumps({"json": {"auth": "Basic " + _b64(f"owl:{KEY}")}})
    app = reading_app(headers=[("Content-Type", "application/json")], body=[echo.encode()])
    before = len(collector.received)
    _, _, entry = exchange(inline_wrap(app, grouping_function=_key_caller), collector,
                           method="GET")
    bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    assert spelled(bodies, KEY) == []
    sent = json.loads(entry["response"]["content"]["text"])["json"]["auth"]
    assert base64.b64decode(sent.split()[1]).decode() == "owl:" + spec_mask(KEY)


def test_base64_without_the_key_is_kept(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    text = json.dumps({"avatar": _b64("not the key at all, " * 5), "id": _b64(KEY[:-1])})
    _, _, entry = exchange(inline_wrap(reading_app(), grouping_function=_key_caller),
                           collector, **_typed("application/json", text))
    assert entry["request"]["postData"]["text"] == text
