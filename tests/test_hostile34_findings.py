"""hostile34: odd encodings against the deny lists, a fresh round.

1. EBCDIC text not declared so (no charset, or one that is no EBCDIC): a mainframe
   client's JSON, form or ``.env`` in IBM037/IBM500 sent as
   ``application/octet-stream``, with no type, or typed a form without its charset, is
   no text in any charset the body names (its letters are latin-1's C1 controls), so it
   is binary data, base64 in the log; the check of binary data read its bytes as
   latin-1, UTF-8 and NUL-spaced UTF-16/32 only, so ``{"password": "..."}`` went out
   as base64 that ``base64 -d | iconv -f IBM037`` reads (the response's copy too). Now
   the check reads such bytes as EBCDIC too (IBM037's and IBM500's letters, digits and
   ``"``, ``:``, ``=``: the same in both, and in IBM273 and IBM1140; IBM1026's ``"`` too)
   and hides the body whole when a denied name is there in a key's shape, as it does a
   latin-1 spelling; so too a text read a byte a character (a declared latin-1 or
   KOI8-R, windows-1252 as the last resort).
2. A form declared in an EBCDIC charset, which Django's QueryDict reads in it (its
   ``password`` a field), was logged as its bytes read as UTF-8: one field's name, the
   password percent-encoded in it. Now read in that charset, as Django does; with an
   allowlist (which keeps names) an EBCDIC form declared otherwise is hidden whole.
3. A multipart field in EBCDIC (kept percent-encoded) or a JSON/text file part read a
   byte a character: its ``PASSWORD=...`` went out. Now its value is hidden.
"""

from __future__ import annotations

import base64
import json
import random
import tracemalloc
from typing import Any, Callable
from urllib.parse import quote, unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics import MetricsMiddleware
from readme_metrics.har.bodies import post_data
from readme_metrics.har.redaction import Redactor
from tests.support.contract import exchange
from tests.support.fake_api import Collector
from tests.support.flask_echo import logged_echo
from tests.support.leaks import found
from tests.support.sent_bodies import SECRET, bodies_logged, body_head, kept_as_sent
from tests.test_odds13_findings import _django_form_app

DENY = Redactor(["password", "api_key"])
CODECS = ["cp037", "cp500", "cp273", "cp1140", "cp1026"]


def _hidden(body: bytes, mime: Any, redactor: Redactor = DENY) -> bool:
    return all(text.startswith("[REDACTED") for text in bodies_logged(body, mime, redactor))


def _leaks(log: dict[str, Any], codec: str) -> bool:
    """Whether the log holds the secret, as written or in the EBCDIC of its base64."""
    entry = log["request"]["log"]["entries"][0] if "request" in log else log
    texts = [json.dumps(log)]
    for record in (entry["request"].get("postData", {}), entry["response"]["content"]):
        if record.get("encoding") == "base64" or record.get("comment") == "base64":
            texts.append(base64.b64decode(record["text"]).decode(codec))
    return any(SECRET in text for text in texts)


# 1. EBCDIC text not declared so ------------------------------------------------------

EBCDIC_SHAPES = {
    "json": f'{{"user": "zoe", "password": "{SECRET}"}}',
    "json-upper": f'{{"USER": "zoe", "API_KEY": "{SECRET}"}}',
    "form": f"user=zoe&password={SECRET}",
    "env": f"USER=zoe\nPASSWORD={SECRET}\n",
    "yaml-ish": f"user: zoe\npassword: {SECRET}\n",
}


@pytest.mark.parametrize("mime", ["application/octet-stream", None,
                                  "application/x-www-form-urlencoded",
                                  "application/x-www-form-urlencoded; charset=latin-1",
                                  "application/json; charset=utf-8",
                                  "text/plain; charset=koi8-r"])
