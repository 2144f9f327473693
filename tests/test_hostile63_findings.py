"""hostile63: URL passwords hostile61 and hostile62 left, in headers, cookies and texts.

(1) A URL nested in a URL header's query or fragment (``Referer:
    https://site/p?next=https://ada:pw@h/x``, the nested URL percent-encoded, encoded
    twice, escaped): with no lists its password was sent. A URL header's password is
    hidden always (hostile52); so is one nested in it now, in any spelling. Its query's
    keys follow the lists as the request's query's do (SPEC 6): a denylist masks a denied
    key in it, also in a value wholly percent-encoded (``https%3A%2F%2Fsite%2Fp%3Ftoken
    %3D...``, sent before: no ``?`` as written); the allowlist as before.
(2) A URL header's value that is no URL as written but that a client reads as one holding
    a userinfo: ``ada:pw@h`` and ``a\\b:1234\\pw@h`` (curl reads ``http://`` before it),
    ``http:ada:pw@h``, ``http:\\\\ada:pw@h/``, ``http:/ada:pw@h`` (a WHATWG parser reads a
    special scheme's authority after any slashes and backslashes): sent. And a Windows
    domain's user with a password, schemeless, in a text (``CORP\\ada:pw@proxy``, JSON's
    ``CORP\\\\ada``): sent in a body with a denylist.
(3) A placeholder's camel parts (hostile62's rule): checked, consistent; guards.
(4) A cookie's name, a Set-Cookie's Path or Domain holding a URL whose ``@`` is written
    ``\\u0040``, ``%2540`` or ``%5Cu0040``: the cookies' gate looked for ``@`` and
    ``%40`` alone, and the password was sent (a value is masked: its last four
    characters are the ``@``'s spelling's).
"""

from __future__ import annotations

import json
from typing import Optional
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from readme_metrics.har.build import build_entry
from readme_metrics.har.redaction import Redactor
from readme_metrics.har.text_userinfo import userinfo_hidden_in
from readme_metrics.har.userinfo_placeholder import SECRET_WORDS, is_placeholder
from tests.support.exchanges import logged_bodies, make_exchange
from tests.support.fake_api import Collector

SECRET = "Zq8h22Xw3K"
INNER = f"https://ada:{SECRET}@h/x"
DENY = Redactor(["token"])


def _escaped(url: str) -> str:
    """``url`` with its ``/``, ``:``, ``@`` as JSON's ``\\u`` escapes."""
    return url.replace("/", "\\u002f").replace(":", "\\u003a").replace("@", "\\u0040")


def _entry(request: list[tuple[str, str]], response: Optional[list[tuple[str, str]]] = None,
           redactor: Optional[Redactor] = None) -> dict:
    return build_entry(make_exchange(request_headers=[("Host", "h"), *request],
                                     response_headers=response or []), redactor)


def _values(entry: dict) -> list[str]:
    """Every header value of a built entry, as logged, but Host's."""
    return [item["value"] for part in ("request", "response")
            for item in entry[part]["headers"] if item["name"] != "Host"]


# (1) A URL nested in a URL header's query ---------------------------------------------------

NESTED = {
    "raw": f"https://site/p?next={INNER}&token=abc",
    "encoded": f"https://site/p?next={quote(INNER, safe='')}&token=abc",
    "twice": f"https://site/p?next={quote(quote(INNER, safe=''), safe='')}&token=abc",
    "escaped": f"https://site/p?next={_escaped(INNER)}&token=abc",
    "fragment": f"https://site/p#token=abc&next={INNER}",
    "in-a-value": f"https://site/p?q=see+{INNER}+now&token=abc",
    "schemeless-ref": f"//site/p?next={INNER}&token=abc",
    "relative": f"/p?next={quote(INNER, safe='')}&token=abc",
}


@pytest.mark.parametrize("name", ["Referer", "Content-Location", "X-Original-URL"])
@pytest.mark.parametrize("spelling", sorted(NESTED))
def test_a_url_nested_in_a_url_headers_query_has_its_password_hidden(
        spelling: str, name: str) -> None:
    """With no lists, as the header's own URL's password is. Failed before: 21 of 24 (a
    relative value, no URL as written, was read as a text: hidden)."""
    value = NESTED[spelling]
    logged = _values(_entry([(name, value)], [("Location", value)]))
    assert [text for text in logged if SECRET in text] == [], logged
    assert all("REDACTED" in text for text in logged), logged


