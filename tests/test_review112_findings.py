"""review112: adversarial review of binary1 (a binary body hidden whole only when its
bytes can spell a denied name through real JSON escapes).

Before binary1 any ``\\u`` in a binary body hid it whole. A name spelled in UTF-8 with a
character beyond ASCII (a denied ``パスワード`` as itself, ``paſsword``, the Kelvin sign
in ``api_Key``, ``STRAẞE``) is no latin-1 reading of the bytes: such a body was hidden
only by that luck, and went out in base64 once only real escapes counted (with no
``\\u`` at all it always had). Now the bytes are read for such spellings too.
"""

from __future__ import annotations

import base64
import gzip
import json
import random
from typing import Any, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.har.json_escapes import FOLDING_TO_ASCII
from readme_metrics.redaction import Redactor
from tests.support.exchanges import body_on, entry_of

SIDES = ["request", "response"]
_JUNK = b"\x89PNG\r\n\x1a\n" + random.Random("review112").randbytes(600)
# (denylist, the member as a client sends it in UTF-8 inside binary data)
_LEAKS = {
    "katakana": (["パスワード"], '{"パスワード": "hunter2"}'),
    "cyrillic upper": (["пароль"], '{"ПАРОЛЬ": "hunter2"}'),
    "long s": (["password"], '{"paſsword": "hunter2"}'),
    "kelvin": (["api_key"], '{"api_\u212aey": "hunter2"}'),
    "capital sharp s": (["straße"], '{"STRAẞE": "hunter2"}'),
    "ligature": (["fingerprint"], '{"ﬁngerprint": "hunter2"}'),
    "long s and an escape": (["password"], '{"paſ\\u0073word": "hunter2"}'),
    "mixed lists": (["パスワード", "password"], '{"paſsword": "hunter2"}'),
}


def _recorded(side: str, body: bytes, redactor: Redactor) -> tuple[Optional[bytes], Any]:
    entry = entry_of(body_on(side, [("Content-Type", "application/octet-stream")], body),
                     redactor=redactor)
    if side == "request":
        post = entry["request"]["postData"]
        return (base64.b64decode(post["text"]) if post.get("comment") == "base64"
                else None), post["text"]
    content = entry["response"]["content"]
    return (base64.b64decode(content["text"]) if content.get("encoding") == "base64"
            else None), content["text"]


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("escape", ["", ', "n": "\\u00e9"'], ids=["plain", "with-u"])
@pytest.mark.parametrize("leak", list(_LEAKS))
def test_a_name_spelled_beyond_ascii_in_utf8_binary_is_hidden_whole(
        side: str, escape: str, leak: str) -> None:
    deny, member = _LEAKS[leak]
    body = _JUNK + (member[:-1] + escape + "}").encode("utf-8") + _JUNK
    kept, text = _recorded(side, body, Redactor(deny))
    assert kept is None and text == "[REDACTED]"


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2 ** 32), st.sampled_from(FOLDING_TO_ASCII), st.data())
def test_any_character_folding_to_ascii_in_utf8_spells_the_name(
        seed: int, code: int, data: st.DataObject) -> None:
    folded = chr(code).casefold()
    ascii_part = "".join(c for c in folded if c.isascii())
    name = "x" + ascii_part + "y"
    spelled = "X" + chr(code) + "Y"
    redactor = Redactor([name])
    junk = random.Random(seed).randbytes(data.draw(st.integers(0, 200)))
    body = junk + b'{"' + spelled.encode("utf-8") + b'": "hunter2"}' + junk
    # As a JSON walk folds the member's name: the bytes must say so too.
    if ascii_part and name in spelled.casefold():
        assert redactor.mentions_key_in(body)


@pytest.mark.parametrize("deny", [["password"], ["パスワード"], ["пароль", "password"]])
def test_random_binary_bodies_stay_kept(deny: list[str]) -> None:
    redactor = Redactor(deny)
    draw = random.Random(f"review112-{deny}")
    for _ in range(20):
        body = bytearray(draw.randbytes(65536))
        for at in draw.sample(range(len(body) - 2), 6):
            body[at:at + 2] = b"\\u"
        assert not redactor.mentions_key_in(bytes(body))


# -- a name percent-encoded in a link or form in a JSON string, its % or + escaped -----

