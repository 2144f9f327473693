"""hostile66: hostile input's costs and losses that hostile61-65 left.

(1) A text body's escapes read for a denied name (:mod:`readme_metrics.har.redaction_escapes`)
    called a Python function for each escape: a MiB of ``http\\u003aa:b\\u0040 `` under a
    denylist cost ~280 ms of CPU on the worker, the GIL held (~1,100 to 2,400 calls a
    KiB). Now split in C, each distinct escape read once in C's loops; the reading is
    the old one's, character for character (a differential against it below).
(2) Once one log's Set-Cookie values had read their budget (16 KiB,
    :data:`readme_metrics.har.header_reading.MOST_READ`), the next Set-Cookie that may
    hold a URL's ``@`` was hidden whole: its HAR cookie lost its name, path, expires and
    flags. Now its value alone is hidden; its name and attributes are kept unless they
    may hold an ``@`` themselves (then hidden, as before).
(3) ``https:%2F%2Fada@h`` (a special scheme's ``//`` percent-encoded: a WHATWG parser reads
    the user ``%2F%2Fada``) had its user hidden, where ``https://ada@h``, ``https:/ada@h``
    and ``http:%5C%5Cada@h`` keep it: a user alone is kept when it reads as a user name
    (docs/BODIES.md, hostile54/55), and ``ada`` does.
"""

from __future__ import annotations

import json
import re
import tracemalloc
from typing import Any, Optional

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from readme_metrics.har import redaction_escapes
from readme_metrics.har.build import build_entry
from readme_metrics.har.header_reading import MOST_READ
from readme_metrics.har.header_urls import url_header_hidden
from readme_metrics.har.redaction import Redactor
from readme_metrics.har.redaction_escapes import spelled
from readme_metrics.har.text_userinfo import userinfo_hidden_in
from tests.support.exchanges import logged_bodies, make_exchange
from tests.support.work_count import calls, text_calls_per_kib

SECRET = "Zq8h22Xw3K"
DENY = Redactor(["password"])
_SETTINGS = settings(max_examples=300, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.too_slow])


# (1) Escapes read in C ---------------------------------------------------------------------

def _old_character(escape: re.Match[str]) -> str:
    """redaction_escapes._character as it was at e72ce17a: the oracle."""
    named = escape.group(8)
    if named is not None:
        return redaction_escapes._NAMED[named]
    if escape.group()[0] == "%":
        decoded = chr(int(escape.group(9), 16))
        spells = decoded.isascii() and decoded.isalnum() or (
            decoded in redaction_escapes._NAME_MARKS)
        return decoded if spells else escape.group()
    number = next(at for at in range(1, 8) if escape.group(at) is not None)
    code = int(escape.group(number), redaction_escapes._BASES[number - 1])
    if 0x20 < code < 0x7F or code <= 0x10FFFF and chr(code).isalpha():
        return chr(code)
    return escape.group()


def _old_spelled(text: str, percent: bool) -> Optional[str]:
    """redaction_escapes.spelled as it was at e72ce17a: a Python call per escape."""
    percent = percent and "%" in text
    if not (percent or "\\" in text or "&" in text):
        return None
    pattern = redaction_escapes._ESCAPE if percent else redaction_escapes._NOT_PERCENT
    reading = pattern.sub(_old_character, text)
    return None if reading == text else reading


#: Escapes and their near misses: surrogate pairs and lone surrogates, beyond Unicode,
#: controls, octal past 0o377, references without ";", invalid ones, and their pieces.
_PIECES = st.sampled_from([
    "\\x70", "\\x0a", "\\x7F", "\\xZZ", "\\u{70}", "\\u{110000}", "\\u{d800}", "\\u{1F600}",
    "\\u0070", "\\ud83d", "\\ude00", "\\ud83d\\ude00", "\\uDFFF", "\\U0001F600",
    "\\U00110000", "\\UFFFFFFFF", "\\160", "\\400", "\\777", "\\012", "\\8", "&#119;",
    "&#119", "&#1234567;", "&#12345678", "&#0;", "&#x77;", "&#X77", "&#xD800;",
    "&#xFFFFFF;", "&#x110000", "&quot;", "&QUOT;", "&colon;", "&apos", "&amp;", "&lowbar;",
    "%41", "%3f", "%3F", "%25", "%0a", "%e9", "%7e", "%2d", "%", "&", "\\", "&#", "\\u",
    "\\u{", "\\U", ";", "}", "0", "7", "f", "x", "é", "\ud800", "\U0001F600", "pass", "word",
    "=", " ",
])
_MIXES = st.lists(_PIECES | st.text(max_size=3), max_size=24).map("".join)


