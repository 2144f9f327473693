"""review146: an adversary's read of what landed between d799312e and 6808c3d1.

1. hostile55 made a backslash part of a body URL's user (``http://a\\da:pw@host/``) and
   review145 kept a user alone holding one (JSON's ``\\n`` between a website and an
   address). A website, JSON's escape of a newline or tab, then a label with its ``:``
   and an address (``"Docs: https://example.com\\nSupport:ada@example.com"``, a TSV
   row's ``https://ada.dev\\tnote:hi\\tada@example.com``, a log's ``\\nat=10:00\\n``)
   still read as one userinfo: the user ``example.com\\nSupport``, the password ``ada``
   hidden (the address's user gone) and, the user 20 characters or more, the website's
   host masked as a token. d799312e kept them (a backslash ended the authority). A user
   whose text before its backslash reads as a host (holds a ``.``) and whose backslash
   starts JSON's escape of a blank (``\\n``, ``\\r``, ``\\t``, ``\\f``) ends there now: no
   userinfo. A domain user (``CORP\\nancy:pw@``, no ``.``) keeps its password hidden, as
   a backslash before another letter (``corp.example\\ada:pw@``) does.
"""

from __future__ import annotations

import json

import pytest

from readme_metrics.har.redaction import Redactor
from readme_metrics.har.text_userinfo import userinfo_hidden_in
from tests.support.exchanges import logged_bodies

DENY = Redactor(["password"])


@pytest.mark.parametrize("text", [
    "Docs: https://example.com\nSupport:ada@example.com",
    "https://example.com\r\nFrom:ada@example.com",
    "https://example.com\nAda:ada@example.com",
    "url=https://example.com\nts=2024-01-01T10:00:00Z\nuser=ada@example.com",
    "site\tnote\temail\nhttps://example.com\tcall:am\tada@example.com",
    "Ada\thttps://ada.dev\tnote:hi\tada@example.com",
    "\u30b5\u30a4\u30c8:https://example.com\n\u30e1\u30fc\u30eb:ada@example.com",
    "https://10.0.0.1\fto:ada@example.com",
], ids=["label", "crlf", "name", "log", "tsv", "tsv-row", "japanese", "ip-formfeed"])
@pytest.mark.parametrize("ascii_only", [True, False], ids=["ascii", "utf8"])
def test_a_json_escaped_blank_after_a_host_ends_its_authority(text: str,
                                                              ascii_only: bool) -> None:
    """Failed before (15 of 16: the japanese row passed with ensure_ascii, its \\u
    escapes ending the user): the address's user hidden as a password, the host
    masked when the user was long. d799312e kept all 16."""
    written = json.dumps({"t": text}, ensure_ascii=ascii_only)
    assert userinfo_hidden_in(written) == written
    assert logged_bodies(written, "application/json", DENY)[1] == written


@pytest.mark.parametrize("text", [
    "http://CORP\\nancy:pw1234@host/",  # a domain user, written raw
    json.dumps({"u": "http://CORP\\nancy:pw1234@host/"}),
    json.dumps({"u": "http://corp.example\\nancy:pw1234@host/"}),  # JSON's \\: a backslash
    "http://corp.example\\ada:pw1234@host/",  # no escape of a blank
    json.dumps({"t": "https://example.com\nhttps://ada:pw1234@example.com"}),
    json.dumps({"t": "https://ada:pw1234@example.com\nbob@example.com"}),
])
def test_a_password_beside_a_backslash_stays_hidden(text: str) -> None:
    """Guards (passed before): the password hidden, the rest as sent."""
    shown = userinfo_hidden_in(text)
    assert shown == text.replace("pw1234", "%5BREDACTED%206%5D"), shown
