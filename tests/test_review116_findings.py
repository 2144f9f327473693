"""review116: leaks found in binary2's key shapes (readme_metrics/har/key_shapes.py) and a
YAML flow collection over lines (readme_metrics/har/redaction_yaml.py).

1. A zip entry stored (``zip`` stores a file deflate cannot shrink: a small ``.env``)
   has its text right after its file name: ``creds.envPASSWORD=...`` read as one word
   (``envpassword``), sent in clear.
2. A binary format's length before a map key that binary2 did not read: pickle's
   protocols 0-3 (``Vpassword\\n``, ``X`` then a 4-byte length), Thrift's 4-byte
   length, a length that is a blank byte (a key of 9, 10, 12, 13 or 32 characters:
   ``secret_key`` in protobuf, pickle 4, msgpack's str8), a length byte that is an
   upper-case letter (lower-cased with the reading: Avro's key of 33 to 45 characters),
   a length past 127 (protobuf's two-byte varint).
3. YAML: a flow collection whose quoted scalar runs over lines, one starting ``#``
   (``a: {b: '\\n\\n    #', password: hunter2}``), went out as sent: the ``#`` line was
   taken for a comment and the collection's text ended before the denied member.
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import struct
import zipfile
from typing import Any, Optional

import pytest

from readme_metrics.redaction import Redactor
from tests.support.exchanges import body_on, entry_of
from tests.support.fake_api import Collector
from tests.support.wsgi_servers import served
from tests.support.zip_bodies import entry

SECRET = "s3cr3t-Zq8h22Xw"


def _recorded(body: bytes, redactor: Redactor, kind: str = "application/octet-stream"
              ) -> Optional[bytes]:
    """The request body's bytes as logged in base64, or None when hidden whole."""
    post = entry_of(body_on("request", [("Content-Type", kind)], body),
                    redactor=redactor)["request"]["postData"]
    if post.get("comment") == "base64":
        return base64.b64decode(post["text"])
    assert post["text"] == "[REDACTED]", post
    return None


