"""hostile57: the userinfo readers' starts found from each ``://`` with an ``@`` ahead
(readme_metrics.har.userinfo_starts) read the same URLs as land55's reading, which tried
each reader at every character and after every sign's escape (``%20https%3A...``): a
differential over generated form, prose and JSON texts, with and without URLs, against
that reading rebuilt here from the readers' own patterns."""

from __future__ import annotations

import heapq
import json
import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.har import text_userinfo
from readme_metrics.har.redaction import Redactor
from readme_metrics.har.text_userinfo import userinfo_hidden_in
from readme_metrics.har.userinfo_starts import (
    ENCODED_SCAN,
    RAW_SCAN,
    SIGN_ESCAPES,
    userinfo_matches,
)
from tests.support.exchanges import logged_bodies

DENY = Redactor(["password"])

# land55's reading (hostile56's _after_signs): the reader from a word's start merged with
# the reader from each scheme after a sign's escape, none overlapping one kept before it.
# (ASCII: review148; a scheme glued to "_", or to digits or signs before its first
# letter, 1https://, starts at that letter: hostile59, read as no URL till then)
_LOOK_BEHIND = r"(?<![A-Za-z0-9+.\-])(?:(?<=%)(?!2[Bb])[0-9+.\-]+|(?<!%)[0-9+.\-]*)"
_SIGN_SCHEME = re.compile(
    r"%[0-9A-Fa-f]{2}(?=[A-Za-z][A-Za-z0-9+.\-]*(?:%2[Bb][A-Za-z0-9+.\-]*)*(?::|%3[Aa])"
    r"(?:\\|%5[Cc])?(?:/|%2[Ff]))")


def _land55(text: str, at: re.Pattern[str]) -> list[tuple[int, int, tuple]]:
    reader = re.compile(_LOOK_BEHIND + at.pattern)
    signs = (at.match(text, sign.end()) for sign in _SIGN_SCHEME.finditer(text)
             if sign[0].upper() in SIGN_ESCAPES)
    kept, out = 0, []
    for found in heapq.merge(reader.finditer(text), (m for m in signs if m is not None),
                             key=lambda m: m.start()):
        if found.start() >= kept:
            kept = found.end()
            lead = len(found[0]) - len(found[0].lstrip("0123456789+.-"))
            out.append((found.start() + lead, found.end(), found.groups()))
    return out


def _now(text: str, scan, at) -> list[tuple[int, int, tuple]]:
    return [(m.start(), m.end(), m.groups()) for m in userinfo_matches(text, scan, at)]


_PIECES = ["https", "http", "HTTPS", "git", "x", "ada", "pw", "Zq8h22Xw3Kab", "host", ".",
           "-", "+", "_", "1", "8080", ":", "%3A", "%3a", "/", "%2F", "%2f", "\\", "%5C",
           "\\/", "@", "%40", "%20", "%2B", "%2b", "%25", "%0A", "%21", "%", "&", "=", "?",
           "#", " ", "\n", '"', "'", "<", ">", "`", "[", "]", "\u00e9", "\\n", "\\u0040",
           "://", "%3A%2F%2F", ":\\/\\/", ",", "10:30", "{user}", "%s"]
_URLS = st.builds(
    lambda scheme, user, colon, password, host, path: (
        f"{scheme}://{user}{colon}{password}@{host}{path}"),
    st.sampled_from(["https", "http", "postgres", "git+ssh", "s3", "HTTPS"]),
    st.sampled_from(["ada", "", "CORP\\ada", "ada@corp.com", "Zq8h22Xw3KabcdEFGHij12"]),
    st.sampled_from([":", ""]),
    st.sampled_from(["pw", "p/w", "p@w", "\\x", "8080", "", "Pa55word!", "%2F1"]),
    st.sampled_from(["host", "[::1]", "h:80", "example.com"]),
    st.sampled_from(["", "/", "/p?q=1"]))
_SPELLED = st.one_of(_URLS, _URLS.map(lambda url: quote(url, safe="")),
                     _URLS.map(lambda url: url.replace("/", "\\/")))