# Before binary1 any \u in a body had it parsed; after it, an escape of "%" (\u0025) or of
# "+" (\u002b, System.Text.Json's default encoder writes "+" so) was no escape that
# could spell a name, and the body went out as sent: the link's query holds the name
# percent-encoded ("pass%77ord") or with "+" for its space ("api+key").
_ENCODED = {
    "percent escaped": (["password"], '{"next": "/cb?pass\\u002577ord=hunter2"}'),
    "plus escaped (.NET)": (["api key"], '{"next": "/cb?api\\u002Bkey=hunter2"}'),
    "form in a string": (["password"], '{"form": "a=1\\u0026pass\\u002577ord=hunter2"}'),
    "equals escaped too": (["password"], '{"next": "/cb?pass\\u002577ord\\u003dhunter2"}'),
    "cut short": (["password"], '{"next": "/cb?pass\\u002577ord=hunter2", "t": "cu'),
    "query marks escaped": (["password"], '{"next": "/cb\\u003Fpass%77ord\\u003Dhunter2"}'),
    "query marks escaped, plus": (["api key"], '{"next": "/cb\\u003fapi+key\\u003dhunter2"}'),
    "percent escaped twice": (["password"],
                              json.dumps({"inner": '{"next": "/cb?pass%77ord=hunter2"}'},
                                         ensure_ascii=True).replace("%", "\\\\u0025")),
}


@pytest.mark.parametrize("kind", ["application/json", "text/plain"])
@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("case", list(_ENCODED))
def test_a_name_percent_encoded_behind_an_escape_is_redacted(
        case: str, side: str, kind: str) -> None:
    deny, body = _ENCODED[case]
    entry = entry_of(body_on(side, [("Content-Type", kind)], body.encode()),
                     redactor=Redactor(deny))
    part = entry["request"]["postData"] if side == "request" else entry["response"]["content"]
    assert "hunter2" not in part["text"]


_ESCAPABLE = "%+=&?"


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["password", "api key", "client/secret", "パスワード"]), st.data())
def test_any_json_spelling_of_a_percent_encoded_query_name_is_read(
        name: str, data: st.DataObject) -> None:
    """A link's or form's query naming a denied key percent-encoded (or "+" for a space),
    any of its "%+=&?" written as a JSON escape, in a document nested 0 to 2 deep: the
    body is parsed (mentions_key or names_key_encoded), as it was before binary1."""
    spelled = "".join(
        ("+" if c == " " and data.draw(st.booleans()) else "".join(
            f"%{b:02X}" for b in c.encode())) if data.draw(st.booleans()) else c
        for c in name)
    if data.draw(st.booleans()):
        spelled = spelled.replace("%", "%25")
    query = data.draw(st.sampled_from(["/cb?", "a=1&", "https://x.test/p?q=1&"]))
    query += spelled + "=hunter2"
    query = "".join(f"\\u{ord(c):04{data.draw(st.sampled_from('xX'))}}"
                    if c in _ESCAPABLE and data.draw(st.booleans()) else c for c in query)
    body = '{"next": "' + query + '"}'
    for _ in range(data.draw(st.integers(0, 2))):
        body = json.dumps({"inner": body})
    redactor = Redactor([name])
    assert redactor.mentions_key(body) or redactor.names_key_encoded(body)


_WIDE_INSIDE = _JUNK[:300] + '{"パスワード": "hunter2"}'.encode() + _JUNK[:300]


def test_a_name_beyond_ascii_in_utf8_is_read_in_a_compressed_layer() -> None:
    entry = entry_of(body_on("request", [("Content-Type", "application/octet-stream")],
                             gzip.compress(_WIDE_INSIDE)), redactor=Redactor(["パスワード"]))
    assert entry["request"]["postData"]["text"] == "[REDACTED]"


def test_a_name_beyond_ascii_in_utf8_is_read_in_a_file_part() -> None:
    body = (b'--XX\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n" + _WIDE_INSIDE
            + b"\r\n--XX--\r\n")
    entry = entry_of(body_on("request", [("Content-Type", "multipart/form-data; boundary=XX")],
                             body), redactor=Redactor(["パスワード"]))
    assert [param["value"] for param in entry["request"]["postData"]["params"]] == [
        "[REDACTED]"]
