"""speed9: a Cookie header naming no denied cookie skips the per-cookie redaction (one
look at the whole value, :meth:`Redactor.may_deny`), and a cookie record holding no ","
skips :func:`_request_cookie_value`: the same output as asking cookie by cookie, whatever
the header and the lists (hostile18's leak stays closed: see test_hostile18_findings)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from readme_metrics.har.cookies import request_cookies
from readme_metrics.har.headers import (
    _REQUEST_COOKIE,
    _without_redacted_cookies,
    cookies_redacted,
    headers,
)
from readme_metrics.har.redaction import Redactor
from readme_metrics.har.redaction_marks import redacted
from readme_metrics.har.redaction_names import folded_name
from readme_metrics.masking import mask

SECRET = "s3cr3t-cookie-value-9876"

# Characters that fold otherwise than they lower, or not at all to themselves: the Kelvin
# sign (lowers to "k"), sharp s ("ss" case-folded), capital sharp s, sigma in its three
# forms, dotted capital I (lowers to two characters), a byte order mark (no part of a
# name); then what a cookie header and a bracketed or dotted name are made of.
_ALPHABET = "aAkKsSpPwW\u212a\u00df\u1e9e\u03a3\u03c3\u03c2\u0130i\ufeff[]._0 ,;=-\x00\u00e9"
_TEXT = st.text(_ALPHABET, max_size=6)


def _slow_record_value(name: str, value: str, redactor: Redactor) -> str:
    """A request cookie record's value as 2f1f2f1 made it, asking cookie by cookie."""
    if "," in name and redactor.redacts(name.rpartition(",")[2].strip()):
        return redacted(value)
    if "," in value and not redactor.redacts(name):
        value = cookies_redacted(value, redactor.redacts)
    return redacted(value) if redactor.redacts(name) else mask(value)


def _slow_records(cookies: str, redactor: Redactor) -> list[dict[str, str]]:
    out = []
    for part in cookies.split(";"):
        name, equals, value = part.partition("=")
        name, value = (name.strip(), value.strip()) if equals else ("", name.strip())
        if name or value:
            out.append({"name": name, "value": _slow_record_value(name, value, redactor)})
    return out


@st.composite
def _lists_and_header(draw: st.DrawFn) -> tuple[list[str], list[str], str]:
    entries = draw(st.lists(_TEXT, min_size=1, max_size=4))
    allow = draw(st.lists(_TEXT, max_size=2))
    # Names spelled as a client may: an entry as it is, in other cases, after a byte
    # order mark, as a bracketed name's segment, or text of the same characters.
    spelled = st.sampled_from(entries).flatmap(lambda entry: st.sampled_from([
        entry, entry.upper(), entry.lower(), entry.casefold(), entry.swapcase(),
        "\ufeff" + entry, f"x[{entry}]", f"{entry}[0]", entry.replace(".", "]["),
    ]))
    names = st.one_of(spelled, _TEXT)
    cookies = draw(st.lists(st.tuples(names, st.sampled_from(["=", "= ", "", "=="]),
                                      st.just(SECRET) | _TEXT,
                                      st.sampled_from([";", "; ", ",", ", ", ";;"])),
                            max_size=6))
    header = "".join(f"{name}{equals}{value}{glue}" for name, equals, value, glue in cookies)
    return entries, allow, header


@settings(max_examples=300, deadline=None)
@given(_lists_and_header())
@example((["pass\u00df"], [], "PASSSS=" + SECRET))
@example((["key"], [], "\u212aEY=" + SECRET))
@example((["user.token"], [], "user[token]=" + SECRET))
@example((["\u03c3x"], [], "\u03a3X=" + SECRET))
def test_the_fast_path_is_the_slow_one(case: tuple[list[str], list[str], str]) -> None:
    entries, allow, header = case
    for redactor in (Redactor(denylist=entries), Redactor(denylist=entries, allowlist=allow)):
        # The prefilter misses no name folded_name's folding would match ...
        denied = [match.group(1).strip() for match in _REQUEST_COOKIE.finditer(header)
                  if redactor.denies(match.group(1).strip())]
        denied += [part.partition("=")[0].strip() for part in header.split(";")
                   if redactor.denies(part.partition("=")[0].strip())]
        assert not denied or redactor.may_deny(header), (denied, entries)
        # ... so the header and the records are those asked cookie by cookie.
        assert _without_redacted_cookies("Cookie", header, redactor) == cookies_redacted(
            header, redactor.denies)
        assert request_cookies(header, redactor) == _slow_records(header, redactor)


