"""Redaction whatever a body's charset or Content-Encoding (issue 14 items 2, 3 and 7).

A body that is not UTF-8, or is compressed, must not slip past the deny or allow list:
it is decoded with its declared charset (or sniffed), decompressed (bounded), and when
it still cannot be read while a list is set, redacted whole.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import json
import zlib
from typing import Any, Iterator, Optional

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from readme_metrics.exchange import Group
from readme_metrics.har import Redactor, build_log
from readme_metrics.har.compression import decompress
from readme_metrics.har.text import decode
from readme_metrics.masking import mask
from tests.support.exchanges import body_on, entry_of, make_exchange

SECRET = "hunter2-S3CRET"
DENY = Redactor(["password"])
ALLOW = Redactor((), ["id", "name"])
DOC = {"id": 7, "name": "caf\u00e9", "password": SECRET}


def raw_deflate(data: bytes) -> bytes:
    engine = zlib.compressobj(wbits=-15)
    return engine.compress(data) + engine.flush()


def post(content_type: Optional[str], body: bytes, coding: Optional[str] = None) -> Any:
    headers = [] if content_type is None else [("Content-Type", content_type)]
    if coding is not None:
        headers.append(("Content-Encoding", coding))
    return make_exchange(method="POST", request_headers=headers, request_body=body,
                         request_body_size=len(body))


def respond(body: bytes, content_type: Optional[str], coding: Optional[str] = None,
            size: Optional[int] = None, **changes: Any) -> Any:
    headers = [] if content_type is None else [("Content-Type", content_type)]
    if coding is not None:
        headers.append(("Content-Encoding", coding))
    return make_exchange(response_headers=headers, response_body=body,
                         response_body_size=len(body) if size is None else size, **changes)


def redacted_doc(text: str) -> dict[str, Any]:
    doc = json.loads(text)
    assert doc["password"] == f"[REDACTED {len(SECRET)}]"
    return doc


LATIN1_JSON = json.dumps(DOC, ensure_ascii=False).encode("latin-1")
UTF8_JSON = json.dumps(DOC, ensure_ascii=False).encode("utf-8")

# (exchange, where the body is recorded): each one carried the secret out before.
DECODED_CASES = [
    pytest.param(post("application/json", LATIN1_JSON), "request", id="latin-1-json-request"),
    pytest.param(respond(LATIN1_JSON, "application/json"), "response",
                 id="latin-1-json-response-no-charset"),
    pytest.param(respond(json.dumps(DOC).encode("utf-16"), "application/json; charset=utf-16"),
                 "response", id="utf-16-declared"),
    pytest.param(respond(json.dumps(DOC).encode("utf-16-le"), "application/json"), "response",
                 id="utf-16-le-sniffed"),
    pytest.param(respond(json.dumps(DOC).encode("utf-32"), "application/json"), "response",
                 id="utf-32-bom"),
    pytest.param(respond(b"\xef\xbb\xbf" + UTF8_JSON, "application/json; charset=utf-8"),
                 "response", id="utf-8-bom"),
    pytest.param(respond(gzip.compress(UTF8_JSON), "application/json", "gzip"), "response",
                 id="gzip"),
    pytest.param(respond(zlib.compress(UTF8_JSON), "application/json", "deflate"), "response",
                 id="deflate-zlib"),
    pytest.param(respond(raw_deflate(UTF8_JSON), "application/json", "deflate"), "response",
                 id="deflate-raw"),
    pytest.param(respond(gzip.compress(gzip.compress(LATIN1_JSON)), "application/json",
                         "gzip, x-gzip"), "response", id="gzip-twice-latin-1"),
    pytest.param(post("application/json", gzip.compress(UTF8_JSON), coding="gzip"),
                 "request", id="gzip-request"),
]


def body_text(entry: dict[str, Any], where: str) -> dict[str, Any]:
    return entry["request"]["postData"] if where == "request" else entry["response"]["content"]


@pytest.mark.parametrize(("exchange", "where"), DECODED_CASES)
def test_bodies_in_other_encodings_are_redacted(exchange: Any, where: str) -> None:
    recorded = body_text(entry_of(exchange, redactor=DENY), where)
    assert "encoding" not in recorded and not recorded.get("comment", "").startswith("base64")
    doc = redacted_doc(recorded["text"])
    assert doc["name"] == "caf\u00e9" and doc["id"] == 7
    assert SECRET not in json.dumps(build_log(exchange, redactor=DENY), ensure_ascii=False)


@pytest.mark.parametrize(
    ("coding", "data", "comment"),
    [
        pytest.param("gzip", gzip.compress(b"hello"), "decompressed from Content-Encoding gzip",
                     id="gzip"),
        pytest.param("GZIP, identity", gzip.compress(b"hello"),
                     "decompressed from Content-Encoding gzip", id="case-and-identity"),
        pytest.param("deflate", zlib.compress(b"hello"),
                     "decompressed from Content-Encoding deflate", id="deflate"),
        pytest.param("gzip", gzip.compress(b"hel") + gzip.compress(b"lo"),
                     "decompressed from Content-Encoding gzip", id="gzip-members"),
        pytest.param("identity", b"hello", None, id="identity"),
    ],
)
def test_compressed_text_recorded_decompressed(coding: str, data: bytes,
                                               comment: Optional[str]) -> None:
    content = entry_of(respond(data, "text/plain", coding))["response"]["content"]
    assert content["text"] == "hello"
    assert content.get("comment") == comment
    assert content["size"] == len(data)  # SPEC 4: the bytes sent


def test_truncated_gzip_stream_recorded_as_far_as_it_goes() -> None:
    data = gzip.compress(b"0123456789" * 1000)
    content = entry_of(respond(data[:60], "text/plain", "gzip", size=len(data)))[
        "response"]["content"]
    assert content["text"] and "0123456789".startswith(content["text"][:10])
    assert "decompressed from Content-Encoding gzip" in content["comment"]
    assert f"truncated to 60 of {len(data)} bytes" in content["comment"]


def test_truncated_gzip_json_is_redacted_whole() -> None:
    data = gzip.compress(json.dumps({"password": SECRET, "list": list(range(500))}).encode())
    exchange = respond(data[:-30], "application/json", "gzip", size=len(data))
    content = entry_of(exchange, redactor=DENY)["response"]["content"]
    assert content["text"].startswith("[REDACTED")
    assert "redacted whole" in content["comment"]


def test_zip_bomb_is_bounded_by_max_body_bytes() -> None:
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 100_000
    decoded = decompress(bomb, "gzip", 1024)
    assert decoded is not None and len(decoded.body) == 1024 and decoded.truncated
    content = entry_of(respond(bomb, "text/plain", "gzip"), max_body_bytes=len(bomb))[
        "response"]["content"]
    assert len(content["text"]) == len(bomb)
    assert f"to the first {len(bomb)} bytes" in content["comment"]


@pytest.mark.parametrize(
    ("coding", "data"),
    [
        pytest.param("compress", b"\x1f\x9d\x90" + UTF8_JSON, id="unknown-coding"),
        pytest.param("br", b"\xff\xfe\xfd" + UTF8_JSON, id="corrupt-br"),
        pytest.param("gzip", b"not gzip at all " + UTF8_JSON, id="corrupt"),
    ],
)
def test_unreadable_coding(coding: str, data: bytes) -> None:
    """Lists or none (hostile21: it may hold the caller's key, which base64 of it showed
    to anyone decompressing it), such a body is redacted whole."""
    exchange = respond(data, "application/json", coding)
    for redactor in (None, DENY, ALLOW):
        content = entry_of(exchange, redactor=redactor)["response"]["content"]
        assert content["text"] == "[REDACTED]" and "encoding" not in content
        # (and, for br with no brotli installed here: "; install brotli to ...")
        assert content["comment"].startswith(
            "body could not be decoded, so it was redacted whole")


# -- issue 14.3: an allowlist redacts whole what is not key/value data ------------------

ALLOWLIST_CASES = [
    pytest.param(post("text/plain", b"password is hunter2"), "request", id="text-plain"),
    # (An element named by a denied key is one: redact14, docs/BODIES.md.)
    pytest.param(post("application/xml", b"<note>password is hunter2</note>"), "request",
                 id="xml"),
    pytest.param(post("application/octet-stream", b"\x00\xffhunter2\xfe"), "request",
                 id="binary"),
    pytest.param(respond(b"\x89PNG\r\n\x1a\nhunter2", "image/png"), "response", id="image"),
    pytest.param(respond(b"\x00\xff" + UTF8_JSON.replace(b"password", b"pwd"),
                         "application/octet-stream"), "response", id="binary-json"),
    pytest.param(respond(b'"hunter2"', "application/json"), "response", id="json-scalar"),
]


@pytest.mark.parametrize(("exchange", "where"), ALLOWLIST_CASES)
def test_allowlist_redacts_unkeyed_bodies_whole(exchange: Any, where: str) -> None:
    recorded = body_text(entry_of(exchange, redactor=ALLOW), where)
    assert recorded["text"].startswith(("[REDACTED", '"[REDACTED'))
    assert "encoding" not in recorded
    assert "hunter2" not in json.dumps(build_log(exchange, redactor=ALLOW))
    # A denylist leaves them alone: they hold no key.
    assert "[REDACTED" not in json.dumps(body_text(entry_of(exchange, redactor=DENY), where))


def test_allowlist_keeps_listed_keys_of_latin1_json() -> None:
    text = entry_of(respond(LATIN1_JSON, "application/json"), redactor=ALLOW)[
        "response"]["content"]["text"]
    assert json.loads(text) == {"id": 7, "name": "caf\u00e9",
                                "password": f"[REDACTED {len(SECRET)}]"}


def test_binary_body_spelling_a_denied_key_is_redacted_whole() -> None:
    body = b"\x00\xff" + json.dumps({"password": SECRET}).encode("utf-16-le")
    recorded = entry_of(post("application/octet-stream", body), redactor=DENY)[
        "request"]["postData"]
    assert recorded["text"] == "[REDACTED]"


# -- issue 14.7: URLs in headers, bracket names --------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        pytest.param("Referer", "https://app/x?password=abc&q=1#top",
                     "https://app/x?password=%5BREDACTED%203%5D&q=1#top", id="referer"),
        pytest.param("Location", "/next?PASSWORD=s%20t", "/next?PASSWORD=%5BREDACTED%203%5D",
                     id="location"),
        pytest.param("Referer", "https://app/x", "https://app/x", id="no-query"),
        pytest.param("X-Other", "/next?password=abc", "/next?password=abc", id="other-header"),
    ],
)
def test_urls_in_headers_are_redacted(name: str, value: str, expected: str) -> None:
    exchange = make_exchange(request_headers=[(name, value)],
                             response_headers=[(name, value)])
    entry = entry_of(exchange, redactor=DENY)
    assert entry["request"]["headers"] == [{"name": name, "value": expected}]
    assert entry["response"]["headers"] == [{"name": name, "value": expected}]
    if name == "Location":
        assert entry["response"]["redirectURL"] == expected


# -- property: the denied value never leaves, in any form ---------------------------------

CODECS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1"]


def _compress(coding: Optional[str], data: bytes) -> bytes:
    if coding == "gzip":
        return gzip.compress(data)
    if coding == "deflate":
        return zlib.compress(data)
    return data


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _byte_views(text: str) -> Iterator[bytes]:
    """Every byte string ``text`` could stand for: itself encoded, base64, gzip inside."""
    for codec in CODECS:
        yield text.encode(codec, "ignore")
    candidate = text.rpartition(";base64,")[2] if text.startswith("data:") else text
    try:
        data = base64.b64decode(candidate, validate=True)
    except (binascii.Error, ValueError):
        return
    yield data
    for wbits in (31, 15, -15):
        try:
            yield zlib.decompressobj(wbits).decompress(data)
        except zlib.error:
            pass


def assert_secret_absent(log: dict[str, Any], secret: str) -> None:
    needles = [secret.encode(codec) for codec in ("utf-8", "utf-16-le", "utf-16-be",
                                                  "utf-32-le", "utf-32-be")]
    for text in _strings(log):
        assert secret not in text.replace("\x00", "")
        for view in _byte_views(text):
            assert not any(needle in view for needle in needles), text[:200]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    secret=st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=8, max_size=14).map(
        lambda tail: "Zq9" + tail),
    other=st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=20),
    codec=st.sampled_from(CODECS),
    declare=st.sampled_from(["right", "none", "none", "wrong"]),
    essence=st.sampled_from(["application/json", "application/problem+json", "text/plain"]),
    coding=st.sampled_from([None, None, "gzip", "deflate"]),
    cut=st.sampled_from([None, None, 5, 40]),
    redactor=st.sampled_from([DENY, Redactor(["x", "password"], ["other"])]),
    side=st.sampled_from(["request", "response"]),
)
def test_denied_value_never_sent_in_any_encoding(
    secret: str, other: str, codec: str, declare: str, essence: str, coding: Optional[str],
    cut: Optional[int], redactor: Redactor, side: str,
) -> None:
    assume(secret not in other)
    document = {"other": other, "nested": [{"PassWord": secret}], "password": secret}
    raw = json.dumps(document, ensure_ascii=False).encode(codec, "replace")
    if declare == "wrong" and essence == "text/plain":
        declare = "right"  # plain text is not parsed: only JSON can be mis-declared
    charset = {"right": f"; charset={codec}", "none": "",
               "wrong": "; charset=utf-16" if codec != "utf-16" else "; charset=latin-1"}
    content_type = essence + charset[declare]
    body = _compress(coding, raw)
    size = len(body)
    if cut is not None:
        body = body[:-cut] if cut < len(body) else body[:1]
    headers = [("Content-Type", content_type)]
    if coding:
        headers.append(("Content-Encoding", coding))
    exchange = body_on(side, headers, body, size)
    log = json.loads(json.dumps(build_log(exchange, redactor=redactor), ensure_ascii=False))
    assert_secret_absent(log, secret)


# -- issue 14.7: multipart names and JSON parts, bracketed names ------------------------------

MULTIPART_CT = "multipart/form-data; boundary=XyZ"


def multipart(*parts: tuple[str, bytes]) -> bytes:
    """A multipart body of (part headers, value) pairs."""
    body = b"".join(b"--XyZ\r\n" + head.encode() + b"\r\n\r\n" + value + b"\r\n"
                    for head, value in parts)
    return body + b"--XyZ--\r\n"


MULTIPART_CASES = [
    pytest.param(
        multipart(("Content-Disposition: form-data; name*=UTF-8''password", b"hunter2")),
        DENY, [{"name": "password", "value": "[REDACTED 7]"}], id="rfc2231-name",
    ),
    pytest.param(
        multipart(("Content-Disposition: form-data; NAME*=UTF-8''password", b"hunter2"),
                  ("Content-Disposition: form-data; Name*=UTF-8''pass; filename*=UTF-8''f",
                   b"hunter2")),
        DENY, [{"name": "password", "value": "[REDACTED 7]"},
               {"name": "pass", "fileName": "f", "contentType": "application/octet-stream",
                "value": "data:application/octet-stream;name=f;base64,aHVudGVyMg=="}],
        id="rfc2231-name-any-case",
    ),
    pytest.param(
        multipart(("Content-Disposition: form-data; name*=UTF-8''caf%C3%A9", b"x")),
        None, [{"name": "caf\u00e9", "value": "x"}], id="rfc2231-name-utf8",
    ),
    pytest.param(
        multipart(("Content-Disposition: form-data; name=\"meta\"",
                   b'{"user": {"password": "hunter2"}, "n": 1}')),
        DENY, [{"name": "meta", "value": '{"user":{"password":"[REDACTED 7]"},"n":1}'}],
        id="json-field",
    ),
    pytest.param(
        multipart(("Content-Disposition: form-data; name=\"meta\"",
                   b'{"password": "hunter2", "n": 1')),
        DENY, [{"name": "meta", "value": "[REDACTED 30]"}], id="broken-json-field",
    ),
    pytest.param(
        multipart(("Content-Disposition: form-data; name=\"meta\"",
                   b'{"id": 1, "password": "hunter2"}')),
        Redactor((), ["id"]), [{"name": "meta", "value": '{"id":1,"password":"[REDACTED 7]"}'}],
        id="json-field-allowlist-walked",
    ),
    pytest.param(
        multipart(("Content-Disposition: form-data; name=\"doc\"; filename=\"d.json\"\r\n"
                   "Content-Type: application/json", b'[{"password": "hunter2"}]')),
        DENY, [{"name": "doc", "fileName": "d.json", "contentType": "application/json",
                "value": "data:application/json;name=d.json;base64,"
                + base64.b64encode(b'[{"password":"[REDACTED 7]"}]').decode()}],
        id="json-file",
    ),
    pytest.param(
        multipart(("Content-Disposition: form-data; name=\"password[]\"", b"a"),
                  ("Content-Disposition: form-data; name=\"user[password]\"", b"b"),
                  ("Content-Disposition: form-data; name=\"user[name]\"", b"c")),
        DENY, [{"name": "password[]", "value": "[REDACTED 1]"},
               {"name": "user[password]", "value": "[REDACTED 1]"},
               {"name": "user[name]", "value": "c"}], id="bracket-names",
    ),
    # Names the app's parser reads otherwise than webob: werkzeug (Flask) undoes a quoted
    # string's escapes, Django strips blanks, python-multipart (Starlette) reads the plain
    # name beside a name* (test_redaction_readers asks the frameworks).
    pytest.param(
        multipart(('Content-Disposition: form-data; name="pass\\word"', b"hunter2"),
                  ('Content-Disposition: form-data; name="\\p\\a\\ssword"', b"hunter2")),
        DENY, [{"name": "pass\\word", "value": "[REDACTED 7]"},
               {"name": "\\p\\a\\ssword", "value": "[REDACTED 7]"}],
        id="quoted-pairs-werkzeug-reads",
    ),
    pytest.param(
        multipart(('Content-Disposition: form-data; name=" password\t"', b"hunter2")),
        DENY, [{"name": " password\t", "value": "[REDACTED 7]"}], id="blanks-django-strips",
    ),
    pytest.param(
        multipart(("Content-Disposition: form-data; name=\"password\"; name*=UTF-8''x",
                   b"hunter2")),
        DENY, [{"name": "x", "value": "[REDACTED 7]"}], id="plain-name-starlette-reads",
    ),
    pytest.param(
        multipart(("Content-Disposition: form-data; name=\"x\"\r\n"
                   "Content-Disposition: form-data; name=\"password\"", b"hunter2")),
        DENY, [{"name": "x", "value": "[REDACTED 7]"}], id="last-disposition-django-reads",
    ),
    pytest.param(
        multipart(("Content-Disposition: form-data; name*0=pass; name*1=word", b"hunter2")),
        DENY, [{"name": "", "value": "[REDACTED 7]"}], id="rfc2231-continuations",
    ),
    pytest.param(
        multipart(('Content-Disposition : form-data; name="password"', b"hunter2"),
                  ('Content-Disposition: form-data; name="n"', b"1")),
        DENY, [{"name": "", "value": "[REDACTED 7]"}, {"name": "n", "value": "1"}],
        id="unread-headers-werkzeug-reads",
    ),
    pytest.param(
        multipart(('Content-Disposition : form-data; name="note"', b"hello")),
        DENY, [{"name": "", "value": "hello"}], id="unread-headers-naming-nothing-listed",
    ),
    pytest.param(
        multipart(('Content-Disposition: form-data; name="a"',
                   b'1\r\n--XyZx\r\nContent-Disposition: form-data; name="password"\r\n\r\n'
                   b"hunter2"),
                  ('Content-Disposition: form-data; name="n"', b"1\r\n--\r\n")),
        DENY, [{"name": "a", "value": "[REDACTED 69]"}, {"name": "n", "value": "1\r\n--\r\n"}],
        id="a-boundary-prefix-django-ends-the-part-at",
    ),
    pytest.param(
        multipart(('Content-Disposition: form-data; name="pass\\word "', b"hunter2")),
        Redactor((), ["password"]), [{"name": "pass\\word ", "value": "[REDACTED 7]"}],
        id="allowlisted-only-as-read-otherwise",
    ),
]


FILENAME_CASES = [
    pytest.param("filename*=UTF-8''r%C3%A9sum%C3%A9.pdf", "r\u00e9sum\u00e9.pdf",
                 id="extended-only"),
    pytest.param("filename=\"plain.txt\"; filename*=UTF-8''%C3%A9.txt", "\u00e9.txt",
                 id="extended-wins"),
    pytest.param("filename=\"plain.txt\"", "plain.txt", id="plain"),
]


@pytest.mark.parametrize(("disposition", "filename"), FILENAME_CASES)
def test_multipart_rfc2231_file_name_is_the_one_werkzeug_reads(
    disposition: str, filename: str
) -> None:
    from werkzeug.formparser import parse_form_data

    data = b"\x00\x01\xff binary"
    body = multipart((f"Content-Disposition: form-data; name=\"f\"; {disposition}\r\n"
                      "Content-Type: application/pdf", data))
    environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": MULTIPART_CT,
               "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
    seen = parse_form_data(environ)[2]["f"]
    assert (seen.filename, seen.read()) == (filename, data)  # what a Flask app sees
    [param] = entry_of(post(MULTIPART_CT, body))["request"]["postData"]["params"]
    assert param["fileName"] == filename
    assert param["value"] == (f"data:application/pdf;name={filename};base64,"
                              + base64.b64encode(data).decode())


@pytest.mark.parametrize(("body", "redactor", "params"), MULTIPART_CASES)
def test_multipart_redaction(body: bytes, redactor: Optional[Redactor],
                             params: list[dict[str, str]]) -> None:
    entry = entry_of(post(MULTIPART_CT, body), redactor=redactor)
    assert entry["request"]["postData"]["params"] == params
    assert "hunter2" not in json.dumps(entry)


@pytest.mark.parametrize(
    ("deny", "allow", "name", "redacted_"),
    [
        pytest.param(["password"], [], "password[]", True, id="array"),
        pytest.param(["password"], [], "PASSWORD[0]", True, id="index-and-case"),
        pytest.param(["password"], [], "user[password]", True, id="nested"),
        pytest.param(["user.password"], [], "user[password]", True, id="dotted-path"),
        pytest.param(["user.password"], [], "other[password]", False, id="other-path"),
        pytest.param(["password[]"], [], "password[]", True, id="whole-name"),
        pytest.param(["password"], [], "passwords[]", False, id="no-prefix-match"),
        pytest.param([], ["tags"], "tags[]", False, id="allowlisted-array"),
        pytest.param([], ["tags"], "other[]", True, id="not-allowlisted"),
        pytest.param(["password"], ["user"], "user[password]", True, id="deny-wins"),
    ],
)
def test_bracketed_names(deny: list[str], allow: list[str], name: str,
                         redacted_: bool) -> None:
    redactor = Redactor(deny, allow)
    assert redactor.redacts(name) is redacted_
    entry = entry_of(make_exchange(url=f"http://h/p?{name}=v1"), redactor=redactor)
    value = entry["request"]["queryString"][0]["value"]
    assert (value == "[REDACTED 2]") is redacted_
    assert ("v1" in entry["request"]["url"]) is not redacted_


def test_gzip_with_trailing_garbage_keeps_the_member() -> None:
    data = gzip.compress(b"hello") + b"\x00garbage"
    content = entry_of(respond(data, "text/plain", "gzip"))["response"]["content"]
    assert content["text"] == "hello"


@pytest.mark.parametrize(
    ("body", "essence", "charset", "truncated", "expected"),
    [
        pytest.param(b'{"a":1}', "application/json", None, False, ('{"a":1}', "utf-8"),
                     id="ascii-json"),
        pytest.param(b"abc", "text/plain", "utf-8", True, ("abc", "utf-8"),
                     id="ascii-declared-utf-8-truncated"),
        pytest.param(b"abc", "text/plain", "us-ascii", False, ("abc", "ascii"),
                     id="ascii-declared-ascii-names-its-codec"),
        # Text in a charset where letters are not themselves is read by its bytes first
        # (review12: a UTF-8 body declared UTF-16 spelled the caller's key in CJK).
        pytest.param(b"abcd", "text/plain", "utf-16", False, ("abcd", "utf-8"),
                     id="ascii-bytes-declared-utf-16-are-read-by-their-bytes"),
        pytest.param(b"a\x00b\x00", "text/plain", "utf-16", False, ("ab", "utf-16-le"),
                     id="utf-16-text-declared-utf-16-by-its-nul-pattern"),
        pytest.param("\u4e2d\u6587".encode("utf-16-le"), "text/plain", "utf-16", False,
                     ("\u4e2d\u6587", "utf-16"), id="utf-16-text-no-utf-8-is-utf-16"),
        pytest.param(b"+AOk-", "text/plain", "utf-7", False, ("\u00e9", "utf-7"),
                     id="utf-7-keeps-its-letters-read-as-declared"),
        pytest.param(b"a\x00b\x00", "application/json", None, False, ("ab", "utf-16-le"),
                     id="nul-pattern-of-utf-16-le-without-mark"),
        pytest.param(b"\x00\x00\x00a", "text/plain", None, False, ("a", "utf-32-be"),
                     id="nul-pattern-of-utf-32-be"),
        pytest.param(b"a\x00b\x00", "application/octet-stream", None, False,
                     (None, ""), id="binary-type-ascii-with-nuls-is-binary"),
        pytest.param(b"a\tb\r\n\x0c\x1b", "application/octet-stream", None, False,
                     ("a\tb\r\n\x0c\x1b", "utf-8"), id="binary-type-text-controls"),
        pytest.param(b"abc", "text/plain", "base64", False, ("abc", "utf-8"),
                     id="not-a-text-codec-is-utf-8"),
        pytest.param(b"\xef\xbb\xbfabc", "text/plain", None, False, ("abc", "utf-8-sig"),
                     id="byte-order-mark"),
        pytest.param(b"caf\xe9", "text/plain", None, False, ("caf\u00e9", "latin-1"),
                     id="latin-1-fallback-for-text"),
        pytest.param(b"\xff\xfe\xfd", "image/png", None, False, (None, ""), id="binary"),
        pytest.param(b"caf\xc3\xa9", "text/plain", None, False, ("caf\u00e9", "utf-8"),
                     id="utf-8"),
        pytest.param(b"caf\xc3", "text/plain", None, True, ("caf", "utf-8"),
                     id="utf-8-truncated-in-a-character"),
        pytest.param(b"caf\xc3", "text/plain", None, False, ("caf\u00c3", "latin-1"),
                     id="utf-8-whole-but-cut-in-a-character-is-latin-1"),
        pytest.param(b"\x89PNG\xff", "image/png", None, True, (None, ""),
                     id="binary-truncated"),
        pytest.param(b"\x89PNG\xff", "", None, False, (None, ""), id="binary-of-no-type"),
    ],
)
def test_decode_order(body: bytes, essence: str, charset: Optional[str], truncated: bool,
                      expected: tuple[Optional[str], str]) -> None:
    """The codec tried first wins: mark, declared charset, NUL pattern, UTF-8, latin-1
    (bodies with no mark, no NULs and no other charset take a short cut to UTF-8 that
    must give the same answer)."""
    assert decode(body, essence, charset, truncated) == expected


@pytest.mark.parametrize("charset", [
    "latin-1", "latin1", "iso-8859-1", "iso8859-1", "iso-8859-15", "windows-1252",
    "cp1252", "us-ascii", "ascii", "utf-8", "utf8", "utf-16", "shift_jis", "euc-jp",
    "gb2312", "big5", "koi8-r", "mac-roman", "iso-2022-jp", "utf-7", "ebcdic-cp-us",
])
def test_a_charset_python_knows_is_used(charset: str) -> None:
    import codecs

    from readme_metrics.har.text import _text_codec

    assert _text_codec.__wrapped__(charset) == codecs.lookup(charset).name


def test_an_unknown_charset_is_not_remembered_by_the_process() -> None:
    """codecs.lookup remembers each name it did not find (the encodings package caches its
    misses) for the process's life: a client sending a new charset name each request
    (Content-Type: text/plain; charset=x-<random, up to the header's limit>) grew the
    process without bound. An unknown name is read as UTF-8 without being looked up."""
    import encodings
    import uuid

    mark = uuid.uuid4().hex
    name = f"x-{mark}-" + "a" * 4000
    entry = entry_of(make_exchange(
        request_headers=[("Content-Type", f"text/plain; charset={name}")],
        request_body=b"caf\xc3\xa9"))
    assert entry["request"]["postData"]["text"] == "caf\u00e9"
    assert not [key for key in getattr(encodings, "_cache", {}) if mark in key]


@pytest.mark.parametrize("charset", ["utf-16", "utf-16-be", "utf-32", "cp500", "utf-7"])
@pytest.mark.parametrize("side", ["request", "response"])
def test_a_json_body_in_utf_8_declared_in_a_charset_whose_ascii_is_no_ascii(
        charset: str, side: str) -> None:
    """RFC 8259 (11) defines no charset for JSON; json.loads(bytes), as Flask, Django and
    Starlette read a body, reads this one as UTF-8. Read in the declared charset it was
    CJK (or EBCDIC) text spelling the bytes: the caller's key stayed in it, encoded."""
    key = "owlbert-key-0123"
    body = json.dumps({"k": key, "password": "hunter2", "n": "caf\u00e9"},
                      ensure_ascii=False).encode()
    headers = [("Content-Type", f"application/json; charset={charset}")]
    exchange = body_on(side, headers, body)
    exchange.group = Group(key)
    log = build_log(exchange, redactor=DENY)
    recorded = log["request"]["log"]["entries"][0][side]
    text = (recorded["postData"] if side == "request" else recorded["content"])["text"]
    assert json.loads(text) == {"k": mask(key), "password": "[REDACTED 7]", "n": "caf\u00e9"}


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp500"])
def test_a_json_body_in_its_declared_charset_is_still_read_in_it(codec: str) -> None:
    document = {"password": "hunter2", "n": "caf\u00e9"}
    body = json.dumps(document, ensure_ascii=False).encode(codec)
    charset = codec if codec != "utf-16-le" else "utf-16"  # no mark: the NUL pattern
    entry = entry_of(post(f"application/json; charset={charset}", body), redactor=DENY)
    assert json.loads(entry["request"]["postData"]["text"]) == {
        "password": "[REDACTED 7]", "n": "caf\u00e9"}


# -- a form's bytes beyond ASCII, and bytes UTF-8 could not decode, percent-encoded -------


@given(st.binary(max_size=200))
def test_ascii_form_percent_encodes_each_byte_beyond_ascii(body: bytes) -> None:
    # Each byte 0x80-0xFF becomes its %XX (upper case), every other byte stays: the text
    # is ASCII and reads back as the body (escapes the body held itself aside).
    from urllib.parse import unquote_to_bytes

    from readme_metrics.har.percent import ascii_form

    text = ascii_form(body)
    assert text.isascii()
    assert text == "".join(chr(b) if b < 0x80 else f"%{b:02X}" for b in body)
    if b"%" not in body:
        assert unquote_to_bytes(text) == body


@given(st.binary(max_size=200))
def test_escape_undecoded_percent_encodes_what_utf8_could_not_decode(body: bytes) -> None:
    from urllib.parse import unquote_to_bytes

    from readme_metrics.har.percent import escape_undecoded

    text = escape_undecoded(body.decode("utf-8", "surrogateescape"))
    assert not any("\udc80" <= c <= "\udcff" for c in text)
    if b"%" not in body:
        assert unquote_to_bytes(text.encode("utf-8")) == body


@given(st.lists(st.one_of(st.integers(0, 255).map(lambda b: f"%{b:02X}"),
                          st.sampled_from(["a", "=", "é", "%", "%2", "%zz", "\u4e2d"])),
                max_size=40))
@example(["%80"])
@example(["%7F"])
@example(["%C3", "%A9", "%FF"])
@example(["%E4", "%B8"])
@example(["%", "a", "a"])
def test_decode_component_reads_escapes_as_utf8_keeping_the_undecodable(
        pieces: list[str]) -> None:
    # Each run of escapes is read as UTF-8; a byte that is no UTF-8 stays the escape
    # written: unquote with surrogateescape, its surrogates written back (in upper case,
    # so escapes are compared in upper case: "%", "a", "a" write "%aa", kept as written).
    import re
    from urllib.parse import unquote

    from readme_metrics.har.percent import decode_component

    def upper(text: str) -> str:
        return re.sub("%[0-9a-fA-F]{2}", lambda m: m.group().upper(), text)

    text = "".join(pieces)
    expected = re.sub("[\udc80-\udcff]", lambda m: f"%{ord(m.group()) - 0xDC00:02X}",
                      unquote(text, errors="surrogateescape"))
    assert upper(decode_component(text)) == upper(expected)