@pytest.mark.parametrize("spelling", ["raw", "encoded", "twice"])
def test_a_links_target_nested_url(spelling: str) -> None:
    """A Link's target, read as a URL header's. Failed before: 3 of 3."""
    logged = _values(_entry([], [("Link", f'<{NESTED[spelling]}>; rel="next"')]))
    assert SECRET not in logged[0] and "REDACTED" in logged[0], logged


@pytest.mark.parametrize("spelling", sorted(NESTED))
def test_with_a_denylist_its_keys_are_masked_as_the_request_querys(spelling: str) -> None:
    """Guards (passed before, pass after): a denied key in a URL header's query masked,
    the nested password hidden, as in the request's own url."""
    [logged] = _values(_entry([("Referer", NESTED[spelling])], redactor=DENY))
    assert SECRET not in logged and "abc" not in logged, logged


@pytest.mark.parametrize("value", [
    quote("https://site/p?a=1&token=abc", safe=""),
    quote(quote("https://site/p?a=1&token=abc", safe=""), safe=""),
    quote(f"https://site/p?next={INNER}&token=abc", safe=""),
])
def test_a_wholly_encoded_url_headers_denied_key(value: str) -> None:
    """A URL header's value wholly percent-encoded (no URL as written): its query's denied
    key masked as a query value holding such a URL is (``next=https%3A...%3Ftoken%3D``).
    Failed before: 3 of 3 (``token%3Dabc`` sent)."""
    [logged] = _values(_entry([("Referer", value)], redactor=DENY))
    assert "abc" not in logged and SECRET not in logged, logged


def test_an_allowlist_keeps_spec_semantics() -> None:
    """Guard (passed before, passes after): a URL header the allowlist lists has its
    query's unlisted values redacted (SPEC 6), a listed one kept but its nested URL's
    password, hidden always; one it does not list is hidden whole."""
    value = NESTED["raw"]
    listed = _values(_entry([("Referer", value)], redactor=Redactor(allowlist=["referer"])))
    assert listed == [f"https://site/p?next=%5BREDACTED%20{len(INNER)}%5D&token=%5BREDACTED%203%5D"]
    assert _values(_entry([("Referer", value)], redactor=Redactor(allowlist=["next"]))) == [
        f"[REDACTED {len(value)}]"]


@pytest.mark.parametrize("value", [
    "https://example.com/search?q=a%20b&next=%2Fhome",
    "https://site/?next=https%3A%2F%2Fada%40example.com%2F",  # a user name alone: kept
    "https://site/?next=https://git@github.com/r.git&ref=main",
    "https://site/p?u=ada@example.com&next=https://example.com/a@b",
    "https://ada:%5BREDACTED%2010%5D@h/?next=https://h2/",
    "http://localhost:8080\\a,ada@x.com",
    "mailto:ada@example.com",
    "/p/ada@example.com",
    "about:blank",
])
def test_what_a_url_header_keeps(value: str) -> None:
    """Guards (passed before, pass after): no password anywhere in it."""
    assert _values(_entry([("Referer", value)])) == [value]


# (2) No URL as written, read as one by a client --------------------------------------------

BARE = [
    f"ada:{SECRET}@h", f"ada:{SECRET}@h/x", f"a\\b:1234\\{SECRET}@h",
    f"a\\b:1234\\{SECRET}@h/x", f"CORP\\ada:{SECRET}@proxy:8080",
    f"http:ada:{SECRET}@h", f"http:/ada:{SECRET}@h/", f"http:\\\\ada:{SECRET}@h/",
    f"https:\\\\a\\b:1234\\{SECRET}@h/", f"HTTPS:\\/ada:{SECRET}@h",
]


