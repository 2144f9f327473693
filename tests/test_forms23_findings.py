"""forms23: two ways a denied value still left in clear (SPEC 4 and 6).

1. A form (or query) holding a JSON document it does not start with (text before it, as
   hostile22; a field's value) whose denied member's value holds a raw "&", "=", ";" or
   "#": the form's reading cut the value there, the piece naming the member was hidden
   whole (hostile22), the pieces after it (the rest of the value) went out in clear:
   ``x{"password": "aaaa&bbbb=cccc"}`` was logged as ``[REDACTED 19]`` and a field
   ``bbbb`` = ``cccc"}``. Now the member and every piece it spans are one hidden piece
   (redaction_cut.cut_members), read as sent and percent-decoded.
2. A body compressed twice, declared once (``Content-Encoding: gzip`` over gzip of gzip),
   was recorded as base64 of gzip: the denied values readable by anyone who gunzips
   it twice. Now a gzip member or zstd frame found inside is undone too, within the
   same bounds (four codings in all, each to max_body_bytes); one still compressed past
   them is unreadable, redacted whole.

Each test here failed before the fixes but the three guards named so.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
from collections.abc import Iterator
from typing import Any, Optional
from urllib.parse import quote, unquote, unquote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.har.bodies import content, post_data
from readme_metrics.har.compression import MOST_CODINGS, decompress
from readme_metrics.har.headers import RAW_CONTENT_ENCODING, RAW_CONTENT_TYPE
from readme_metrics.har.redaction import Redactor
from tests.support.fake_api import Collector, free_port
from tests.test_asgi_servers import SERVERS as ASGI_SERVERS
from tests.test_e2e_servers import GUNICORN, serve, server_env
from tests.test_forms22_findings import logged_echo

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
HEAD = {"content-type": FORM, RAW_CONTENT_TYPE: FORM}
DENY = Redactor(denylist=["password"])


def _request(body: bytes, redactor: Optional[Redactor] = DENY,
             head: Optional[dict[str, str]] = None) -> dict[str, Any]:
    return post_data(body, len(body), HEAD if head is None else head, redactor, 1 << 20)


def _answer(body: bytes, redactor: Optional[Redactor] = DENY,
            head: Optional[dict[str, str]] = None) -> dict[str, Any]:
    return content(body, len(body), HEAD if head is None else head, redactor, 1 << 20)


def _readings(record: Any) -> list[str]:
    """The record's text as the Metrics API could read it: as is, JSON-unescaped,
    percent-decoded (with "+" a space or not), both."""
    text = json.dumps(record, ensure_ascii=False)
    unescaped = json.loads(json.dumps(text))
    out = [text]
    for one in (text, unescaped):
        try:
            out.append(json.loads(f'"{one}"'))
        except ValueError:
            out.append(one.replace("\\\\", "\\").replace('\\"', '"'))
    return [decoded for one in out for decoded in (one, unquote(one), unquote_plus(one))]


def _leaks(record: Any, secret: str, body_text: str, mark: str = "") -> list[str]:
    """The pieces of ``secret`` (as the body spells it: itself, and each of its
    4-character runs that the rest of the body does not hold) found in any reading of
    ``record``; ``mark``: only runs holding two of its characters (the secret's own,
    not the escapes' and separators' that any record holds: ``3DZ%`` of ``%3DZ%22``)."""
    rest = body_text.replace(secret, "\0")
    pieces = {secret} | {secret[at:at + 4] for at in range(len(secret) - 3)
                         if secret[at:at + 4] not in rest and (
                             not mark or sum(c in mark for c in secret[at:at + 4]) >= 2)}
    return sorted(piece for piece in pieces for text in _readings(record) if piece in text)


# Part 1: the shapes, each with the values the form's reading cuts.
_CUT = ["S3cr&et44=ab55"]
SHAPES: dict[str, tuple[str, list[str]]] = {
    "ampersand": ('x{"password": "S3cr&et44=ab55"}', _CUT),
    "equals-first": ('x{"password": "S3cr=et44&ab55"}', ["S3cr=et44&ab55"]),
    "escaped-quote": ('x{"password": "S3\\"cr&et44=ab55"}', ['S3\\"cr&et44=ab55']),
    "backslash-end": ('x{"password": "S3cr&et44\\\\", "user": "zoe"}', ["S3cr&et44\\\\"]),
    "nested": ('x{"a": {"password": "S3cr&et44=ab55"}}', _CUT),
    "array": ('x{"password": ["S3cr&et44=ab55", "dd66&ee77"]}', [*_CUT, "dd66&ee77"]),
    "object": ('x{"password": {"q": "S3cr&et44=ab55", "r": "dd66&ee77"}}',
               [*_CUT, "dd66&ee77"]),
    "plus": ('x{"password": "S3cr+et44&ab55+cd66"}', ["S3cr+et44&ab55+cd66"]),
    "escape-for-ampersand": ('x{"password": "S3cr\\u0026et44=ab55"}',
                             ["S3cr\\u0026et44=ab55"]),
    "percent-in-value": ('x{"password": "S3cr%22et44&ab55"}', ["S3cr%22et44&ab55"]),
    "several": ('x{"a":1}{"password": "S3cr&et44=ab55"}&{"password": "dd66&ee77=ff88"}',
                [*_CUT, "dd66&ee77=ff88"]),
    "first-empty": ('x{"password": "&et44=ab55"}', ["&et44=ab55"]),
    "semicolon": ('x{"password": "S3cr;et44=ab55"}', ["S3cr;et44=ab55"]),
    "hash": ('x{"password": "S3cr#et44=ab55"}', ["S3cr#et44=ab55"]),
    "in-a-value": ('a=1&b={"password": "S3cr&et44=ab55"}&c=2', _CUT),
    "after-text-in-a-value": ('a=x{"password": "S3cr&et44=ab55"}&c=2', _CUT),
    "control-prefix": ('\x1c{"password": "S3cr&et44=ab55"}', _CUT),
    "name-escaped": ('x{"pass\\u0077ord": "S3cr&et44=ab55"}', _CUT),
    "name-percent": ('x{"pass%77ord": "S3cr&et44=ab55"}', _CUT),
    "percent-encoded-document": ("x%7B%22password%22%3A%22S3cr&et44=ab55%22%7D", _CUT),
    "cut-short": ('x{"password": "S3cr&et44=ab55', _CUT),
    # Read as a form again once decoded (nested_value: its "%26" and "%3D" raw there),
    # whose pair "password=ab55" was redacted alone, "S3cr" left in clear.
    "separators-encoded-in-a-value": ('a=x{"password": "S3cr%26password%3Dab55"}',
                                      ["S3cr%26password%3Dab55"]),
    "all-encoded-in-a-value": ("a=x%7B%22password%22%3A%22S3cr%26password%3Dab55%22%7D",
                               ["S3cr%26password%3Dab55"]),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_a_cut_member_is_hidden_whole(shape: str) -> None:
    text, secrets = SHAPES[shape]
    body = text.encode()
    for record in (_request(body), _answer(body)):
        for secret in secrets:
            assert not _leaks(record, secret, text), (shape, secret, record)


def test_the_pieces_it_spans_are_one_piece() -> None:
    # From the piece naming it to its value's end; the rest of that piece is read as
    # before (no over-redaction of what follows the value).
    body = b'x{"password": "aaaa&bbbb=cccc", "user": "zoe"}'
    assert _request(body)["params"] == [
        {"name": '[REDACTED 30], "user": "zoe"}', "value": ""}]
    assert _answer(body)["text"] == '%5BREDACTED%2030%5D, "user": "zoe"}'
    # In a field's value: the field's value; the pairs around it as they were.
    body = b'a=1&b={"password": "aaaa&bbbb=cccc"}&c=2'
    assert _request(body)["params"] == [
        {"name": "a", "value": "1"}, {"name": "b", "value": "[REDACTED 29]}"},
        {"name": "c", "value": "2"}]
    assert _answer(body)["text"] == "a=1&b=%5BREDACTED%2029%5D}&c=2"


def test_a_query_holding_one_is_hidden_so_too() -> None:
    query = 'q=x{"password": "aaaa&bbbb=cccc"}&page=2'
    assert DENY.query_string(query) == "q=%5BREDACTED%2030%5D}&page=2"


@pytest.mark.parametrize("content_type", ["text/plain", None])
def test_a_text_body_read_as_pairs_hides_it_too(content_type: Optional[str]) -> None:
    # text/plain (and no Content-Type) is read line by line as pairs (Redactor.linked),
    # which now cuts no member either: the whole body went out in clear.
    body = b'x{"password": "aaaa&bbbb=cccc"}'
    head = {"content-type": content_type, RAW_CONTENT_TYPE: content_type} \
        if content_type else {}
    assert _request(body, head=head)["text"] == "%5BREDACTED%2030%5D}"


def test_a_denied_name_the_form_cuts() -> None:
    redactor = Redactor(denylist=["pass&word"])
    body = b'x{"pass&word": "Zq8h22Xw3K", "user": "zoe"}'
    for record in (_request(body, redactor), _answer(body, redactor)):
        assert "Zq8h22Xw3K" not in json.dumps(record), record


def test_a_dotted_entry_hides_its_last_key() -> None:
    redactor = Redactor(denylist=["user.password"])
    body = b'x{"user": {"password": "aaaa&bbbb=cccc"}}'
    for record in (_request(body, redactor), _answer(body, redactor)):
        assert not _leaks(record, "aaaa&bbbb=cccc", body.decode()), record


def test_an_allowlist_hides_an_unlisted_members_rest() -> None:
    redactor = Redactor(allowlist=["id"])
    body = b'x{"id": 1, "user": "aaaa&bbbb=cccc"}'
    record = _request(body, redactor)
    assert not _leaks(record, "aaaa&bbbb=cccc", body.decode()), record


def test_guard_an_uncut_member_keeps_hostile22s_record() -> None:
    # (Passes before: a member no separator cuts is hidden by its piece alone, as before.)
    body = b'x{"password":"Zq8h22Xw3K"}&a=1'
    assert _request(body)["params"] == [{"name": "[REDACTED 26]", "value": ""},
                                        {"name": "a", "value": "1"}]


# The property: random JSON documents with a denied member holding random text, after
# random text or in a field, as a form body; the secret in no reading of either record.
_TEXT = st.text(alphabet=st.sampled_from(list('ab&=%+"\\;#:{}[], é€\u2028Z9')), max_size=24)
_KEYS = st.text(alphabet="abcuser_", min_size=1, max_size=6)


@st.composite
def _documents(draw: st.DrawFn, secret: str) -> Any:
    """A JSON value holding a "password" member with ``secret`` (maybe in an array or
    an object under it), among other members, maybe nested."""
    held: Any = draw(st.sampled_from(["plain", "array", "object"]))
    value: Any = {"plain": secret, "array": [draw(_TEXT), secret],
                  "object": {"k": secret}}[held]
    members = draw(st.dictionaries(_KEYS, _TEXT, max_size=3))
    members["password"] = value
    items = list(members.items())
    order = draw(st.permutations(range(len(items))))
    document: Any = dict(items[at] for at in order)
    if draw(st.booleans()):
        document = {"outer": document, "n": 1}
    return document


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_denied_value_never_leaks_from_a_document_read_as_a_form(
        data: st.DataObject) -> None:
    secret = data.draw(st.text(alphabet=st.sampled_from(list("QWXYZ&=%+\"\\;#é€")),
                               min_size=6, max_size=20).filter(
        lambda text: sum(c in "QWXYZ" for c in text) >= 4))
    document = json.dumps(data.draw(_documents(secret)),
                          ensure_ascii=data.draw(st.booleans()))
    writing = data.draw(st.sampled_from(["raw", "escapes-encoded", "separators-encoded"]))
    if writing != "raw":
        # Its "%" percent-encoded (what a client's encodeURIComponent of a part of it
        # gives), its "&" and "=" left raw; or those too.
        document = document.replace("%", "%25")
        if writing == "separators-encoded":
            document = document.replace("&", "%26").replace("=", "%3D")
    placing = data.draw(st.sampled_from(["prefix", "field", "field-after-text", "two"]))
    if placing == "prefix":
        text = data.draw(st.sampled_from(["x", "\x1c", "note ", "a\"b"])) + document
    elif placing == "field":
        text = "a=1&data=" + document + "&z=2"
    elif placing == "field-after-text":
        text = "data=x" + document
    else:
        text = "x" + document + "&" + document
    body = text.encode()
    # Every reading of the value: as JSON holds it, and as its pieces decode.
    held = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    held |= {one.replace("%", "%25") for one in held}
    held |= {one.replace("&", "%26").replace("=", "%3D") for one in held}
    for record in (_request(body), _answer(body)):
        for spelling in held:
            if spelling in text:
                assert not _leaks(record, spelling, text, "QWXYZ"), (text, record)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_guard_a_form_naming_no_denied_key_is_recorded_as_sent(
        data: st.DataObject) -> None:
    # (Passes before: no over-redaction of a body the lists name nothing in. A "\\u"
    # escape could spell a denied key: hostile22 hides such a piece, so none here.)
    document = json.dumps({"user": data.draw(_TEXT), "note": data.draw(_TEXT)},
                          ensure_ascii=False)
    body = ("x" + document).encode()
    assert _request(body) == _request(body, None)
    assert _answer(body) == _answer(body, None)


# Part 2: a body compressed again inside its declared coding.
_DOC = json.dumps({"user": "zoe", "password": "Zq8h22Xw3K"}).encode()
_JSON_GZIP = {"content-type": JSON, RAW_CONTENT_TYPE: JSON, RAW_CONTENT_ENCODING: "gzip"}


def _gzipped(data: bytes, times: int) -> bytes:
    for _ in range(times):
        data = gzip.compress(data, mtime=0)
    return data


@pytest.mark.parametrize("times", [2, MOST_CODINGS])
def test_gzip_inside_gzip_is_undone_and_redacted(times: int) -> None:
    body = _gzipped(_DOC, times)
    for record in (_request(body, head=_JSON_GZIP), _answer(body, head=_JSON_GZIP)):
        assert record["text"] == '{"user":"zoe","password":"[REDACTED 10]"}', record
        inner = ", ".join(["gzip"] * (times - 1))
        assert record["comment"] == (
            f"decompressed from Content-Encoding gzip and the {inner} inside it, "
            "undeclared")
    # Without lists the caller's key is looked for in the text (it was base64 of gzip).
    assert _answer(body, None, _JSON_GZIP)["text"] == _DOC.decode()


def test_more_layers_than_the_bound_are_unreadable() -> None:
    body = _gzipped(_DOC, MOST_CODINGS + 1)
    for record in (_request(body, head=_JSON_GZIP), _answer(body, None, _JSON_GZIP)):
        assert record["text"] == "[REDACTED]"
        assert record["comment"] == "body could not be decoded, so it was redacted whole"
    assert decompress(body, "gzip", 1 << 20) is None


def test_a_bomb_of_nested_layers_stays_within_the_output_bound() -> None:
    # 64 MiB of zeros gzipped three times: 258 bytes. Each layer inflates to the bound
    # at most; the body is recorded cut there.
    body = _gzipped(b"\0" * (64 << 20), 3)
    limit = 1 << 16
    decoded = decompress(body, "gzip", limit)
    assert decoded is not None and decoded.truncated
    assert len(decoded.body) == limit and decoded.inside == "gzip, gzip"
    record = post_data(body, len(body), _JSON_GZIP, DENY, limit)
    assert record["comment"].endswith(f"to the first {limit} bytes")


def test_guard_data_merely_starting_like_gzip_is_unreadable_not_passed() -> None:
    # (Passes before, by the key's name in the bytes; now as unreadable.) gzip's magic,
    # then no gzip stream: nothing in it can be checked.
    body = gzip.compress(b"\x1f\x8b\x08" + b"password=Zq8h22Xw3K", mtime=0)
    assert _request(body, head=_JSON_GZIP)["text"] == "[REDACTED]"


# End to end: twins21's Flask app (gunicorn) and FastAPI app (uvicorn), denylist
# "password", POST /echo answering the body back; a real collector.
FLASK = "tests.support.twins21_apps:flask_app"
FASTAPI = "tests.support.twins21_apps:fastapi_app"


@pytest.fixture(scope="module", params=["gunicorn", "uvicorn"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[str, Collector]]:
    collector = Collector().start()
    port = free_port()
    argv = ([sys.executable, *GUNICORN, "--worker-class=sync", f"--bind=127.0.0.1:{port}",
             FLASK] if request.param == "gunicorn" else ASGI_SERVERS["uvicorn"](port, FASTAPI))
    try:
        with serve(argv, server_env(collector), tmp_path_factory.mktemp(request.param),
                   port) as base:
            yield base, collector
    finally:
        collector.stop()


@pytest.mark.e2e
def test_served_cut_member_and_gzip_twice(served: tuple[str, Collector]) -> None:
    text = 'x{"user": "zoe", "password": "S3cr&et44=ab55"}'
    entry = logged_echo(served, "cut-member", text.encode(), {"Content-Type": FORM})
    assert entry["request"]["postData"]["params"] == [
        {"name": "[REDACTED 45]}", "value": ""}]
    assert entry["response"]["content"]["text"] == "%5BREDACTED%2045%5D}"
    entry = logged_echo(served, "gzip-twice", _gzipped(_DOC, 2),
                    {"Content-Type": JSON, "Content-Encoding": "gzip"})
    post = entry["request"]["postData"]
    assert post["text"] == '{"user":"zoe","password":"[REDACTED 10]"}'
    assert "gzip inside it" in post["comment"]
    assert re.search("Zq8h22Xw3K", json.dumps(entry)) is None
    assert quote("Zq8h22Xw3K") not in json.dumps(entry)