@_SETTINGS
@given(_MIXES, st.booleans())
@example("http\\u003aa:b\\u0040 " * 3, False)
@example("\\ud83d\\ude00&#xD800;\\u{110000}%41%0a", True)
def test_the_escapes_read_as_the_old_reading_did(text: str, percent: bool) -> None:
    """Read in pieces as a long text is (cut each few characters here), the same."""
    old = _old_spelled(text, percent)
    piece = redaction_escapes._PIECE
    try:
        for redaction_escapes._PIECE in (piece, 1, 5):
            assert spelled(text, percent) == old
    finally:
        redaction_escapes._PIECE = piece


@pytest.mark.parametrize("unit", [
    pytest.param("http\\u003aa:b\\u0040 ", id="hostile66"),
    pytest.param("\\x70", id="hex"),
    pytest.param("&#119;", id="reference"),
    pytest.param("%41", id="percent"),
    pytest.param("pass&#119;or\\x64 ", id="near-name"),
])
def test_a_text_of_escapes_costs_no_call_each(unit: str) -> None:
    """256 KiB of one escape repeated: a few calls for each 32 KiB piece (1,100 to 2,400
    a KiB before)."""
    assert text_calls_per_kib(lambda text: spelled(text, True), unit) <= 4


def test_distinct_escapes_cost_no_call_each() -> None:
    """256 KiB of escapes none alike (``&#1;&#2;...``, ``\\u{100}...``): each read in C's
    loops, no Python call each (~2,000 calls a KiB before)."""
    text = ("".join(f"&#{at};\\u{{{at:x}}}%{at % 256:02x}" for at in range(1, 40000))
            )[:256 * 1024]
    spelled(text[:2048], True)
    assert calls(lambda: spelled(text, True), ("call", "c_call")) / 256 <= 4


def test_a_long_text_of_escapes_is_read_in_memory_of_a_few_copies() -> None:
    """Split at once, a MiB of ``\\x70`` took 24 MiB at its peak: read in pieces."""
    text = "\\x70" * (1 << 18)
    spelled(text[:100], True)
    tracemalloc.start()
    try:
        assert spelled(text, True) == "p" * (1 << 18)
        assert tracemalloc.get_traced_memory()[1] < 4 * len(text)
    finally:
        tracemalloc.stop()


def test_the_hostile66_body_costs_few_calls_a_kib() -> None:
    """The body of the report, text/plain under a denylist, built as a request's and a
    response's: within hostile61's bound for a text (150 calls a KiB; ~1,200 before)."""
    text = ("http\\u003aa:b\\u0040 " * 13200)[:256 * 1024]
    logged_bodies(text[:2048], "text/plain", DENY)
    assert calls(lambda: logged_bodies(text, "text/plain", DENY),
                 ("call", "c_call")) / (2 * 256) <= 150


# (2) A Set-Cookie past the budget keeps its name and attributes ----------------------------

