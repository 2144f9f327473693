"""hostile29: the leaks hostile27, hostile28 and review116 noted and left.

Each sent a denied key's value in clear to a real collector on 127.0.0.1 through a real
Flask app, its denylist naming ``password``:

1. YAML complex keys: ``? [a, password]`` (a flow sequence on the ``?`` line) or
   ``? |`` (a block scalar below it) holding the name as a scalar, then ``: hunter2``.
2. A pickle of protocol 0 (Python 2's default; ``pickle.dumps(d, 0)``) sent as
   application/octet-stream or with no type: all printable, it is read as text, and its
   ``Vpassword``/``S'password'`` lines are no pair.
3. A binary plist (``bplist00``): an ASCII string is ``0x50 | length`` then its bytes
   (``Xpassword``), glued to a letter: no whole word.
4. A zip's deflated entry (the common case): its text is compressed, so a zipped
   ``.env``'s ``PASSWORD=...`` went out as base64 that ``unzip`` reads.
5. hostile27's escaped reading of a text won only when it hid more values than the text
   as written: a crafted body (a ``&#34;`` joining two pairs in the decoded reading)
   kept the reading as written, its ``pass&#119;ord=...`` in clear; and one whose
   decoded reading hid more but opened a quote before a plain ``password=`` (its
   ``"password`` no name) sent that reading, the plain value in clear.
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import plistlib
import zipfile
import zlib
from typing import Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.har.redaction import Redactor
from tests.support.fake_api import Collector
from tests.support.flask_echo import logged_echo
from tests.support.sent_bodies import SECRET, bodies_logged, kept_as_sent
from tests.support.zip_bodies import zip_of

# 1. YAML complex keys ---------------------------------------------------------------

YAML_LEAKS = {
    "flow-sequence": f"? [a, password]\n: {SECRET}\n",
    "flow-mapping": f"? {{password: x}}\n: {SECRET}\n",
    "literal": f"? |\n  password\n: {SECRET}\n",
    "folded": f"? >-\n  password\n: {SECRET}\n",
    "block-sequence": f"?\n  - a\n  - password\n: {SECRET}\n",
    "nested": f"db:\n  ? [user, \"password\"]\n  : {SECRET}\n  host: x\n",
    "value-below": f"? [password]\n:\n  {SECRET}\n",
}


@pytest.mark.parametrize("shape", YAML_LEAKS)
def test_a_yaml_complex_key_holding_a_denied_name_has_its_value_hidden(shape: str) -> None:
    for text in bodies_logged(YAML_LEAKS[shape].encode(), "application/yaml"):
        assert SECRET not in text, text
        assert "REDACTED" in text


def test_a_complex_keys_other_lines_are_kept() -> None:
    body = f"a: 1\n? [b, password]\n: {SECRET}\nc: 2\n"
    for text in bodies_logged(body.encode(), "application/yaml"):
        assert text == body.replace(SECRET, '"[REDACTED 10]"')


@pytest.mark.parametrize("body", [
    "? [a, b]\n: kept\n",
    "? |\n  passwords are long\n: kept\n",
    "? [a, password_hint]\n: kept\n",
    "? {user: password_policy}\n: kept\n",
])
def test_guard_a_complex_key_naming_no_denied_key_is_kept(body: str) -> None:
    assert kept_as_sent(body.encode(), "application/yaml")


# 2. pickle protocol 0 ---------------------------------------------------------------

PICKLES = {
    "dict-v": pickle.dumps({"user": "ada", "password": SECRET}, protocol=0),
    "python2-s": f"(dp0\nS'user'\np1\nS'ada'\np2\nsS'password'\np3\nS'{SECRET}'\np4\ns."
                 .encode(),
    "python2-double": f'(dp0\nS"password"\np1\nS"{SECRET}"\np2\ns.'.encode(),
    "nested": pickle.dumps([{"db": {"password": SECRET}}], protocol=0),
    "bytes-key": pickle.dumps({b"password": SECRET.encode()}, protocol=0),
}


@pytest.mark.parametrize("mime", ["application/octet-stream", None])
@pytest.mark.parametrize("shape", PICKLES)
def test_a_protocol_0_pickle_naming_a_denied_key_is_hidden(shape: str,
                                                            mime: Optional[str]) -> None:
    for text in bodies_logged(PICKLES[shape], mime):
        assert SECRET not in text, text
        assert text.startswith("[REDACTED"), text


@pytest.mark.parametrize("body", [
    pickle.dumps({"user": "ada", "passwords": 3}, protocol=0),
    b"S'password' is what the form said.\nV\n.",
    b"Vpassword\n is no pickle: reset it.\n",
])
def test_guard_a_pickle_naming_no_key_and_prose_are_kept(body: bytes) -> None:
    assert kept_as_sent(body, "application/octet-stream")


# 3. binary plists --------------------------------------------------------------------

BPLISTS = {
    "one": (["password"], {"password": SECRET}),
    "two": (["password"], {"user": "ada", "password": SECRET}),
    "nested": (["password"], {"db": [{"password": SECRET}]}),
    "long-name": (["database_password"], {"database_password": SECRET}),
    "eleven": (["my_password"], {"my_password": SECRET}),
}


@pytest.mark.parametrize("mime", ["application/octet-stream", "application/x-bplist",
                                  None])
@pytest.mark.parametrize("shape", BPLISTS)
def test_a_binary_plist_naming_a_denied_key_is_hidden(shape: str,
                                                      mime: Optional[str]) -> None:
    names, document = BPLISTS[shape]
    body = plistlib.dumps(document, fmt=plistlib.FMT_BINARY)
    for text in bodies_logged(body, mime, Redactor(denylist=names)):
        assert text == "[REDACTED]", text


def test_guard_a_binary_plist_naming_no_denied_key_is_kept() -> None:
    body = plistlib.dumps({"user": "ada", "passwords": 2, "xpassword": 1},
                          fmt=plistlib.FMT_BINARY)
    assert kept_as_sent(body, "application/octet-stream")


def test_guard_a_length_byte_outside_a_binary_plist_is_no_key() -> None:
    body = b"\x89PNG\r\n\x1a\n\0\0Xpassword\x01\x02" + bytes(range(256))
    assert kept_as_sent(body, "application/octet-stream")


# 4. zip entries deflated -------------------------------------------------------------

def _zip(entries: dict[str, bytes], streamed: bool = False) -> bytes:
    return zip_of({"README.md": b"# Notes\n\nThe monkey presses a key.\n" * 40} | entries,
                  streamed=streamed)


ENV = f"# the app's settings\nUSER=ada\nPASSWORD={SECRET}\n".encode() + b"# more\n" * 30

ZIPS = {
    "env": _zip({"creds.env": ENV}),
    "streamed": _zip({"creds.env": ENV}, streamed=True),
    "json": _zip({"config.json": json.dumps({"db": {"password": SECRET}}).encode() * 20}),
    "yaml": _zip({"a/b/secrets.yaml": f"db:\n  password: {SECRET}\n".encode() * 20}),
    "utf-16": _zip({"a.txt": ENV.decode().encode("utf-16")}),
    "many": _zip({f"f{n}.txt": b"nothing here\n" * 50 for n in range(40)}
                 | {"z.env": ENV}),
}


@pytest.mark.parametrize("shape", ZIPS)
def test_a_deflated_zip_entry_naming_a_denied_key_is_hidden(shape: str) -> None:
    for text in bodies_logged(ZIPS[shape], "application/zip"):
        assert text == "[REDACTED]"


def test_guard_a_deflated_zip_of_prose_is_kept() -> None:
    body = _zip({"keyboard.md": b"Press a key. Authors keep keys, tokens, passwords.\n"
                                b"Reset your password at the desk.\n" * 100})
    assert kept_as_sent(body, "application/zip", Redactor(["key", "token", "password"]))


def test_guard_an_entry_after_a_binary_one_starts_no_length() -> None:
    """An entry's text starting ``Token`` after a PNG's last byte (``\\x82``): a line's end
    between them would be Avro's length of ``token`` (10, twice 5)."""
    png_end = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) + b"IEND\xaeB`\x82"
    body = _zip({"monkey.png": png_end, "notes.md": b"Token and secretary keys.\n" * 3})
    assert kept_as_sent(body, "application/zip", Redactor(["token"]))
    stored = io.BytesIO()
    with zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(zipfile.ZipInfo("notes.md"), b"Token and keys.\n")
    assert kept_as_sent(stored.getvalue(), "application/zip", Redactor(["token"]))


