"""review145: an adversary's read of what landed between d799312e and e0c24c0a.

1. hostile55 made a backslash part of a body URL's user (``http://a\\da:pw@host/``), so
   JSON's short escapes of a blank (``\\n``, ``\\r``, ``\\t``: what every JSON writer
   sends for a newline, ``ensure_ascii`` or not) no longer end the authority: the prose
   ``"https://example.com\\nada@example.com"`` (a website, a newline, an address) had
   the host and the address's user hidden as a user alone (``https://%5BREDACTED%2016%5D
   @example.com``), the same harm review144 fixed for ``\\u3000``. A user alone holding
   a backslash is now kept (no token holds one: :data:`_NO_TOKEN`); a password after a
   backslash user (``CORP\\nancy:pw@``) stays hidden.
2. A raw text's domain user ``http://CORP\\user:<password>@host/``: the raw reading's
   user stopped at ``\\u`` (kept for a Unicode escape, ``\\u002f``), the escaped
   reading found no escape there, and the password was sent in clear. A backslash
   before a ``u`` that starts no ``\\uXXXX`` is the user's now.
3. (Left open here, fixed by hostile56.) An escaped user beside a lone backslash in the
   password (``DOM\\u00e9x:s3cret99\\x@host``) was sent in clear.
"""

from __future__ import annotations

import json

import pytest

from readme_metrics.har.redaction import Redactor
from readme_metrics.har.text_userinfo import userinfo_hidden_in
from tests.support.exchanges import logged_bodies

DENY = Redactor(["password"])


@pytest.mark.parametrize("blank", ["\n", "\r\n", "\t", "\n\n", "\f"])
def test_a_json_escaped_newline_between_a_website_and_an_address_is_kept(
        blank: str) -> None:
    """Failed before: the host and the address's user hidden whole (5 of 5)."""
    written = json.dumps({"t": f"Site: https://example.com{blank}Mail: ada@example.com"})
    assert userinfo_hidden_in(written) == written
    bare = json.dumps({"t": f"https://example.com{blank}ada@example.com"})
    assert userinfo_hidden_in(bare) == bare
    assert logged_bodies(bare, "application/json", DENY)[1] == bare


@pytest.mark.parametrize("text", [
    json.dumps({"t": "https://ada:pw1234@example.com\nbob@example.com"}),
    "http://CORP\\nancy:pw1234@host/",
    json.dumps({"u": "http://CORP\\nancy:pw1234@host/"}),
])
def test_a_password_beside_a_json_escape_stays_hidden(text: str) -> None:
    """Guards (passed before): the password hidden, the rest as sent."""
    shown = userinfo_hidden_in(text)
    assert "pw1234" not in shown and "%5BREDACTED%206%5D" in shown, shown
    assert shown == text.replace("pw1234", "%5BREDACTED%206%5D")


# 2. A backslash user before a "u" that starts no Unicode escape --------------------------

@pytest.mark.parametrize("text", [
    "http://CORP\\user:s3cret99@host/",
    "see smb://DOM\\ursula:s3cret99@fileserver/share",
    "http://CORP\\u12:s3cret99@host/",
])
def test_a_domain_users_password_is_hidden(text: str) -> None:
    """A raw text's ``CORP\\user:<password>@``: the raw reading's user stopped at ``\\u``
    (kept for a Unicode escape), and the escaped one reads no escape there: the password
    sent in clear. Failed before (3 of 3)."""
    shown = userinfo_hidden_in(text)
    assert shown == text.replace("s3cret99", "%5BREDACTED%208%5D"), shown
    assert logged_bodies(text, "text/plain", DENY)[1] == shown


# 3. An escaped user beside a raw backslash in the password (hostile56) -------------------

@pytest.mark.parametrize("text", [
    "see https://DOM\\u00e9x:s3cret99\\x@host/p",
    "x smb:\\/\\/DOM\\u00e9x:s3cret99\\@@host\\/p",
])
def test_an_escaped_user_with_a_backslash_password(text: str) -> None:
    """The raw reading's user stops at a Unicode escape, the escaped reading's password
    took no lone backslash: sent in clear. A strict xfail till hostile56 (2 of 2 failed
    before): the escaped reading takes a backslash no JSON escape starts (``\\x``,
    ``\\@``)."""
    shown = userinfo_hidden_in(text)
    assert shown == text.replace("s3cret99\\x", "%5BREDACTED%2010%5D").replace(
        "s3cret99\\@", "%5BREDACTED%2010%5D"), shown
    assert logged_bodies(text, "text/plain", DENY)[1] == shown