#: A first Set-Cookie that spends one log's budget (more than MOST_READ of URLs).
_SPENDING = ("Set-Cookie", "big=" + "h://x@" * (MOST_READ // 6 + 10))
_ATTRIBUTES = "; Path=/app; Domain=example.com; Expires=Wed, 21 Oct 2026 07:28:00 GMT; " \
              "HttpOnly; Secure; SameSite=Lax"


def _cookies(*set_cookies: str, spent: bool = True,
             redactor: Optional[Redactor] = DENY) -> list[dict[str, Any]]:
    headers = [("Content-Type", "text/plain")] + ([_SPENDING] if spent else []) + [
        ("Set-Cookie", value) for value in set_cookies]
    entry = build_entry(make_exchange(response_headers=headers), redactor)
    assert SECRET not in json.dumps(entry)
    return entry["response"]["cookies"][1 if spent else 0:]


@pytest.mark.parametrize("redactor", [DENY, None], ids=["deny", "no-lists"])
@pytest.mark.parametrize("value", [
    "next=https%3A%2F%2Fada%3A" + SECRET + "%40h",
    "next=https://ada:" + SECRET + "@h/",
    "u=https:ada:" + SECRET + "\\u0040h",
])
def test_a_set_cookie_past_the_budget_keeps_its_name_and_attributes(
        value: str, redactor: Optional[Redactor]) -> None:
    [cookie] = _cookies(value + _ATTRIBUTES, redactor=redactor)
    assert cookie["name"] == value.partition("=")[0]
    assert cookie["path"] == "/app" and cookie["domain"] == "example.com"
    assert cookie["expires"] == "2026-10-21T07:28:00.000Z"
    assert cookie["httpOnly"] is True and cookie["secure"] is True


@pytest.mark.parametrize("header, field", [
    pytest.param("https%3A%2F%2Fada%3A" + SECRET + "%40h=x; Path=/app; HttpOnly", "name",
                 id="name"),
    pytest.param("n=https://a:b@h; Path=/" + SECRET + "@h; HttpOnly", "path", id="path"),
    pytest.param("n=https://a:b@h; Domain=" + SECRET + "%40h; HttpOnly", "domain",
                 id="domain"),
    pytest.param("n=https://a:b@h; Path=/; Exp\\u0040" + SECRET + "; HttpOnly", None,
                 id="attribute-name"),
])
def test_a_part_past_the_budget_holding_an_at_stays_hidden(header: str,
                                                           field: Optional[str]) -> None:
    """A name, Path or Domain that may hold a URL's ``@`` (``text_userinfo.may_hold_at``)
    is not read past the budget: hidden (the secret checked absent in _cookies)."""
    [cookie] = _cookies(header)
    assert cookie["httpOnly"] is True
    if field == "name":
        assert cookie["name"].startswith("[REDACTED") and cookie["path"] == "/app"
    elif field == "path":
        assert "path" not in cookie and cookie["name"] == "n"
    elif field == "domain":
        assert cookie["domain"].startswith("[REDACTED") and cookie["name"] == "n"


_NAMES = st.sampled_from(["sid", "next", "__Host-x", "a.b", "PHPSESSID"])
_ATTRIBUTE = st.sampled_from([
    "Path=/", "Path=/app/x", "Path=api", "Domain=example.com", "Domain=", "HttpOnly",
    "Secure", "Max-Age=60", "Max-Age=-1", "Expires=Thu, 01 Jan 1970 00:00:00 GMT",
    "Expires=Wed, 21 Oct 2026 07:28:00 GMT", "SameSite=Strict", "Priority=High", "odd",
])
_VALUES = st.sampled_from(["https://ada:" + SECRET + "@h/", "x%40" + SECRET + ":y",
                           SECRET + "\\u0040h", "mailto:" + SECRET + "@h"])


@settings(_SETTINGS, max_examples=60)
@given(_NAMES, _VALUES, st.lists(_ATTRIBUTE, max_size=5))
def test_a_set_cookie_past_the_budget_reads_as_one_within_it_but_its_value(
        name: str, value: str, attributes: list[str]) -> None:
    """Past the budget a cookie whose name and attributes hold no ``@`` is the cookie
    read within it, its value aside (hidden whole, then masked, either way)."""
    header = "; ".join([name + "=" + value] + attributes)
    [past] = _cookies(header)
    [within] = _cookies(header, spent=False)
    assert {**past, "value": ""} == {**within, "value": ""}


# (3) A user alone after a percent-encoded "//" ---------------------------------------------

_USERS = ["ada", "git", "ec2-user", "john.doe", "Admin", "Zq8h22Xw", "ADMIN", "a1b2c3d4",
          "deadbeef", "ghp_" + SECRET * 3]


@pytest.mark.parametrize("user", _USERS)
@pytest.mark.parametrize("slashes", ["%2F%2F", "%2f%2F", "%2F", "/%2F"])
def test_a_user_after_an_encoded_double_slash_reads_as_after_one(user: str,
                                                                 slashes: str) -> None:
    """Kept when ``https://<user>@h/`` keeps it (a user name), hidden or masked when that
    hides or masks it (a token)."""
    kept = user in userinfo_hidden_in("see https://" + user + "@h/x")
    for text in ("see https:" + slashes + user + "@h/x",):
        assert (user in userinfo_hidden_in(text)) is kept
        assert (user in url_header_hidden("https:" + slashes + user + "@h/x")) is kept
        assert (user in logged_bodies(text, "text/plain", DENY)[1]) is kept


def test_the_hostile66_user_is_kept() -> None:
    assert userinfo_hidden_in("https:%2F%2Fada@h") == "https:%2F%2Fada@h"
    assert "ada" not in userinfo_hidden_in("https:%2F%2Fada:ada@h").rpartition(":")[2]