@pytest.mark.parametrize(("entry", "name"), [
    pytest.param("password", "password", id="as-is"),
    pytest.param("password", "PassWord", id="other-case"),
    pytest.param("key", "\u212aey", id="kelvin-sign"),
    pytest.param("pass\u00df", "PASSSS", id="sharp-s-case-folded"),
    pytest.param("pass\u00df", "PASS\u1e9e", id="capital-sharp-s"),
    pytest.param("\u03c3\u03b1", "\u03a3\u0391", id="capital-sigma"),
    pytest.param("password", "\ufeffpassword", id="byte-order-mark"),
    pytest.param("token", "user[token]", id="bracketed-segment"),
    pytest.param("user.token", "user[token]", id="bracketed-path"),
])
@pytest.mark.parametrize("glue", [";", ","])
def test_a_denied_name_however_spelled_is_seen_by_the_prefilter(
        entry: str, name: str, glue: str) -> None:
    redactor = Redactor(denylist=[entry])
    assert redactor.denies(folded_name(name))
    header = f"a=1{glue} {name}={SECRET}{glue}b=2"
    assert redactor.may_deny(header)
    assert SECRET not in _without_redacted_cookies("Cookie", header, redactor)
    assert all(SECRET[-4:] not in record["value"]
               for record in request_cookies(header, redactor))


@pytest.mark.parametrize("lists", [
    pytest.param({"denylist": ["password", "token"]}, id="denylist"),
    pytest.param({"allowlist": ["session"]}, id="allowlist-only"),
])
def test_a_header_naming_no_denied_cookie_is_looked_at_once(lists: dict[str, list[str]]) -> None:
    redactor = Redactor(**lists)
    header = "session=8c1f0e2d; theme=dark; _ga=GA1.2.3333.4444, x=1"
    assert not redactor.may_deny(header)
    assert _without_redacted_cookies("Cookie", header, redactor) is header


# -- headers(): a plain header the lists leave as it is, learned per redactor -------------

_HEADER_NAMES = st.sampled_from([
    "Host", "Accept", "User-Agent", "X-Request-Id", "x_request_id", "X-Api-Key", "Password",
    "pass_word", "PASS-WORD", "Token", "X-Token", "Cookie", "Authorization", "Referer",
    "Link", "Content-Type", "X-Documentation-Url", "x-b3", "\u212aey", "Sec-WebSocket-Protocol",
]) | st.text("aAkKsSpP\u212a\u00df-_", min_size=1, max_size=6)
_HEADER_VALUES = st.sampled_from([
    "plain", '{"password": "hunter2", "a": 1}', '["token", "x"]', "https://u:p@h/?token=1",
    "a=1; password=" + SECRET, "/logs/abc", "{", "",
]) | st.text(max_size=8)
_ENTRIES = st.lists(st.sampled_from(["password", "pass-word", "pass_word", "token", "key",
                                     "x-request-id", "user-agent", "a", "x-documentation-url"])
                    | _TEXT, max_size=3)


class _Unlearned(set):  # type: ignore[type-arg]
    """A passed_names that learns nothing: the lists are asked about every header."""

    def add(self, name: str) -> None:
        pass


def _asked_every_time(pairs: list[tuple[str, str]], lists: dict[str, list[str]]) -> Any:
    """headers() for a redactor that learns no plain name: the lists asked every time."""
    redactor = Redactor(**lists)
    redactor.passed_names = _Unlearned()
    return headers(pairs, redactor, own="/logs/abc")


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_HEADER_NAMES, _HEADER_VALUES), max_size=8), _ENTRIES, _ENTRIES,
       st.lists(st.tuples(_HEADER_NAMES, _HEADER_VALUES), max_size=8))
def test_a_header_learned_plain_is_what_the_lists_made_of_it(
        first: list[tuple[str, str]], deny: list[str], allow: list[str],
        then: list[tuple[str, str]]) -> None:
    """Asked about every header, or taking the names learned (in the same call, or an
    earlier one with other values): the same headers, whatever the names, values and
    lists; a value opening as JSON in a learned header is still redacted key by key."""
    for lists in ({"denylist": deny}, {"denylist": deny, "allowlist": allow}):
        learned = Redactor(**lists)
        for pairs in (first, then, then + first, first + then):
            assert headers(pairs, learned, own="/logs/abc") == _asked_every_time(pairs, lists)


def test_a_learned_plain_header_holding_a_denied_json_key_is_redacted() -> None:
    redactor = Redactor(denylist=["password"])
    headers([("X-Meta", "plain")], redactor)
    assert "X-Meta" in redactor.passed_names
    out, _ = headers([("X-Meta", '{"password": "' + SECRET + '"}')], redactor)
    assert SECRET not in out[0]["value"]


def test_a_name_learned_by_one_redactor_is_asked_of_another() -> None:
    """Each redactor learns its own: X-Meta learned plain under one list is still
    redacted by a list naming it (the names were a module map keyed by redactor)."""
    headers([("X-Meta", "plain")], Redactor(denylist=["a"]))
    redactor = Redactor(denylist=["x-meta"])
    out, _ = headers([("X-Meta", SECRET)], redactor)
    assert SECRET not in out[0]["value"] and "X-Meta" not in redactor.passed_names

