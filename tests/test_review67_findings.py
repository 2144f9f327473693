"""review67: an adversarial look at redact14's XML reader and creds14's header names.

* Leak: an XML start tag whose attribute value held a ">" (XML allows it, not "<") was
  read as ending there, so a denied attribute after it (``<login note="a>b"
  password="..."/>``) went out in clear.
* Cost: an attribute was tried at every character of a tag, its name read to the end of
  the run each time: a tag holding a run of 16 KiB of name characters took 4.5 s of the
  worker, 32 KiB 16 s (quadratic; benchmarks/hostile_doubling.py --only xml: 0.37 s for
  2 MiB now, linear); and the close tag of each denied element was a pattern compiled
  for it, one per distinct prefix (``<p1:password>``, ``<p2:password>``...), each a
  compile and a slot of ``re``'s cache.
* Leak: a name/value pair written as an XML element's attributes (.NET's ``<add
  key="Password" value="..."/>``, Spring's ``<property name="password" value="..."/>``,
  OpenStreetMap's ``<tag k="password" v="..."/>``) or a naming attribute and the content
  (Java's XML properties, ``<entry key="password">...</entry>``) went out in clear; a
  form's, a query's and a JSON body's are paired (redact13/14).
* Leak: ``X-Signature-Sha-256`` (the digest's name and its size as two words) dropped
  "256" only, its last word then "sha": logged in clear where ``X-Signature-Sha256`` was
  masked. A key's digest (``X-Api-Key-Sha-256``) stays as sent, as ``-Sha256`` did.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

import pytest

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.har import redaction_xml
from readme_metrics.har.credential_headers import credential_header
from readme_metrics.har.redaction_xml import xml_redacted
from tests.support.contract import API_KEY, caller, exchange, reading_app, spec_mask
from tests.support.fake_api import Collector
from tests.test_redact14_findings import _typed
from tests.test_redaction_pairs import SECRET, _logged

S = SECRET


@pytest.mark.parametrize("text", [
    f'<login note="a>b" password="{S}"/>',
    f"<login note='x>' password='{S}'></login>",
    f'<login a="1>" b=\'2>\' password="{S}" c="3"><user>zoe</user></login>',
])
def test_a_denied_attribute_after_a_value_holding_a_gt_never_reaches_the_collector(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        text: str) -> None:
    hits, entry = _logged(collector, inline_wrap, _typed("application/xml", text),
                          denylist=["password"])
    assert hits == []
    assert f"[REDACTED {len(S)}]" in json.dumps(entry["request"])


@pytest.mark.parametrize(("text", "expected"), [
    ('<a note="x>y" password="s"/>', '<a note="x>y" password="[REDACTED 1]"/>'),
    ("<a t='/>' password='s'>k</a>", "<a t='/>' password='[REDACTED 1]'>k</a>"),
    # A value holding "<" is no XML: the tag is not read, as before.
    ('<a note="x<y" password="s"/>', '<a note="x<y" password="s"/>'),
    # Empty element tags, with and without attributes, as before.
    ("<password/><b>k</b>", "<password/><b>k</b>"),
    ('<login password="s" />', '<login password="[REDACTED 1]" />'),
    ("<password >s</password >", "<password >[REDACTED 1]</password >"),
    ("<x:password>s</x:password\n>t", "<x:password>[REDACTED 1]</x:password\n>t"),
    ("<x:password>s</x:passwordy></x:password>",
     "<x:password>[REDACTED 15]</x:password>"),
    ("<password>s</passwor", "<password>[REDACTED 10]"),
])
def test_xml_redacted_reads_values_holding_gt(text: str, expected: str) -> None:
    assert xml_redacted(text, lambda name: name.lower() == "password") == expected


def test_an_attribute_is_tried_only_where_a_name_starts() -> None:
    """The attribute pattern matched at every character of a run of name characters,
    reading to its end each time (quadratic: 4.5 s for a tag of 16 KiB of "a"); it
    starts only after a character no name holds now."""
    assert redaction_xml._ATTRIBUTE.search(' ab="1"', 2) is None
    assert redaction_xml._ATTRIBUTE.search(' x:ab="1"', 3) is None
    assert redaction_xml._ATTRIBUTE.search(' ab="1"').group(2) == "ab"
    tag = '<x a="1" password="s" ' + "a" * (64 * 1024) + "/>"
    assert xml_redacted(tag, lambda name: name == "password") == tag.replace(
        '"s"', '"[REDACTED 1]"')


def test_no_pattern_is_compiled_per_element(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each denied element's close tag was a pattern compiled for it: a body of elements
    of distinct prefixes compiled (and cached) one each."""
    compiled: list[str] = []
    real = re.compile

    def counting(pattern: Any, flags: int = 0) -> Any:
        compiled.append(pattern)
        return real(pattern, flags)

    monkeypatch.setattr(re, "compile", counting)
    text = "".join(f"<p{i}:password>s</p{i}:password>" for i in range(200))
    hidden = xml_redacted(text, lambda name: name == "password")
    assert hidden == "".join(
        f"<p{i}:password>[REDACTED 1]</p{i}:password>" for i in range(200))
    assert compiled == []


