"""binary2: a binary body or a multipart file part is hidden whole for a denied name in
a key's shape (readme_metrics/har/key_shapes.py), not for the name anywhere in its bytes.

Before, with ``key`` denied, a zip holding ``monkey.png``, a .tar.gz of docs saying
``keyboard`` and one random MiB upload in four or five went out as ``[REDACTED]``: the
user lost the upload for a common denylist word. A denied key's value still never goes
out in clear inside bytes the lists cannot parse (binary1, review112, hostile26 and
review113's tests are the contract; the planted property below reads each spelling).
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import random
import struct
import tarfile
import zipfile
import zlib
from typing import Any, Callable, Optional
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.har.multipart_files import file_holds_denied
from readme_metrics.redaction import Redactor
from tests.support.exchanges import body_on, entry_of
from tests.support.fake_api import Collector
from tests.support.wsgi_servers import served
from tests.support.zip_bodies import entry

NAMES = ["password", "token", "secret", "key", "auth", "api_key"]
SECRET = "s3cr3t-Zq8h22Xw"
LIMIT = 262144


def _recorded(body: bytes, redactor: Redactor, kind: str = "application/octet-stream",
              side: str = "request") -> Optional[bytes]:
    """The body's bytes as logged in base64, or None when it was hidden whole."""
    entry = entry_of(body_on(side, [("Content-Type", kind)], body), redactor=redactor)
    if side == "request":
        post = entry["request"]["postData"]
        if post.get("comment") == "base64":
            return base64.b64decode(post["text"])
        assert post["text"] == "[REDACTED]", post
        return None
    content = entry["response"]["content"]
    if content.get("encoding") == "base64":
        return base64.b64decode(content["text"])
    assert content["text"] == "[REDACTED]", content
    return None