_TEXTS = st.builds(
    lambda parts, body: body("".join(parts)),
    st.lists(st.one_of(st.sampled_from(_PIECES), _SPELLED), min_size=1, max_size=30),
    st.sampled_from([lambda text: text, lambda text: quote(text, safe=""),
                     lambda text: json.dumps({"a": text}),
                     lambda text: "a=1&u=" + quote(text, safe="") + "&b=2"]))


@settings(max_examples=3000, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(_TEXTS)
def test_each_reader_reads_what_land55_read(text: str) -> None:
    assert _now(text, RAW_SCAN, text_userinfo._RAW) == _land55(text, text_userinfo._RAW)
    assert _now(text, ENCODED_SCAN, text_userinfo._ENCODED) == _land55(
        text, text_userinfo._ENCODED)


def test_starts_at_the_text_edges_and_after_an_encoded_plus() -> None:
    for text in ["https://ada:pw@h", "%20https%3A%2F%2Fada%3Apw%40h", "0https://ada:pw@h",
                 "%https://ada:pw@h", "x%2Bhttps://ada:pw@h", "git%2Bssh%3A%2F%2Fa%3Ap%40h",
                 "%2B%20https%3A%2F%2Fa%3Ap%40h", "20https%3A%2F%2Fa%3Ap%40h",
                 "\u00e9https://a:p@h", "a://b://c:d@e", "https%3A%2F%2Fa%3Ab%3A%2F%2Fc%40d"]:
        for at in (text_userinfo._RAW, text_userinfo._ENCODED):
            scan = RAW_SCAN if at is text_userinfo._RAW else ENCODED_SCAN
            assert _now(text, scan, at) == _land55(text, at), text


@pytest.mark.parametrize("text", [
    "https://ada:Pa55\"word!@host/",
    "see https://ada:Pa55\"word!@host/ now",
    "postgres://ada:\"quoted\"pw@db/x",
    "https://ada:pw\\\"1@host/",  # a backslash then a quote
])
def test_a_password_holding_a_json_escaped_quote_is_hidden(text: str) -> None:
    """review146's leftover (c): in a JSON string the quote is ``\\"`` and ended the
    authority: the password went out in clear (4 of 4 failed before)."""
    written = json.dumps({"u": text})
    for logged in (userinfo_hidden_in(written),
                   logged_bodies(written, "application/json", DENY)[1]):
        assert "word!" not in logged and "quoted" not in logged and "pw\\\\" not in logged
        assert "ada:%5BREDACTED" in logged


@pytest.mark.parametrize("value", [
    ["https://example.com", "ada@example.com"],
    {"u": "https://example.com:", "m": "ada@x.com"},
    {"u": "https://example.com:8080", "m": "ada@x.com"},
    "see https://example.com/\", \"ada@example.com",
])
def test_an_escaped_quote_after_a_url_ends_no_more_than_before(value: object) -> None:
    """Guards (passed before): a URL then a quoted address, in JSON or JSON in JSON."""
    for written in (json.dumps(value), json.dumps(json.dumps(value))):
        assert userinfo_hidden_in(written) == written


@pytest.mark.parametrize("text", [
    'url = f"https://{user}:{password}@{host}/"',
    'dsn = "postgres://%s:%s@%s/%s" % (user, password, host, db)',
    'dsn = "postgres://%(user)s:%(password)s@%(host)s/db"',
    "DATABASE_URL=postgres://app:${DB_PASSWORD}@db/x",
])
@pytest.mark.parametrize("spelling", ["text", "json"])
def test_a_code_placeholder_for_the_password_is_kept(text: str, spelling: str) -> None:
    """review146's leftover (b): a placeholder is no secret; it was hidden (8 of 8 failed
    before)."""
    written = text if spelling == "text" else json.dumps({"code": text})
    assert userinfo_hidden_in(written) == written


@pytest.mark.parametrize("text", [
    "https://ada:pw{1}@host/", "https://ada:{password}x@host/", "https://ada:%sx@host/",
    "https://ada:{pass word}@host/", "https://ada:{Pa55!}@host/",
])
def test_a_password_that_is_no_placeholder_stays_hidden(text: str) -> None:
    """Guards (passed before): only a whole placeholder of code is kept."""
    for secret in ("pw{1}", "{password}x", "%sx", "Pa55!"):
        assert secret not in userinfo_hidden_in(text)