XML_PAIRS = {
    ".NET appSettings": f'<configuration><appSettings><add key="Password" value="{S}"/>'
                        '<add key="Host" value="db"/></appSettings></configuration>',
    "Spring property": f'<beans><bean><property name="password" value="{S}"/></bean></beans>',
    "OpenStreetMap tag": f'<osm><node><tag k="password" v="{S}"/></node></osm>',
    "Java XML properties": f'<properties><entry key="password">{S}</entry></properties>',
    "a param's content": f"<params><param name='token'>{S}</param></params>",
    "attributes prefixed": f'<c:add c:key="password" c:value="{S}"/>',
}


@pytest.mark.parametrize("text", [pytest.param(text, id=label)
                                  for label, text in XML_PAIRS.items()])
def test_an_xml_name_value_pair_never_reaches_the_collector(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        text: str) -> None:
    hits, entry = _logged(collector, inline_wrap, _typed("application/xml", text),
                          denylist=["password", "token"])
    assert hits == []
    assert f"[REDACTED {len(S)}]" in json.dumps(entry["request"])


@pytest.mark.parametrize("text", [
    '<add key="Host" value="db"/><entry key="user">zoe</entry>',
    '<error field="password" message="too short"/>',
    '<errors><error field="password">is too short</error></errors>',
    '<x name="password" v="2"/>',  # a version beside a name, as in a form
    '<tag k="highway" v="primary"/>',
])
def test_xml_pairs_naming_no_denied_key_are_kept(text: str) -> None:
    assert xml_redacted(text, lambda name: name.lower() == "password") == text


@pytest.mark.parametrize("name", [
    "X-Signature-Sha-256", "X-Request-Signature-Sha-256", "X-Hub-Signature-Sha-1",
    "X-Webhook-Hmac-Sha-512"])
def test_a_signature_named_with_its_digest_in_two_words_is_masked(
        collector: Collector, name: str) -> None:
    """Through the WSGI environ to a real collector; the collector's own check refuses
    it in clear (it reads the same rule)."""
    from readme_metrics.cli.collector.validation import validate_log

    secret = "sha256=9f86d081884c7d659a2feaa0c55ad015"
    middleware = MetricsMiddleware(reading_app(), MetricsApiConfig(
        api_key=API_KEY, grouping_function=caller, metrics_api=collector.url))
    try:
        _, log, entry = exchange(middleware, collector, headers={
            "X-Api-Key": "owlbert", name: secret, "X-Api-Key-Sha-256": "e3b0c442"})
    finally:
        middleware.close()
    assert secret.encode() not in b"".join(post.body for post in collector.received)
    sent = {header["name"].lower(): header["value"] for header in entry["request"]["headers"]}
    assert sent[name.lower()] == spec_mask(secret)
    assert sent["x-api-key-sha-256"] == "e3b0c442"  # a key's digest, as -Sha256's
    entry["request"]["headers"] = [{"name": name, "value": "clear-1"}]
    assert [problem for problem in validate_log(log) if "must be masked" in problem]


@pytest.mark.parametrize(("name", "masked"), [
    ("x-signature-sha-256", True), ("x-signature-sha256", True),
    ("x-api-key-sha-256", False), ("x-api-key-sha256", False), ("x-api-key-md5", False),
    ("x-signature-algorithm", False), ("x-sig-version", False), ("x-api-key-id", False),
    ("sec-websocket-key1", False), ("x-content-sha-256", False), ("x-sha-256", False),
])
def test_credential_header_digest_words(name: str, masked: bool) -> None:
    assert credential_header(name) is masked


_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ6b2UifQ.c2lnbmF0dXJlLXM3"


@pytest.mark.parametrize("sent", [
    f"base64url.bearer.authorization.k8s.io.{_JWT[:20]}, base64.binary.k8s.io",
    f"access_token, {_JWT}", "graphql-ws, Authorization,opaque-s3cr3t-77", f"chat, {_JWT}"])
def test_the_collector_refuses_a_subprotocol_token_in_clear(
        collector: Collector, sent: str) -> None:
    """creds14 masks a bearer token sent as a WebSocket subprotocol; the collector, which
    refuses a credential header in clear, let such a token pass. It refuses it now, and
    takes the library's log of it (the token masked, the names kept)."""
    from readme_metrics.cli.collector.validation import validate_log

    middleware = MetricsMiddleware(reading_app("426 Upgrade Required", headers=[
        ("Content-Type", "text/plain"), ("Sec-WebSocket-Protocol", sent)]),
        MetricsApiConfig(api_key=API_KEY, grouping_function=caller,
                         metrics_api=collector.url))
    try:
        _, log, entry = exchange(middleware, collector, headers={
            "X-Api-Key": "owlbert", "Upgrade": "websocket", "Connection": "Upgrade",
            "Sec-WebSocket-Protocol": sent})
    finally:
        middleware.close()
    assert validate_log(log) == []

    def protocols(value: str) -> None:
        for side in ("request", "response"):
            for header in entry[side]["headers"]:
                if header["name"].lower() == "sec-websocket-protocol":
                    header["value"] = value

    protocols(sent)
    problems = [problem for problem in validate_log(log) if "must be masked" in problem]
    assert len(problems) == 2, problems
    for value in ("graphql-ws, graphql-transport-ws", "wamp.2.json, wamp.2.msgpack"):
        protocols(value)
        assert validate_log(log) == []