@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("shape", EBCDIC_SHAPES)
def test_ebcdic_text_not_declared_so_naming_a_denied_key_is_hidden(
        shape: str, codec: str, mime: Any) -> None:
    body = EBCDIC_SHAPES[shape].encode(codec)
    assert _hidden(body, mime), bodies_logged(body, mime)


def test_guard_ebcdic_prose_and_latin1_bodies_are_kept() -> None:
    # Prose naming the key in EBCDIC is no key's shape: kept, as in latin-1.
    prose = "Reset your password by mail: see the notes.".encode("cp037")
    assert kept_as_sent(prose, "application/octet-stream")
    # A denied name spelled in EBCDIC with no `:` or `=` after it: kept.
    assert kept_as_sent("password reset for zoe".encode("cp500"), None)


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=0, max_size=4096))
def test_guard_random_binary_is_no_more_hidden(data: bytes) -> None:
    # Random bytes spelling no denied name in EBCDIC are not hidden for it.
    ebcdic = data.decode("cp500").lower()
    if "password" in ebcdic or "api_key" in ebcdic:
        return
    assert kept_as_sent(b"\x00\x01\x02" + data, "application/octet-stream")


def test_the_ebcdic_reading_costs_time_and_memory_linear_in_the_body() -> None:
    # 1 MiB of random bytes, the key's EBCDIC spelling at its end.
    chosen = random.Random(34)
    body = bytes(chosen.getrandbits(8) for _ in range(1 << 20))
    body += '"password": "x"'.encode("cp037")
    tracemalloc.start()
    try:
        assert _hidden(body, "application/octet-stream")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 12 * len(body), (peak, len(body))


def test_through_a_flask_app_and_the_collector_ebcdic_json(collector: Collector) -> None:
    body = EBCDIC_SHAPES["json"].encode("cp037")
    log = logged_echo(collector, body, "application/octet-stream",
                      denylist=["password", "api_key"])
    assert not _leaks(log, "cp037")
    entry = log["request"]["log"]["entries"][0] if "request" in log else log
    assert entry["request"]["postData"]["text"].startswith("[REDACTED")
    assert entry["response"]["content"]["text"].startswith("[REDACTED")


def test_through_a_flask_app_and_the_collector_an_ebcdic_form(collector: Collector) -> None:
    body = EBCDIC_SHAPES["form"].encode("cp500")
    log = logged_echo(collector, body, "application/x-www-form-urlencoded",
                      denylist=["password"])
    assert not _leaks(log, "cp500")


# 2. A form declared in an EBCDIC charset, as Django reads it ---------------------------


@pytest.mark.parametrize("charset", ["cp500", "ibm037", "IBM1140", "cp273", "ebcdic-cp-us"])
def test_a_form_declared_ebcdic_is_read_in_it_as_django_reads_it(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        charset: str) -> None:
    """Django's QueryDict reads a form declared ``charset=cp500`` in it (a ``password``
    field); the log read its bytes as UTF-8, one field's name percent-encoded, which
    no list names: ``%97%81%A2%A2...`` went out, which ``iconv -f IBM500`` reads."""
    seen: dict[str, Any] = {}
    middleware = inline_wrap(_django_form_app(seen), denylist=["password"])
    body = f"user=ann&password={SECRET}".encode(charset)
    _, _, entry = exchange(
        middleware, collector, method="POST", body=body,
        headers={"Content-Type": f"application/x-www-form-urlencoded; charset={charset}"})
    assert seen["form"]["password"] == SECRET  # the app's read of it
    assert entry["request"]["postData"]["params"] == [
        {"name": "user", "value": "ann"},
        {"name": "password", "value": f"[REDACTED {len(SECRET)}]"},
    ]
    bodies = [batch.body for batch in collector.received]
    assert not found(bodies, SECRET)
    assert not any(quote(SECRET.encode(charset)) in data.decode("latin-1")
                   for data in bodies)