@pytest.mark.parametrize("value", BARE)
@pytest.mark.parametrize("name", ["Referer", "Location"])
def test_a_url_headers_value_a_client_reads_with_a_userinfo(value: str, name: str) -> None:
    """Hidden, with and without lists. Failed before: 20 of 20 (sent)."""
    for redactor in (None, Redactor(["password"])):
        entry = _entry([(name, value)] if name == "Referer" else [],
                       [(name, value)] if name == "Location" else [], redactor)
        logged = _values(entry)
        assert [text for text in logged if SECRET in text] == [], logged
        assert "REDACTED" in logged[0]


@pytest.mark.parametrize("text", [
    f"proxy CORP\\ada:{SECRET}@proxy.corp:8080 ok",
    f"a\\b:1234\\{SECRET}@h",
    json.dumps({"proxy": f"CORP\\ada:{SECRET}@proxy.corp"}),
    json.dumps([f"a\\b:1234\\{SECRET}@h/x"]),
])
def test_a_domain_users_password_schemeless_in_a_text(text: str) -> None:
    """A body (denylist: the lists govern a body's URL passwords, hostile51) holding a
    Windows domain's user and its password without a scheme. Failed before: 4 of 4."""
    assert SECRET not in userinfo_hidden_in(text)
    for logged in logged_bodies(text, "text/plain", Redactor(["password"])):
        assert SECRET not in logged


@pytest.mark.parametrize("text", [
    "ada:pw@h",  # no backslash: prose's, an address's ("to:ada@x.com")
    "C:\\Users\\ada@example.com",
    "CORP\\ada@h",  # a user alone: kept, as a body's
    "CORP\\ada:8080\\@evil",  # a port then a backslash (hostile59's rule)
    "see C:\\temp\\a:b",
    json.dumps({"path": "C:\\Users\\ada", "mail": "ada@example.com"}),
    "line\\nTime: 10:30 @home",
])
def test_what_a_text_keeps(text: str) -> None:
    """Guards (passed before, pass after)."""
    assert userinfo_hidden_in(text) == text


_WORD = st.text(alphabet="abcXYZ019._-", min_size=1, max_size=8)


