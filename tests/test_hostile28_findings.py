"""hostile28: text formats whose denied key is followed by a blank or by an element.

Found by review116 and sent in clear by a real Flask app to a real collector on
127.0.0.1, its denylist naming ``password``:

1. An XML property list (Apple's plist): ``<key>password</key><string>...</string>``,
   the value the element after the ``<key>`` element (as application/xml, text/xml,
   application/x-plist, text/plain and octet-stream text).
2. A ``.netrc``: ``machine api.example.com login ada password ...``, the key followed by
   a blank (only in a body that is a netrc: ``machine``/``default`` then its tokens).
3. A Java .properties file with a blank separator (``password hunter2``,
   ``password\\thunter2``), declared ``text/x-java-properties`` or every line of it
   ``key[=: \\t]value``; prose (``the password is wrong``) is kept.

SQL (``INSERT INTO users (name, password) VALUES (...)``) is out of scope: its values
pair with names by position in another list, not by a name next to its value
(docs/BODIES.md's list of what is kept as written).
"""

from __future__ import annotations

import json
from typing import Any, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from readme_metrics.har.bodies import content, post_data
from readme_metrics.har.headers import RAW_CONTENT_TYPE
from readme_metrics.har.redaction import Redactor
from tests.support.fake_api import Collector
from tests.support.flask_echo import logged_echo

SECRET = "Zq8h22Xw3K"
DENY = Redactor(denylist=["password"])


def _head(mime: Optional[str]) -> dict[str, str]:
    return {} if mime is None else {"content-type": mime, RAW_CONTENT_TYPE: mime}


def _records(body: bytes, mime: Optional[str]) -> list[dict[str, Any]]:
    return [post_data(body, len(body), _head(mime), DENY, 1 << 20),
            content(body, len(body), _head(mime), DENY, 1 << 20)]


def _texts(body: str, mime: Optional[str]) -> list[str]:
    out = []
    for record in _records(body.encode(), mime):
        out.append(record.get("text", json.dumps(record)))
    return out


PLIST = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" '
    '"http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n'
    '<plist version="1.0">\n<dict>\n\t<key>user</key>\n\t<string>ada</string>\n'
    f'\t<key>password</key>\n\t<string>{SECRET}</string>\n</dict>\n</plist>\n')
NETRC = f"machine api.example.com login ada password {SECRET}\n"
NETRC_LINES = (f"# mine\nmachine a.example.com\n  login ada\n  password {SECRET}\n"
               f"default login anonymous password {SECRET}\n")

LEAKS = {
    "plist-xml": ("application/xml", PLIST),
    "plist-text-xml": ("text/xml", PLIST),
    "plist-x-plist": ("application/x-plist", PLIST),
    "plist-plain": ("text/plain", PLIST),
    "plist-octet": ("application/octet-stream", PLIST),
    "plist-bare": ("application/xml",
                   f"<plist><dict><key>password</key><string>{SECRET}</string></dict></plist>"),
    "plist-comment-between": (
        "application/xml",
        f"<plist><dict><key> Password </key><!-- x --><data>{SECRET}</data></dict></plist>"),
    "netrc-plain": ("text/plain", NETRC),
    "netrc-octet": ("application/octet-stream", NETRC),
    "netrc-lines": ("text/plain", NETRC_LINES),
    "netrc-none": (None, NETRC),
    "properties-space": ("text/x-java-properties", f"user ada\npassword {SECRET}\n"),
    "properties-tab": ("text/x-java-properties", f"password\t{SECRET}\n"),
    "properties-equals": ("text/x-java-properties", f"# db\npassword = {SECRET}\n"),
    "properties-colon": ("text/x-java-properties", f"password:{SECRET}\n"),
    "properties-plain-space": ("text/plain", f"# db\nuser ada\npassword {SECRET}\n"),
    "properties-plain-tab": ("text/plain", f"password\t{SECRET}"),
    "properties-octet": ("application/octet-stream", f"user=ada\r\npassword  {SECRET}\r\n"),
}


@pytest.mark.parametrize("shape", LEAKS)
def test_the_value_after_a_denied_key_is_hidden(shape: str) -> None:
    mime, body = LEAKS[shape]
    for text in _texts(body, mime):
        assert SECRET not in text, text
        assert "REDACTED" in text


KEPT = {
    "prose": ("text/plain", "the password is wrong\n"),
    "prose-lines": ("text/plain", "Hello,\nyour password is wrong.\nTry again\n"),
    # ("machine learning password hints" is a netrc's syntax whole, and is read so.)
    "prose-machine": ("text/plain", "machine learning makes password cracking faster\n"),
    "prose-properties": ("text/plain", "password\nis wrong\nagain please\n"),
    # ("password: kept\n" as text/plain was here: a YAML pair, hidden since hostile51.)
    "properties-prose-colon": ("text/plain", "your password: kept\n"),
    "prose-octet": ("application/octet-stream", "reset your password now please"),
    "xml-key-not-plist": ("application/xml",
                          "<doc><key>password</key><string>kept</string></doc>"),
    "xml-ordinary": ("application/xml", "<doc><name>password</name><v>kept</v></doc>"),
    "html": ("text/html", "<p><b>password</b> <i>kept</i></p>"),
    "plist-other-key": ("application/xml",
                        "<plist><dict><key>user</key><string>kept</string></dict></plist>"),
    "properties-other": ("text/x-java-properties", "user kept\n"),
    "sql": ("text/plain", "INSERT INTO users (name, password) VALUES ('ada', 'kept')"),
}


@pytest.mark.parametrize("shape", KEPT)
def test_prose_and_ordinary_markup_stay_as_written(shape: str) -> None:
    mime, body = KEPT[shape]
    for text in _texts(body, mime):
        assert text == body


def test_a_plist_keeps_its_other_values_and_structure() -> None:
    [text, _] = _texts(PLIST, "application/xml")
    assert text == PLIST.replace(SECRET, "[REDACTED 10]")


def test_a_netrc_keeps_its_machine_and_login() -> None:
    [text, _] = _texts(NETRC, "text/plain")
    assert text == NETRC.replace(SECRET, "[REDACTED 10]")


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_any_text_is_read_without_raising(text: str) -> None:
    for mime in ("text/plain", "text/x-java-properties", "application/x-plist"):
        _texts("machine " + text, mime)
        _texts(text + "\npassword x", mime)
        _texts("<plist><dict><key>password</key>" + text, mime)


@pytest.mark.parametrize("shape", ["plist-plain", "netrc-plain", "properties-space"])
def test_through_a_flask_app_and_the_collector(collector: Collector, shape: str) -> None:
    mime, body = LEAKS[shape]
    assert mime is not None
    sent = json.dumps(logged_echo(collector, body.encode(), mime))
    assert SECRET not in sent
    assert "REDACTED" in sent