def _png(draw: random.Random, height: int = 64) -> bytes:
    """A real PNG, 64 pixels wide, of random RGB pixels."""
    raw = b"".join(b"\0" + draw.randbytes(64 * 3) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


PROSE = (b"# Keyboard shortcuts\n\nThe monkey presses a key on the keyboard. Authors of the "
         b"tokenizer keep their API key and token secret; the auth page says so. Keys, "
         b"tokens, keynotes and passwordless sign-in are described below.\n")


def _zip(draw: random.Random, planted: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(entry("monkey.png", archive), _png(draw))
        archive.writestr(entry("notes/keyboard.md", archive), PROSE)
        if planted:
            archive.writestr(entry("config.json", archive), planted, zipfile.ZIP_STORED)
    return buffer.getvalue()


def _tar(draw: random.Random, mode: str, planted: bytes = b"") -> bytes:
    """A tar (``mode`` "w" or "w:gz") of docs/: prose, a PNG, and ``planted`` as
    docs/config.json when given."""
    buffer = io.BytesIO()
    files = [("docs/index.md", PROSE * 20), ("docs/authors.md", PROSE),
             ("docs/img/monkey.png", _png(draw))]
    if planted:
        files.append(("docs/config.json", planted))
    with tarfile.open(fileobj=buffer, mode=mode) as archive:  # type: ignore[call-overload]
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1795257103
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# -- a longer word is no denied name ---------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", ["zip", "tar.gz", "tar"])
def test_an_archive_of_words_holding_a_denied_name_is_kept(kind: str, name: str) -> None:
    """monkey.png, keyboard.md, 'authors', 'tokenizer', 'the API key': no key's shape.
    Hidden before for key, auth, token, secret, password (the prose says passwordless)."""
    draw = random.Random(f"binary2-{kind}")
    body = {"zip": lambda: _zip(draw), "tar.gz": lambda: _tar(draw, "w:gz"),
            "tar": lambda: _tar(draw, "w")}[kind]()
    mime = {"zip": "application/zip", "tar.gz": "application/gzip",
            "tar": "application/x-tar"}[kind]
    assert _recorded(body, Redactor([name]), mime) == body
    assert not file_holds_denied(body, mime, Redactor([name]), LIMIT)


@pytest.mark.parametrize("word", [b"monkey", b"keyboard", b"authors", b"tokenizer",
                                  b"apiKey", b"SECRETARY", b"passwords", b"hotkey.png",
                                  b"the key is", b"an auth token, then", b"key\x00",
                                  b"\ntokenizer\n", b"keys=1"])
def test_a_word_in_random_bytes_is_kept(word: bytes) -> None:
    redactor = Redactor(NAMES)
    body = b"\x00\xff" + random.Random(7).randbytes(300) + word + b"\x01\x02"
    assert not redactor.shapes_key_in(body)
    assert _recorded(body, redactor) == body


# -- a key's shape is hidden, in each reading ------------------------------------------


SHAPES = {
    "json": '{"%s": "v"}',
    "json-spaced": '{ "%s" :\n "v"}',
    "joined": '{"x_%s": "v"}',
    "header": "X-Api-%s: v",
    "form": "a=1&%s=v",
    "env": "%s =v",
    "bracketed": "user[%s]=v",
    "list": "%s[]=v",
    "escaped-doc": '"{\\"%s\\": \\"v\\"}"',
    "percent": "%%22%s%%22%%3A%%22v",
    "double-percent": "a%%253D1%%2526%s%%253Dv",
    "name-value": '{"name": "%s", "value": "v"}',
    "multipart": 'Content-Disposition: form-data; name="%s"\r\n\r\nv',
    "xml": "<%s>v</%s>",
    "xml-prefixed": "<wsse:%s>v</wsse:%s>",
    "csv": "user,%s\nzoe,v\n",
    "repr": "{'%s': 'v'}",
    "pointer": '{"op": "add", "path": "/user/%s", "value": "v"}',
    "html-entity": "&quot;%s&quot;: &quot;v",
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", SHAPES)
def test_a_keys_shape_in_binary_is_hidden(shape: str, name: str) -> None:
    text = SHAPES[shape].replace("%s", name.upper() if shape == "env" else name)
    text = text.replace("%%", "%")
    redactor = Redactor([name])
    for inside in (text.encode(), text.encode("utf-16-le")):
        body = b"\x00\xff" + random.Random(3).randbytes(200) + inside + b"\x00\x01"
        assert redactor.shapes_key_in(body), (shape, inside)
        assert _recorded(body, redactor, side="response") is None


def _msgpack(name: str) -> bytes:
    return b"\x81" + bytes([0xA0 | len(name)]) + name.encode() + bytes([0xA0 | len(SECRET)]) \
        + SECRET.encode()


def _bson(name: str) -> bytes:
    value = SECRET.encode() + b"\0"
    element = b"\x02" + name.encode() + b"\0" + struct.pack("<i", len(value)) + value
    return struct.pack("<i", len(element) + 5) + element + b"\0"


def _protobuf(name: str) -> bytes:  # a map<string, string> entry: key 1, value 2
    entry = b"\x0a" + bytes([len(name)]) + name.encode() + b"\x12" + bytes([len(SECRET)]) \
        + SECRET.encode()
    return b"\x0a" + bytes([len(entry)]) + entry


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("encode", [_msgpack, _bson, _protobuf])
def test_a_binary_formats_map_key_is_hidden(encode: Callable[[str], bytes],
                                            name: str) -> None:
    """msgpack, BSON, protobuf write a map's key with its length before it, no ":"."""
    body = b"\x00\xff" + encode(name)
    assert _recorded(body, Redactor([name]), "application/msgpack") is None


# -- the property: a planted key is always hidden --------------------------------------


def _kelvin(text: str) -> str:  # UTF-8 characters folding to ASCII (review112)
    return text.replace("k", "\u212a").replace("s", "\u017f")


READINGS: dict[str, Callable[[str], bytes]] = {
    "as-written": lambda doc: doc.encode(),
    "utf-16-le": lambda doc: doc.encode("utf-16-le"),
    "utf-16-be": lambda doc: doc.encode("utf-16-be"),
    "utf-32": lambda doc: doc.encode("utf-32"),
    "string-in-string": lambda doc: json.dumps(doc).encode(),
    "twice-in-strings": lambda doc: json.dumps(json.dumps(doc)).encode(),
    "letters-escaped": lambda doc: "".join(
        f"\\u{ord(c):04x}" if c.isalpha() else c for c in doc).encode(),
    "percent": lambda doc: quote(doc, safe="").encode(),
    "folding-utf8": lambda doc: _kelvin(doc).encode(),
}


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(NAMES), reading=st.sampled_from(sorted(READINGS)),
       upper=st.lists(st.booleans(), min_size=8, max_size=8),
       before=st.binary(max_size=64), after=st.binary(max_size=64),
       form=st.sampled_from(['{"%s": "%s"}', '{"a": 1, "%s":"%s"}', "%s=%s", "%s: %s"]))
def test_a_planted_key_is_always_hidden(name: str, reading: str, upper: list[bool],
                                        before: bytes, after: bytes, form: str) -> None:
    """Random bytes with ``"<name>": "<secret>"`` (a form's, YAML's) planted in any case,
    in each reading: hidden whole as a body and as a file part."""
    spelled = "".join(c.upper() if up else c for c, up in zip(name, upper + upper))
    if reading == "folding-utf8":
        spelled = spelled.lower()  # (the Kelvin sign and long s fold to lower case)
    planted = READINGS[reading](form % (spelled, SECRET))
    body = b"\x00\xff" + before + b"\n" + planted + b"\n" + after
    redactor = Redactor([name])
    assert _recorded(body, redactor) is None
    assert file_holds_denied(body, "application/octet-stream", redactor, LIMIT)
    layered = gzip.compress(body, mtime=0)
    assert _recorded(layered, redactor, "application/gzip") is None


# -- end to end: a Flask app under werkzeug's server, a real collector ------------------


def _upload(collector: Collector, files: dict[str, tuple[str, bytes, str]]
            ) -> dict[str, Any]:
    """The log of a multipart upload of ``files`` to a Flask app served by werkzeug's
    development server, denylist ["key", "token"]."""
    import requests
    from flask import Flask, request

    from readme_metrics import MetricsApiConfig
    from readme_metrics.flask_readme import ReadMeMetrics

    app = Flask(__name__)

    @app.route("/upload", methods=["POST"])
    def upload() -> Any:
        return {name: len(part.read()) for name, part in request.files.items()}

    extension = ReadMeMetrics(MetricsApiConfig(
        api_key="any-key", metrics_api=collector.url, buffer_length=1,
        grouping_function=lambda request: {"api_key": "owlbert-key-123456"},
        denylist=["key", "token"]), app)
    try:
        with served("werkzeug", app) as port:
            answer = requests.post(f"http://127.0.0.1:{port}/upload", files=files,
                                   timeout=30)
        assert answer.status_code == 200
        assert answer.json() == {name: len(data) for name, (_, data, _) in files.items()}
        assert extension.flush(30) is True
        [log] = collector.wait_for_logs(1)
    finally:
        extension.close()
    return log


def _params(log: dict[str, Any]) -> dict[str, dict[str, Any]]:
    post = log["request"]["log"]["entries"][0]["request"]["postData"]
    return {param["name"]: param for param in post["params"]}


def test_a_flask_upload_of_a_zip_and_a_tar_gz_is_logged(collector: Collector) -> None:
    """Hidden whole before (monkey.png, keyboard.md: 'key' inside words)."""
    draw = random.Random("binary2-e2e")
    archive, docs = _zip(draw), _tar(draw, "w:gz")
    params = _params(_upload(collector, {
        "archive": ("monkey.zip", archive, "application/zip"),
        "docs": ("docs.tar.gz", docs, "application/gzip")}))
    for name, data, mime in (("archive", archive, "application/zip"),
                             ("docs", docs, "application/gzip")):
        value = params[name]["value"]
        assert value.startswith(f"data:{mime};"), value[:80]
        assert base64.b64decode(value.split(",", 1)[1]) == data


def test_a_flask_upload_of_a_tar_holding_a_token_is_hidden(collector: Collector) -> None:
    draw = random.Random("binary2-e2e")
    archive = _zip(draw)
    planted = _tar(draw, "w", planted=b'{"token": "' + SECRET.encode() + b'"}\n')
    log = _upload(collector, {
        "archive": ("monkey.zip", archive, "application/zip"),
        "docs": ("docs.tar", planted, "application/x-tar")})
    params = _params(log)
    assert params["docs"]["value"] == "[REDACTED]"
    assert params["docs"]["fileName"] == "docs.tar"
    assert base64.b64decode(params["archive"]["value"].split(",", 1)[1]) == archive
    assert SECRET not in json.dumps(log)
