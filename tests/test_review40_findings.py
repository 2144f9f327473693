"""review40's items (an adversarial read of review35's landing, 55caa30..be928c5: JSON
encoded twice, JSON file parts of any type, bodies and fields in UTF-16/32): each test
failed on main at be928c5 and passes with its fix, through the public middleware and the
collector on 127.0.0.1."""

from __future__ import annotations

import base64
import json
from typing import Any, Callable

import pytest
from werkzeug.wrappers import Request

from readme_metrics import MetricsMiddleware
from tests.support.contract import exchange
from tests.support.fake_api import Collector
from tests.support.leaks import found_spelled, spelled_in_batches

SECRET = "review40-denied-secret"
HIDDEN = f"[REDACTED {len(SECRET)}]"
PAYLOAD = {"user": "zoe", "password": SECRET}
DOCUMENT = json.dumps(PAYLOAD)


def _app(seen: dict[str, Any]) -> Callable[..., list[bytes]]:
    """Reads an upload as ``json.load(request.files["f"])`` does, else the body."""
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        request = Request(environ)
        if request.mimetype == "multipart/form-data":
            seen["file"] = json.load(request.files["f"])
        else:
            seen["body"] = request.get_data()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    return app


def _logged(collector: Collector, wrap: Callable[..., MetricsMiddleware], body: bytes,
            content_type: str, seen: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """(where the posted batch still spells SECRET, the logged postData)."""
    return spelled_in_batches(collector, wrap(_app(seen), denylist=["password"]), body,
                              content_type, SECRET)


# -- 1. A document in a string in a string ------------------------------------------------

# A member's string value that is JSON encoded twice (json.dumps of an already serialised
# payload, put in an envelope), and a body encoded three times: the string read first
# holds a JSON string, not a document, so it was not read, and the password went out in
# clear (be928c5 reads a bare string holding a document, and a member holding one).
TWICE = {
    "member-encoded-twice": json.dumps({"event": "login", "data": json.dumps(DOCUMENT)}),
    "item-encoded-twice": json.dumps([json.dumps(DOCUMENT)]),
    "body-encoded-three-times": json.dumps(json.dumps(DOCUMENT)),
}


@pytest.mark.parametrize("case", list(TWICE))
def test_a_document_in_a_json_string_in_a_json_string_is_redacted_key_by_key(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        case: str) -> None:
    hits, post = _logged(collector, inline_wrap, TWICE[case].encode(), "application/json",
                         {})
    assert hits == []
    json.loads(post["text"])  # still JSON, the password hidden in its innermost document
    assert HIDDEN[1:-1] in post["text"]


# -- 2. A JSON file whose document starts past its first 64 bytes --------------------------

def _multipart(data: bytes, part_type: str) -> bytes:
    return (b'--XB\r\nContent-Disposition: form-data; name="f"; filename="payload.json"'
            + part_type.encode() + b"\r\n\r\n" + data + b"\r\n--XB--\r\n")


# A JSON file of a type that is not JSON is taken for one by its first 64 bytes; a file
# whose whitespace runs past them (a template's indentation, blank lines: 16 characters
# are 64 bytes in UTF-32) was not, though json.load reads it: the password went out in
# the data URL.
LATE_FILES = {
    "utf-8-indented-octet-stream": ("\r\nContent-Type: application/octet-stream",
                                    (" " * 70 + DOCUMENT).encode()),
    "utf-32-blank-lines-no-type": ("", ("\n" * 20 + DOCUMENT).encode("utf-32")),
    "utf-16-le-text-plain": ("\r\nContent-Type: text/plain",
                             ("\r\n" * 20 + DOCUMENT).encode("utf-16-le")),
}


@pytest.mark.parametrize("case", list(LATE_FILES))
def test_a_json_file_with_more_than_64_bytes_of_leading_whitespace_is_redacted(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        case: str) -> None:
    part_type, data = LATE_FILES[case]
    seen: dict[str, Any] = {}
    hits, post = _logged(collector, inline_wrap, _multipart(data, part_type),
                         "multipart/form-data; boundary=XB", seen)
    assert seen["file"] == PAYLOAD  # what the view reads
    assert hits == []
    (param,) = post["params"]
    logged = json.loads(base64.b64decode(param["value"].split(";base64,", 1)[1]))
    assert logged == {"user": "zoe", "password": HIDDEN}


# -- 3. Binary data sent with a form's type, its first bytes holding a NUL ------------------

# curl --data-binary @file sends application/x-www-form-urlencoded unless told otherwise.
# be928c5 reads a form whose first bytes hold a NUL as UTF-16/32 whatever its charset
# (json.detect_encoding), with U+FFFD for what does not decode: an MP4's, a font's or
# BSON's bytes became U+FFFD soup ("ftypmp42", "zoe" gone), where they were logged as a
# form's bytes are (escaped), as on 55caa30. Read so they are again; a form really in
# UTF-16/32 (PowerShell's, no charset) decodes in it and is still read so.
BINARY_FORMS = {
    "mp4": (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(200, 256)),
            "ftypmp42"),
    "truetype-font": (b"\x00\x01\x00\x00\x00\x0f\x00\x80\x00\x03\x00\x70GDEF"
                      + bytes(range(130, 256)), "GDEF"),
    "bson": (b"\x28\x00\x00\x00\x02name\x00\x04\x00\x00\x00zoe\x00\x10age\x00\x07\x00\x00"
             b"\x00\xff\xfe\x80\x81\x00", "zoe"),
    # review45: bytes that decode in UTF-16 but hold controls no text holds there (a
    # protobuf message, field 1 = 0: "\x08\x00"), read as "\x08\u0412\u6261\u6463";
    # and a whole body of an odd length, no UTF-16 (little-endian samples 200, 1000, 2000,
    # 3000 and a byte), read as "\xc8\u03e8\u07d0\u0bb8" and U+FFFD for its last byte.
    "protobuf": (b"\x08\x00\x12\x04abcd", "abcd"),
    "samples-of-an-odd-length": (b"\xc8\x00\xe8\x03\xd0\x07\xb8\x0b\xff", "%FF"),
}