def test_a_zip_bomb_is_read_to_a_bound_and_hidden_unread() -> None:
    # (Kept before hostile33, as was whatever followed the bound unread: a .env after
    # 300 entries of 20 KB. A zip not read whole is hidden, as a gzip bomb's body is.)
    body = zip_of({"zeros.bin": bytes(64 << 20)})
    assert len(body) < 1 << 20
    for text in bodies_logged(body, "application/zip"):
        assert text == "[REDACTED]"


def test_guard_a_corrupt_deflated_entry_is_read_as_far_as_it_goes() -> None:
    body = bytearray(_zip({"creds.env": ENV}))
    # (The README's deflate data broken: the entry after it is read all the same.)
    body[60:70] = b"\xff" * 10
    for text in bodies_logged(bytes(body), "application/zip"):
        assert text == "[REDACTED]"


def test_a_deflate_stream_after_any_header_like_bytes_is_no_crash() -> None:
    header = b"PK\3\4" + bytes(4) + b"\x08\x00" + bytes(16) + b"\x01\x00\x00\x00x"
    body = header + zlib.compress(ENV)[2:-4] + b"PK\3\4" + bytes(10)
    for text in bodies_logged(body, "application/zip"):
        assert text == "[REDACTED]"


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=300), st.integers(0, 400))
def test_any_bytes_in_a_zip_are_read_without_raising(noise: bytes, at: int) -> None:
    body = bytearray(ZIPS["env"])
    body[at:at + len(noise)] = noise
    bodies_logged(bytes(body), "application/zip")


