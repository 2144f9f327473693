"""review117: the readers hostile27/28 landed, broken with a denylist of common words
(``password``, ``token``, ``secret``, ``api_key``, ``key``, ``auth``).

Each was sent in clear by a real Flask app to a real collector on 127.0.0.1:

1. An XML property list with ``key`` denied: every ``<key>`` element's content (the
   entry's NAME) was hidden as an element named ``key``, and so no ``<key>`` was read as
   a name: every value, ``<key>password</key><string>...</string>`` included, went out.
2. A multipart file part's ``Content-Transfer-Encoding`` written ``Base64`` or
   ``BASE64`` (RFC 2045: not case-sensitive), or its base64 with no padding or in the
   URL-safe alphabet: the data URL was base64 of the base64 text again (hostile27's
   case), the ``.env``'s password one more ``base64 -d`` away.
3. A ``.netrc`` with CRLF line ends (Windows' ``_netrc``) and a ``macdef``: its blank
   line ``\\r\\n\\r\\n`` was not seen, every machine after the macro read as its body;
   keywords in capitals (``MACHINE ... PASSWORD ...``, which curl reads) were no netrc.
4. A Java properties file with lines ended by a lone CR (``Properties.load`` reads
   ``\\r``, ``\\n`` and ``\\r\\n``), or a key continued over a line (``pass\\`` then
   ``word = ...``), or a key with an escape (``pass\\u0077ord``, kept as written now).

And a cost: a properties key or a netrc quoted token of 1 MiB took 145 / 77 MiB of
memory at its peak (a pattern's alternation repeated once a character); now a few
copies of the text.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from functools import partial
from typing import Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.har.redaction_netrc import netrc_redacted
from readme_metrics.har.redaction_spaced import properties_redacted
from tests.support.denied_bodies import DENY, SECRET, WORDS
from tests.support.denied_bodies import records as _records
from tests.support.fake_api import Collector
from tests.support.flask_echo import logged_echo
from tests.support.memory import peak_bytes as _peak


def _every_reading(sent: str) -> str:
    """What the collector got, each run of base64 in it (a data URL's) decoded too,
    twice, padded or not, either alphabet: a secret one ``base64 -d`` away is as sent."""
    readings = [sent]
    for _ in range(2):
        for word in re.findall(r"[A-Za-z0-9+/_\-]{8,}={0,2}", readings[-1]):
            word = word.rstrip("=")
            for altchars in (None, b"-_"):
                try:
                    readings.append(base64.b64decode(
                        word + "=" * (-len(word) % 4), altchars).decode("latin-1"))
                except (binascii.Error, ValueError):
                    pass
    return "\n".join(readings)


PLIST = ('<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n<dict>\n'
         '\t<key>user</key>\n\t<string>ada</string>\n'
         f'\t<key>password</key>\n\t<string>{SECRET}</string>\n'
         f'\t<key>api_key</key>\n\t<string>{SECRET}</string>\n'
         '\t<key>keyboard</key>\n\t<string>dvorak</string>\n</dict>\n</plist>\n')


def _file_part(data: bytes, coding: str, part_type: str = "text/plain") -> bytes:
    return (b'--XyZ\r\nContent-Disposition: form-data; name="up"; filename="cfg.env"\r\n'
            + f"Content-Type: {part_type}\r\nContent-Transfer-Encoding: {coding}\r\n\r\n"
            .encode() + data + b"\r\n--XyZ--\r\n")


MULTIPART = "multipart/form-data; boundary=XyZ"
DOTENV = f"USER=ada\nPASSWORD={SECRET}\n".encode()
JSON_FILE = json.dumps({"user": "ada", "password": SECRET}).encode()

LEAKS: dict[str, tuple[Optional[str], bytes]] = {
    "plist-key-denied": ("application/xml", PLIST.encode()),
    "plist-key-denied-x-plist": ("application/x-plist", PLIST.encode()),
    "plist-key-denied-plain": ("text/plain", PLIST.encode()),
    "plist-key-denied-nested": ("application/xml", (
        f"<plist><dict><key>db</key><dict><key>token</key><string>{SECRET}</string>"
        "</dict></dict></plist>").encode()),
    "file-Base64": (MULTIPART, _file_part(base64.b64encode(DOTENV), "Base64")),
    "file-BASE64": (MULTIPART, _file_part(base64.b64encode(DOTENV), "BASE64")),
    "file-base64-unpadded": (MULTIPART, _file_part(
        base64.b64encode(DOTENV + b"#").rstrip(b"="), "base64")),
    "file-base64-unpadded-json": (MULTIPART, _file_part(
        base64.b64encode(JSON_FILE + b" ").rstrip(b"="), "base64", "application/json")),
    "file-base64-urlsafe": (MULTIPART, _file_part(
        base64.urlsafe_b64encode(b"#\xfb\xff\n" + DOTENV), "base64")),
    "file-Quoted-Printable": (MULTIPART, _file_part(
        f"USER=3Dada\nPASS=\nWORD=3D{SECRET}\n".encode(), "Quoted-Printable")),
    "netrc-crlf-macdef": ("text/plain", (
        "machine a.example.com login ada\r\nmacdef init\r\ncd /pub\r\n\r\n"
        f"machine b.example.com login bo password {SECRET}\r\n").encode()),
    "netrc-capitals": ("text/plain",
                       f"MACHINE a.example.com LOGIN ada PASSWORD {SECRET}\n".encode()),
    "netrc-capitals-octet": ("application/octet-stream",
                             f"Machine a.example.com\n  Login ada\n  Password {SECRET}\n"
                             .encode()),
    "properties-cr": ("text/x-java-properties", f"user=ada\rpassword={SECRET}\r".encode()),
    "properties-cr-blank": ("text/x-java-properties",
                            f"user ada\rpassword {SECRET}\r".encode()),
    "properties-cr-plain": ("text/plain", f"user ada\rpassword {SECRET}\r".encode()),
    "properties-key-continued": ("text/x-java-properties",
                                 f"user=ada\npass\\\n    word = {SECRET}\n".encode()),
    "html-colon-entity": ("text/html", (
        f'<div data-x="{{&quot;password&quot;&colon; &quot;{SECRET}&quot;}}"></div>')
        .encode()),
    "html-QUOT-entity": ("text/html", (
        f'<div data-x="{{&QUOT;token&QUOT;: &QUOT;{SECRET}&QUOT;}}"></div>').encode()),
    "properties-key-continued-crlf": ("text/x-java-properties",
                                      f"to\\\r\n  ken {SECRET}\r\n".encode()),
}


@pytest.mark.parametrize("shape", LEAKS)
def test_the_value_is_hidden(shape: str) -> None:
    mime, body = LEAKS[shape]
    for record in _records(body, mime):
        sent = json.dumps(record)
        assert SECRET not in _every_reading(sent), sent
        assert "REDACTED" in _every_reading(sent)


def test_a_plist_with_key_denied_keeps_its_names_and_other_values() -> None:
    [record, _] = _records(PLIST.encode(), "application/xml")
    assert record["text"] == PLIST.replace(SECRET, "[REDACTED 10]")


def test_an_unpadded_base64_file_part_is_logged_as_its_file() -> None:
    body = _file_part(base64.b64encode(b"hello world\n!").rstrip(b"="), "base64")
    [record, _] = _records(body, MULTIPART)
    [part] = record["params"]
    assert part["value"] == ("data:text/plain;name=cfg.env;base64,"
                             + base64.b64encode(b"hello world\n!").decode())


def test_a_capitalised_base64_file_part_is_logged_as_its_file() -> None:
    data = _file_part(base64.b64encode(b"user=ada\nnote=hello\n"), "BASE64")
    [record, _] = _records(data, MULTIPART)
    assert record["params"][0]["value"] == (
        "data:text/plain;name=cfg.env;base64,"
        + base64.b64encode(b"user=ada\nnote=hello\n").decode())


def test_a_properties_key_escaped_keeps_its_escapes() -> None:
    body = f"pass\\u0077ord = {SECRET}\nuser = \\u0061da\n"
    [record, _] = _records(body.encode(), "text/x-java-properties")
    assert record["text"] == body.replace(SECRET, "[REDACTED 10]")


def test_a_properties_file_with_cr_lines_keeps_its_line_ends() -> None:
    body = f"# db\r\ruser ada\rpassword {SECRET}\rport 5432"
    assert properties_redacted(body, DENY.denies, True) == body.replace(
        SECRET, "[REDACTED 10]")


KEPT = {
    # (An element named "key" outside a property list is a denied key's, as before.)
    "xml-key-element": ("application/xml", "<doc><key>[REDACTED 4]</key></doc>",
                        "<doc><key>abcd</key></doc>"),
    "plist-names-only": ("application/xml", None,
                         "<plist><dict><key>user</key><string>ada</string>"
                         "<key>keyboard</key><string>dvorak</string></dict></plist>"),
    "netrc-prose-capitals": ("text/plain", None, "MACHINE LEARNING MAKES PASSWORD HINTS\n"),
    "properties-cr-prose": ("text/plain", None, "the password\ris wrong\r"),
}


@pytest.mark.parametrize("shape", KEPT)
def test_guard_ordinary_data_is_kept(shape: str) -> None:
    mime, expected, body = KEPT[shape]
    for record in _records(body.encode(), mime):
        assert record["text"] == (body if expected is None else expected), record


def test_a_long_properties_key_is_read_in_memory_of_a_few_copies() -> None:
    """A 512 KiB key took 72 MiB at its peak (its pattern's alternation repeated once a
    character): now a few copies of the text."""
    for text in ("password" + "a" * (1 << 19), "pass" + "\\ " * (1 << 18) + "=x"):
        assert _peak(partial(properties_redacted, text, DENY.denies, True)) < 8 * len(text)


def test_a_long_netrc_quoted_token_is_read_in_memory_of_a_few_copies() -> None:
    text = 'machine a password "' + '\\"' * (1 << 18)
    peak = _peak(lambda: netrc_redacted(text, DENY.denies))
    assert peak < 8 * len(text)
    assert netrc_redacted(text, DENY.denies) == text[:19] + f"[REDACTED {len(text) - 19}]"


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(["user", "password", "token", "a.b", "pass\\\n  word",
                                 "\\u0070assword", "#c", "!c", "", "x\\\\"]), max_size=6),
       st.sampled_from(["\n", "\r", "\r\n"]), st.sampled_from([" ", "=", " : ", "\t"]))
def test_any_properties_file_hides_every_denied_value_and_keeps_the_rest(
        keys: list[str], end: str, separator: str) -> None:
    lines = [key if key[:1] in ("#", "!", "") else f"{key}{separator}v{at}Zq"
             for at, key in enumerate(keys)]
    text = end.join(line.replace("\n", end) for line in lines) + end
    hidden = properties_redacted(text, DENY.denies, True) or text
    for at, key in enumerate(keys):
        if key[:1] in ("#", "!", ""):
            continue
        denied = key in ("password", "token", "pass\\\n  word", "\\u0070assword")
        assert (f"v{at}Zq" in hidden) is not denied, (text, hidden)


@pytest.mark.parametrize("shape", ["plist-key-denied", "file-Base64", "netrc-crlf-macdef",
                                   "properties-cr"])
def test_a_flask_app_sends_the_value_hidden(collector: Collector, shape: str) -> None:
    mime, body = LEAKS[shape]
    assert mime is not None
    log = logged_echo(collector, body, mime, WORDS)
    sent = json.dumps(log)
    assert SECRET not in _every_reading(sent)
    assert "REDACTED" in sent