def _stored_zip(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(entry("README.md", archive), b"# Notes\n\nThe monkey presses a key.\n")
        archive.writestr(entry(name, archive), data)
    return buffer.getvalue()


@pytest.mark.parametrize(("entry", "data", "name"), [
    pytest.param("creds.env", f"PASSWORD={SECRET}\n".encode(), "password", id="env"),
    pytest.param("secrets.yaml", f"token: {SECRET}\n".encode(), "token", id="yaml"),
    pytest.param("x1", f"api_key = {SECRET}\n".encode(), "api_key", id="digit-name"),
    pytest.param("a.txt", f"password={SECRET}\n".encode("utf-16-le"), "password",
                 id="utf-16"),
])
def test_a_stored_zip_entrys_key_at_its_start_is_hidden(entry: str, data: bytes,
                                                         name: str) -> None:
    """Main sent the stored entry's value in clear (its text glued to its file name)."""
    assert _recorded(_stored_zip(entry, data), Redactor([name]), "application/zip") is None


def test_guard_a_stored_zip_of_prose_is_kept() -> None:
    body = _stored_zip("keyboard.md", b"Press a key. Authors keep keys and tokens.\n")
    assert _recorded(body, Redactor(["key", "token", "password"]), "application/zip") == body


def _varint(value: int) -> bytes:
    out = b""
    while value >= 0x80:
        out += bytes([value & 0x7F | 0x80])
        value >>= 7
    return out + bytes([value])


def _protobuf_map(name: str) -> bytes:
    """A protobuf message's map<string, string> entry (field 1): key, value."""
    entry = (b"\x0a" + _varint(len(name)) + name.encode()
             + b"\x12" + _varint(len(SECRET)) + SECRET.encode())
    return b"\x08\x96\x01\x0a" + _varint(len(entry)) + entry


def _msgpack_map(name: str) -> bytes:
    head = bytes([0xA0 | len(name)]) if len(name) < 32 else b"\xd9" + bytes([len(name)])
    return b"\x81" + head + name.encode() + bytes([0xA0 | len(SECRET)]) + SECRET.encode()


def _thrift(name: str) -> bytes:
    """Thrift's binary protocol: a struct's string field holding the name, then one
    holding the value (an i32 length, big-endian, before each)."""
    return (b"\x0b\x00\x01" + struct.pack(">i", len(name)) + name.encode()
            + b"\x0b\x00\x02" + struct.pack(">i", len(SECRET)) + SECRET.encode() + b"\x00")


def _avro_map(name: str) -> bytes:
    """An Avro map<string> of one entry (a zigzag varint length before each string)."""
    return (b"\x02" + _varint(2 * len(name)) + name.encode()
            + _varint(2 * len(SECRET)) + SECRET.encode() + b"\x00")


#: Names of the lengths binary2 skipped or misread (9, 10, 12, 13, 32: a blank byte; 33
#: to 45: Avro's length an upper-case letter; 130: two bytes).
_NAMES = {length: ("x" * length + "_key")[-length:] for length in (9, 10, 12, 13, 32, 40, 130)}


@pytest.mark.parametrize(("encode", "length"), [
    *[pytest.param(_protobuf_map, n, id=f"protobuf-{n}") for n in (9, 10, 12, 13, 32, 40, 130)],
    pytest.param(_msgpack_map, 32, id="msgpack-str8-32"),
    *[pytest.param(_thrift, n, id=f"thrift-{n}") for n in (10, 12, 32, 40)],
    pytest.param(_avro_map, 40, id="avro-40"),
    pytest.param(_avro_map, 5, id="avro-5"),
    *[pytest.param(lambda name, p=p: pickle.dumps({name: SECRET}, protocol=p), 10,
                   id=f"pickle{p}-10") for p in range(1, 6)],
    *[pytest.param(lambda name, p=p: pickle.dumps({name: SECRET}, protocol=p), 8,
                   id=f"pickle{p}-8") for p in range(1, 6)],
    pytest.param(lambda name: _stored_zip("cache.pkl", pickle.dumps({name: SECRET}, 0)),
                 10, id="pickle0-10-in-a-stored-zip"),
])
def test_a_binary_formats_map_key_of_any_length_is_hidden(encode: Any, length: int) -> None:
    """Main sent each in clear."""
    name = _NAMES.get(length, ("password" if length == 8 else "token"))
    if length == 10:
        name = "secret_key"
    body = encode(name)
    assert SECRET.encode() in body and name.encode() in body
    assert _recorded(body, Redactor([name.upper()])) is None


@pytest.mark.parametrize("body", [
    pytest.param(b"\x00\x01PNG\n\nsecret_keyboard layouts\n", id="longer-word"),
    pytest.param(b"\x00\x01notes:\n\nsecret_key is described in the docs.\n",
                 id="line-start-prose"),
    pytest.param(b"\x00\x01\x02\x03 a 32 character name is this one_key then\n",
                 id="space-prose"),
])
def test_guard_a_blank_before_a_name_in_text_is_no_length(body: bytes) -> None:
    names = ["secret_key", "a 32 character name is this one_key"[-32:]]
    assert _recorded(body, Redactor(names)) == body


def test_a_flask_upload_of_a_stored_zip_holding_an_env_is_hidden(collector: Collector
                                                                  ) -> None:
    """End to end: werkzeug, a Flask app, the collector; main sent the .env's value."""
    import requests
    from flask import Flask, request

    from readme_metrics import MetricsApiConfig
    from readme_metrics.flask_readme import ReadMeMetrics

    app = Flask(__name__)

    @app.route("/upload", methods=["POST"])
    def upload() -> Any:
        return {name: len(part.read()) for name, part in request.files.items()}

    archive = _stored_zip("prod.env", f"PASSWORD={SECRET}\nDB_HOST=db\n".encode())
    extension = ReadMeMetrics(MetricsApiConfig(
        api_key="any-key", metrics_api=collector.url, buffer_length=1,
        grouping_function=lambda request: {"api_key": "owlbert-key-123456"},
        denylist=["password"]), app)
    try:
        with served("werkzeug", app) as port:
            answer = requests.post(f"http://127.0.0.1:{port}/upload", files={
                "config": ("config.zip", archive, "application/zip")}, timeout=30)
        assert answer.json() == {"config": len(archive)}
        assert extension.flush(30) is True
        [log] = collector.wait_for_logs(1)
    finally:
        extension.close()
    params = log["request"]["log"]["entries"][0]["request"]["postData"]["params"]
    assert params[0]["value"] == "[REDACTED]", params[0]["value"][:80]
    assert SECRET not in json.dumps(log)


#: YAML flow collections over lines, a line of a quoted scalar starting "#" (or at the
#: key's indentation): PyYAML reads the denied member; main sent each as written.
_YAML_FLOWS = [
    "a: {a: null, b: '\n\n    #', password: %s}\n",
    "a: {b: \"\n\n    #\", password: %s}\n",
    "a: {b: '\n    # c', password: %s}\n",
    "a: {b: 'x\n\n    #', password: %s}\n",
    "a: [b, '\n\n    #', {password: %s}]\n",
    "- {b: '\n  #', password: %s}\n",
    "a: {b: '\n#', password: %s}\n",
    "a: {b: '\nx', password: %s}\n",
    "a:\n  b: {c: '\n\n  #', password: %s}\n",
]


@pytest.mark.parametrize("body", _YAML_FLOWS)
def test_a_yaml_flow_collection_over_lines_is_hidden(body: str) -> None:
    yaml = pytest.importorskip("yaml")
    body = body % SECRET
    assert SECRET in json.dumps(yaml.safe_load(body))
    for side in ("request", "response"):
        entry = entry_of(body_on(side, [("Content-Type", "text/yaml")], body.encode()),
                         redactor=Redactor(["password"]))
        record = entry["request"]["postData"] if side == "request" else (
            entry["response"]["content"])
        assert SECRET not in record["text"], record
        assert yaml.safe_load(record["text"]) is not None


def test_a_yaml_block_scalars_last_line_starting_hash_is_hidden() -> None:
    yaml = pytest.importorskip("yaml")
    body = f"password: |\n  first\n  #{SECRET}\nuser: zoe\n"
    assert SECRET in yaml.safe_load(body)["password"]
    entry = entry_of(body_on("request", [("Content-Type", "text/yaml")], body.encode()),
                     redactor=Redactor(["password"]))
    assert entry["request"]["postData"]["text"] == 'password: "[REDACTED 28]"\nuser: zoe\n'


def test_guard_a_yaml_comment_after_a_value_stays() -> None:
    body = "user: zoe\n# password: set below\nname: x\n"
    entry = entry_of(body_on("request", [("Content-Type", "text/yaml")], body.encode()),
                     redactor=Redactor(["password"]))
    assert entry["request"]["postData"]["text"] == body