# 5. the escaped reading of a text ----------------------------------------------------

ESCAPED = {
    "joined": f"password=1 &#34;password=2&pass&#119;ord={SECRET}",
    "joined-lines": f"password=1 &#34;password=2\npass&#119;ord={SECRET}\n",
    "joined-hex": f"password=1 &#x22;password=2&passw&#x6f;rd={SECRET}",
    # (The decoded reading hid more, and was sent: its quote opened before the first.)
    "opened": f"&#34;password={SECRET}&pass&#119;ord=b&pass&#119;ord=c",
    "opened-apos": f"x=&#39;&password={SECRET}&pass&#119;ord=b&pass&#119;ord=c",
}


@pytest.mark.parametrize("mime", ["text/plain", "application/octet-stream", None])
@pytest.mark.parametrize("shape", ESCAPED)
def test_an_escaped_denied_name_among_plain_ones_is_hidden(shape: str,
                                                           mime: Optional[str]) -> None:
    for text in bodies_logged(ESCAPED[shape].encode(), mime):
        assert SECRET not in text, text


def test_guard_text_whose_escapes_hide_nothing_more_is_kept_as_written() -> None:
    body = "password=1&a=&#34;x&#34;&b=&#119;\n"
    for text in bodies_logged(body.encode(), "text/plain"):
        assert "&#34;x&#34;" in text and "&#119;" in text
        assert text.count("REDACTED") == 1


# Through a real Flask app and the collector ------------------------------------------

THROUGH = {
    "yaml": ("application/yaml", YAML_LEAKS["flow-sequence"].encode()),
    "yaml-literal": ("application/yaml", YAML_LEAKS["literal"].encode()),
    "pickle": ("application/octet-stream", PICKLES["dict-v"]),
    "bplist": ("application/octet-stream",
               plistlib.dumps(BPLISTS["two"][1], fmt=plistlib.FMT_BINARY)),
    "zip": ("application/zip", ZIPS["env"]),
    "escaped": ("text/plain", ESCAPED["joined"].encode()),
}


@pytest.mark.parametrize("shape", THROUGH)
def test_through_a_flask_app_and_the_collector(collector: Collector, shape: str) -> None:
    mime, body = THROUGH[shape]
    log = logged_echo(collector, body, mime)
    entry = log["request"]["log"]["entries"][0] if "request" in log else log
    sent = json.dumps(log)
    assert SECRET not in sent
    for record in (entry["request"]["postData"], entry["response"]["content"]):
        text = record["text"]
        if record.get("encoding") == "base64" or record.get("comment") == "base64":
            text = base64.b64decode(text).decode("latin-1")
        assert SECRET not in text
        assert "REDACTED" in text


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=120))
def test_any_complex_key_or_pickle_like_text_is_read_without_raising(text: str) -> None:
    for body, mime in ((f"? {text}\n: x\n", "application/yaml"),
                       (f"?\n  {text}\n  - password\n: x\n", "application/yaml"),
                       (f"(dp0\nV{text}\np1\n", "application/octet-stream"),
                       (f"S'password'\n{text}.", None)):
        bodies_logged(body.encode(), mime)