@pytest.mark.parametrize("case", list(BINARY_FORMS))
def test_binary_data_sent_as_a_form_is_not_read_as_utf16_or_utf32(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        case: str) -> None:
    body, readable = BINARY_FORMS[case]
    _, post = _logged(collector, inline_wrap, body, "application/x-www-form-urlencoded",
                      {})
    (param,) = post["params"]
    assert "\ufffd" not in param["name"]
    assert readable in param["name"]


def test_a_form_in_utf16_without_a_charset_is_still_read_in_it(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware]) -> None:
    body = "a=1&b=zoé".encode("utf-16-le")
    _, post = _logged(collector, inline_wrap, body, "application/x-www-form-urlencoded",
                      {})
    assert post["params"] == [{"name": "a", "value": "1"}, {"name": "b", "value": "zoé"}]


# -- 4. A multipart part typed JSON holding a payload encoded twice ------------------------

# A field or file part typed application/json whose text is a JSON string holding the
# document (the client's JSON.stringify of an already serialised payload): a body so
# encoded is read (be928c5), such a part was not (only a text starting "{" or "[" was), so
# the password went out in clear in the field, or in the file's data URL.
@pytest.mark.parametrize("file_name", ["", '; filename="payload.json"'])
def test_a_json_part_encoded_twice_is_redacted_key_by_key(
        collector: Collector, inline_wrap: Callable[..., MetricsMiddleware],
        file_name: str) -> None:
    body = (b'--XB\r\nContent-Disposition: form-data; name="f"' + file_name.encode()
            + b"\r\nContent-Type: application/json\r\n\r\n" + json.dumps(DOCUMENT).encode()
            + b"\r\n--XB--\r\n")
    before = len(collector.received)
    _, _, entry = exchange(inline_wrap(_json_part_app, denylist=["password"]), collector,
                           method="POST", body=body,
                           headers={"Content-Type": "multipart/form-data; boundary=XB"})
    bodies = [r.body for r in collector.received[before:] if r.path == "/v1/request"]
    assert found_spelled(bodies, SECRET) == []
    (param,) = entry["request"]["postData"]["params"]
    value = param["value"]
    if file_name:
        value = base64.b64decode(value.split(";base64,", 1)[1]).decode()
    assert json.loads(json.loads(value)) == {"user": "zoe", "password": HIDDEN}


def _json_part_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    Request(environ).get_data(parse_form_data=True)  # reads the form, as a view does
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
