"""forms22: two form-body records that were wrong (SPEC 4 and 6).

1. review103: a form field whose value is text holding a JSON document naming a denied key
   (``a=x%20%7B%22password%22...``, the document after "x ") is hidden whole, but its
   marker was percent-encoded once per level the value was looked into: the decoded text,
   holding no escape, was read as a value encoded once more (redaction_query.nested_value),
   so params held ``%255BREDACTED%252019%255D`` and a form answer's text
   ``a=%25255BREDACTED...``. Now the marker is encoded once in the text (as the value it
   replaces was) and not at all in params; a value really encoded twice gets its marker
   encoded twice, so that the app's two decodings read ``[REDACTED n]``.
2. twins21: an answer declared a form whose bytes are JSON in windows-1252 (no UTF-8) was
   redacted whole, while the same bytes as a request were redacted key by key: the answer
   is now read by the request's reading (body_forms.form_of_json), one implementation.

Each test here failed before the fix (the e2e one for the answer only).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any, Optional
from urllib.parse import parse_qsl, quote, unquote, urlencode

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.har.bodies import content, post_data
from readme_metrics.har.headers import RAW_CONTENT_TYPE
from readme_metrics.har.redaction import Redactor
from tests.support.fake_api import Collector, free_port
from tests.support.polling import PATIENCE
from tests.support.twins21_apps import CALLER
from tests.test_e2e_servers import GUNICORN, entry_of, serve, server_env

FORM = "application/x-www-form-urlencoded"
HEAD = {"content-type": FORM, RAW_CONTENT_TYPE: FORM}
DENY = Redactor(denylist=["password"])
SECRET = "Zq8-f22-Xw3K"
#: review103's body: a field's value, text before a JSON document naming the key.
BODY = b"a=x%20%7B%22password%22%3A%20%22S%22%7D"
#: twins21's: a Windows client's JSON (curly quotes \x93 \x94) declared a form.
FORM_1252 = b'{"note":"\x93hi\x94","password":"p"}'


def _request(body: bytes, redactor: Optional[Redactor] = DENY) -> dict[str, Any]:
    return post_data(body, len(body), HEAD, redactor, 1 << 20)


def _answer(body: bytes, redactor: Optional[Redactor] = DENY) -> dict[str, Any]:
    return content(body, len(body), HEAD, redactor, 1 << 20)


def test_a_document_after_text_in_a_value_has_its_marker_encoded_once() -> None:
    assert _request(BODY)["params"] == [{"name": "a", "value": "[REDACTED 19]"}]
    assert _answer(BODY)["text"] == "a=%5BREDACTED%2019%5D"


def test_a_value_encoded_twice_has_its_marker_encoded_twice() -> None:
    # The app decodes the value twice to read 'x {"password": "S"}': so does the marker.
    value = quote(quote('x {"password": "S"}', safe=""), safe="")
    body = f"a={value}&b=1".encode()
    assert _answer(body)["text"] == "a=%255BREDACTED%252019%255D&b=1"
    assert _request(body)["params"] == [{"name": "a", "value": "%5BREDACTED%2019%5D"},
                                        {"name": "b", "value": "1"}]


def test_a_form_answer_of_windows_1252_json_is_redacted_key_by_key_as_a_request() -> None:
    request, answer = _request(FORM_1252), _answer(FORM_1252)
    assert answer["text"] == request["text"] == (
        '{"note":"\u201chi\u201d","password":"[REDACTED 1]"}')
    assert answer["comment"] == request["comment"]
    # No list: as sent, base64 (not text in any charset a form is read in).
    assert '"p"' not in answer["text"]
    assert _answer(FORM_1252, None)["encoding"] == "base64"


# Hypothesis: forms whose values are plain text, JSON documents (at a value's start or
# after text), or forms, each encoded once or twice, under a denied key or not.
_WORDS = st.text(alphabet="abcxyz 019-_.", min_size=0, max_size=8)
_KEYS = st.sampled_from(["password", "Password", "note", "user", "id"])


@st.composite
def _values(draw: st.DrawFn) -> tuple[str, str, bool]:
    """(kind, a decoded value, whether it holds the secret under a denied key)."""
    key = draw(_KEYS)
    denied = key.lower() == "password"
    secret = SECRET if denied else draw(_WORDS)
    kind = draw(st.sampled_from(["plain", "json", "text-json", "form"]))
    if kind == "plain":
        return kind, draw(_WORDS), False
    if kind == "json":
        return kind, json.dumps({key: secret}), denied
    if kind == "text-json":
        return kind, draw(_WORDS) + "x " + json.dumps({key: secret}), denied
    return kind, urlencode({"u": draw(_WORDS), key: secret}), denied


@st.composite
def _forms(draw: st.DrawFn) -> tuple[list[tuple[str, str, int]], list[tuple[str, bool]]]:
    """([(name, decoded value, times encoded)], [(kind, holds a denied secret)])."""
    fields, secret = [], []
    for at in range(draw(st.integers(1, 4))):
        kind, value, holds = draw(_values())
        fields.append((f"f{at}", value, draw(st.integers(1, 2))))
        secret.append((kind, holds))
    return fields, secret


def _encoded(value: str, times: int) -> str:
    for _ in range(times):
        value = quote(value, safe="")
    return value


@settings(max_examples=300, deadline=None)
@given(_forms())
def test_random_forms_are_recorded_as_sent_but_for_a_redacted_span(
        drawn: tuple[list[tuple[str, str, int]], list[tuple[str, bool]]]) -> None:
    fields, secret = drawn
    body = "&".join(f"{name}={_encoded(value, times)}" for name, value, times in fields)
    params = _request(body.encode())["params"]
    text = _answer(body.encode())["text"]
    # The answer's text, read as a form, is the request's params: each marker encoded in
    # the text exactly once more than in params.
    assert [{"name": n, "value": v} for n, v in parse_qsl(text, keep_blank_values=True)
            ] == params
    sent = body.split("&")
    for (name, value, times), (kind, holds), pair, param in zip(
            fields, secret, text.split("&"), params):
        if not holds:
            # Nothing a list touches changes, byte for byte.
            assert pair == sent[fields.index((name, value, times))]
            continue
        # No secret in any spelling: decoded as often as the app may.
        read = pair
        for _ in range(4):
            assert SECRET not in read
            read = unquote(read)
        assert SECRET not in read
        # A marker the app reads, after decoding the value as often as it was encoded
        # (and, in a form, reading that form's pairs): never one encoded again.
        shown = param["value"]
        for _ in range(times - 1):
            shown = unquote(shown)
        if kind == "form":
            shown = {n.lower(): v for n, v in parse_qsl(shown, keep_blank_values=True)
                     }["password"]
        assert "[REDACTED" in shown and "%5BREDACTED" not in shown


FLASK = "tests.support.twins21_apps:flask_app"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Collector]]:
    """twins21's Flask app (denylist ``password``, ``POST /echo`` answering the body
    back with its Content-Type) under gunicorn, logging into a real collector."""
    collector = Collector().start()
    port = free_port()
    argv = [sys.executable, *GUNICORN, "--worker-class=sync", f"--bind=127.0.0.1:{port}",
            FLASK]
    try:
        with serve(argv, server_env(collector), tmp_path_factory.mktemp("gunicorn"),
                   port) as base:
            yield base, collector
    finally:
        collector.stop()


def logged_echo(served: tuple[str, Collector], case: str, body: bytes,
                headers: Optional[dict[str, str]] = None) -> dict[str, Any]:
    """The log entry of ``body`` posted to twins21's ``/echo`` (as a form, or with
    ``headers``), answered back as it was sent (forms23 posts through it too)."""
    base, collector = served
    answer = requests.post(base + "/echo", data=body, timeout=PATIENCE, headers={
        **(headers or {"Content-Type": FORM}), "X-Api-Key": CALLER, "X-Case": case,
        "Accept-Encoding": "identity"})
    assert answer.content == body
    found = collector.wait_for_log(lambda log: any(
        h["name"].lower() == "x-case" and h["value"] == case
        for h in entry_of(log)["request"]["headers"]))
    return entry_of(found)


@pytest.mark.e2e
def test_served_echo_of_both_bodies(served: tuple[str, Collector]) -> None:
    entry = logged_echo(served, "form-text-json", BODY)
    assert entry["request"]["postData"]["params"] == [
        {"name": "a", "value": "[REDACTED 19]"}]
    assert entry["response"]["content"]["text"] == "a=%5BREDACTED%2019%5D"
    entry = logged_echo(served, "form-1252", FORM_1252)
    assert entry["response"]["content"]["text"] == entry["request"]["postData"]["text"] == (
        '{"note":"\u201chi\u201d","password":"[REDACTED 1]"}')