@settings(max_examples=400, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(domain=_WORD, user=_WORD, password=st.text(
    alphabet="abcXYZ019:%!$&*()=+,;.-_~\\/?#<>", min_size=1, max_size=12),
       host=st.from_regex(r"[a-z][a-z0-9.\-]{0,10}", fullmatch=True),
       before=st.sampled_from(["", " ", "\n", '"', "x "]), double=st.booleans())
def test_no_domain_users_password_is_sent(domain: str, user: str, password: str, host: str,
                                          before: str, double: bool) -> None:
    """Random domain users, passwords (a port's digits, backslashes, signs) and hosts:
    the secret after the password's own characters is in no output (a closing tag's
    ``</`` ends a password, as the URL readers': HTML's ``x</td>``; one starting with
    ``/`` is a URL's ``://``: userinfo_bare)."""
    assume("</" not in password + SECRET and not password.startswith("/"))
    slash = "\\\\" if double else "\\"
    text = f"{before}{domain}{slash}{user}:{password}{SECRET}@{host}"
    assert SECRET not in userinfo_hidden_in(text), text


# (3) A placeholder's camel parts ------------------------------------------------------------

@pytest.mark.parametrize(("password", "kept"), [
    ("{ByPass}", True), ("${UserPassword}", True), ("{byPass}", True), ("{MyPASSWORD}", True),
    ("{Bypass}", False), ("{BYPASS}", False), ("{PASSword}", False), ("{userPASSword}", False),
    ("{KEYring}", False), ("{KeyRing}", True), ("{AuthorName}", False), ("{AuthOr}", True),
    ("<your-Pass>", True), ("%(myPass)s", True), ("{{ByPass}}", True), ("{Pass1}", False),
])
def test_a_placeholders_camel_parts(password: str, kept: bool) -> None:
    """Guards (passed before, pass after): a name is kept when one of its camel parts
    (a capital's run, or a capital then lowercase letters) is a secret's name whole,
    whatever its place: ``{ByPass}`` as ``${UserPassword}``; hidden when the word is
    glued to another one lowercase (``{Bypass}``) or one run of capitals
    (``{BYPASS}``, ``{PASSword}``: read ``PAS`` ``Sword``, fail closed)."""
    assert is_placeholder(password) is kept


_PART = st.from_regex(r"[A-Z][a-z]{1,6}", fullmatch=True)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(head=st.from_regex(r"[a-z]{0,5}", fullmatch=True), before=st.lists(_PART, max_size=2),
       word=st.sampled_from(sorted(SECRET_WORDS)), after=st.lists(_PART, max_size=2),
       shape=st.sampled_from(["{%s}", "${%s}", "<%s>", "{{ %s }}", "%%(%s)s"]))
def test_a_secret_camel_part_anywhere_is_kept(head: str, before: list[str], word: str,
                                              after: list[str], shape: str) -> None:
    """Guard (passed before, passes after): a name of camel parts one of which is a
    secret's word (capitalised, or first and lowercase) is a placeholder wherever the
    word is; the same word glued lowercase to the part before it is none, when no other
    part names a secret."""
    parts = [head, *before, word.capitalize() if head or before else word, *after]
    assert is_placeholder(shape % "".join(parts))
    glued = [head, *before[:-1], before[-1] + word] if before else [(head or "x") + word]
    if not any(part.lower() in SECRET_WORDS for part in (*glued, *after)):
        assert not is_placeholder(shape % "".join((*glued, *after)))


# (4) Cookies in other spellings ------------------------------------------------------------

URL = f"https://ada:{SECRET}@h/p"
COOKIE_SPELLINGS = {
    "escaped": _escaped(URL),
    "twice": URL.replace("@", "%2540"),
    "escaped-encoded": URL.replace("@", "%5Cu0040"),
    "encoded-escaped": quote(_escaped(URL), safe=""),
}


@pytest.mark.parametrize("lists", ["none", "deny"])
@pytest.mark.parametrize("spelling", sorted(COOKIE_SPELLINGS))
def test_a_cookie_holding_a_url_in_another_spelling(spelling: str, lists: str) -> None:
    """A Cookie's name, a Set-Cookie's name, Path and Domain: hidden. Failed before:
    8 of 8 (the cookie records and the attributes sent it)."""
    url = COOKIE_SPELLINGS[spelling]
    entry = _entry([("Cookie", f"a=1; {url}=2")],
                   [("Set-Cookie", f"s=1; Path=/{url}; Domain={url}"),
                    ("Set-Cookie", f"{url}=1")],
                   Redactor(["password"]) if lists == "deny" else None)
    assert SECRET not in json.dumps(entry), entry["request"]["cookies"]


# Through a real server and collector --------------------------------------------------------

def test_through_a_real_server_and_collector(collector: Collector) -> None:
    """A Referer read as a URL by a WHATWG parser, a cookie named by an escaped URL and a
    Referer with a nested URL encoded twice (the echo app's denylist names none of
    them) POSTed to a Flask app under werkzeug on 127.0.0.1: nothing the collector got
    holds the secret. Failed before (sent)."""
    from tests.support.flask_echo import echo_server, posted_through

    with echo_server(collector) as site:
        for headers in ([("Referer", f"http:\\\\ada:{SECRET}@h/")],
                        [("Cookie", f"a=1; {_escaped(URL)}=2")],
                        [("Referer", f"a\\b:1234\\{SECRET}@h/x")]):
            sent, _ = posted_through(site, headers, "a=1", "text/plain")
            assert SECRET not in sent, headers


# The schemeless reader's worst cases ---------------------------------------------------------

@pytest.mark.parametrize("unit", [
    "a\\b:x@h ", "a\\b:x ", "a\\b:x@-", '"a\\\\b:x@h",', "a\\tb:x\\t"])
def test_the_domain_user_reader_costs_few_calls_a_kib(unit: str) -> None:
    """256 KiB of each: Python and C calls a KiB within hostile61's bound (150): one
    ``finditer`` in C, a call for each match to the cap, the rest hidden unread.
    (Passed before too: no such reader.)"""
    from tests.support.work_count import text_calls_per_kib

    per_kib = text_calls_per_kib(userinfo_hidden_in, unit)
    assert per_kib <= 150, per_kib