def test_an_ebcdic_form_declared_otherwise_is_hidden_whole_by_an_allowlist() -> None:
    """An allowlist keeps a form field's name: an EBCDIC form read as bytes was one
    field, its name the whole form percent-encoded, ``password=...`` in it."""
    allow = Redactor(allowlist=["user"])
    body = EBCDIC_SHAPES["form"].encode("cp500")
    for mime in ("application/x-www-form-urlencoded",
                 "application/x-www-form-urlencoded; charset=utf-8"):
        assert _hidden(body, mime, allow), bodies_logged(body, mime, allow)
    # Declared so, it is read in it: the listed field kept, the rest hidden.
    record = post_data(body, len(body), body_head("application/x-www-form-urlencoded; "
                                                  "charset=cp500"), allow, 1 << 22)
    assert record["params"] == [{"name": "user", "value": "zoe"},
                                {"name": "password", "value": f"[REDACTED {len(SECRET)}]"}]


# 3. A multipart field or file part in EBCDIC -------------------------------------------

PART_HEADS = {
    "field": b'Content-Disposition: form-data; name="notes"',
    "json-file": b'Content-Disposition: form-data; name="f"; filename="x.json"\r\n'
                 b"Content-Type: application/json",
    "text-file": b'Content-Disposition: form-data; name="f"; filename="x.txt"\r\n'
                 b"Content-Type: text/plain; charset=latin-1",
}
MULTIPART = "multipart/form-data; boundary=XyZ"


def _multipart(head: bytes, value: bytes) -> bytes:
    return b"--XyZ\r\n" + head + b"\r\n\r\n" + value + b"\r\n--XyZ--\r\n"


def _spelled(record: dict[str, Any]) -> bool:
    """Whether a multipart record holds the secret in EBCDIC (percent-encoded in a field,
    or in a file's data URL)."""
    for param in record.get("params", []):
        value = param["value"]
        if "base64," in value:
            value = base64.b64decode(value.split("base64,", 1)[1]).decode("latin-1")
        if SECRET.encode("cp500").decode("latin-1") in unquote(value, encoding="latin-1"):
            return True
    return False


@pytest.mark.parametrize("shape", ["env", "json"])
@pytest.mark.parametrize("part", PART_HEADS)
def test_a_multipart_part_in_ebcdic_naming_a_denied_key_is_hidden(part: str,
                                                                  shape: str) -> None:
    body = _multipart(PART_HEADS[part], EBCDIC_SHAPES[shape].encode("cp500"))
    record = post_data(body, len(body), body_head(MULTIPART), DENY, 1 << 22)
    assert not _spelled(record), record
    assert record["params"][0]["value"].startswith("[REDACTED")


def test_guard_a_multipart_field_beyond_ascii_naming_no_key_is_kept() -> None:
    body = _multipart(PART_HEADS["field"], "café crème".encode())
    record = post_data(body, len(body), body_head(MULTIPART), DENY, 1 << 22)
    assert record["params"] == [{"name": "notes", "value": "café crème"}]


def test_through_a_flask_app_and_the_collector_an_ebcdic_field(collector: Collector) -> None:
    body = _multipart(PART_HEADS["field"], EBCDIC_SHAPES["env"].encode("cp037"))
    log = logged_echo(collector, body, MULTIPART, denylist=["password"])
    entry = log["request"]["log"]["entries"][0] if "request" in log else log
    assert not _spelled(entry["request"]["postData"])
    assert SECRET.encode("cp037").hex() not in json.dumps(log)


def test_a_multipart_field_declared_ebcdic_is_read_in_it() -> None:
    head = PART_HEADS["field"] + b"\r\nContent-Type: text/plain; charset=cp500"
    body = _multipart(head, EBCDIC_SHAPES["form"].encode("cp500"))
    record = post_data(body, len(body), body_head(MULTIPART), DENY, 1 << 22)
    assert record["params"] == [
        {"name": "notes", "value": f"user=zoe&password=%5BREDACTED%20{len(SECRET)}%5D"}]
