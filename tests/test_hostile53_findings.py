"""hostile53: the shapes hostile51/52 and review141 left.

1. A userinfo in a proxy's header that is no URL: ``Forwarded: for=..;host=ada:...@h``
   and X-Forwarded-For's ``ada:...@10.0.0.1`` were sent in clear; X-Forwarded-Host's
   list read its first element as the second's user (``a.example,%20ada:...``). Each
   element's password is now hidden whole, its user kept, as a URL header's is.
2. A token-long user beside a password (``https://ghp_...:x-oauth-basic@github.com/``)
   was kept in a body while headers masked it: bodies follow the headers' rule through
   :func:`readme_metrics.har.text_userinfo.shown_user`.
3. A URL password holding an unencoded ``/``, ``?``, ``#`` (``https://ada:pa/ss@h/``,
   which curl and browsers take loosely) sent the password: read to the first ``@``
   after it (then to the authority's last) when what follows the ``:`` is no port.
4. XML not at a body's start (prose then ``<password>...</password>``, a SOAP envelope
   logged after a line) was read as text's lines only: sent in clear. A text starting
   as XML after a BOM, blanks, a declaration, a comment was read (hostile51): guards.
5. ``obj[key] = "x"`` with a variable key: left alone (which name a variable holds is
   a program's data flow, and ``obj[key]`` alone names nothing: hiding it next to any
   denied name would hide prose's and code's values that hold none); the literal
   name's reading (``obj[password] = ...``) guarded.

Each reader is linear: 1 MiB worst cases in a child whose CPU is bounded, and the
Python readers' work counted (tests/support/work_count.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Iterator, Optional
from urllib.parse import quote, unquote

import pytest

from readme_metrics.har.build import build_entry
from readme_metrics.har.header_urls import masked_authority
from readme_metrics.har.redaction import Redactor
from readme_metrics.masking import mask
from tests.support.exchanges import logged_bodies, make_exchange
from tests.support.fake_api import Collector
from tests.support.flask_echo import echo_server, posted_through

SECRET = "pw-s3cr3t-Xw3K"
MARK = f"%5BREDACTED%20{len(SECRET)}%5D"
TOKEN = "ghp_0123456789abcdefXw3K0123456789abcdef"
DENY = Redactor(["password"])
LISTS = {"none": None, "deny": DENY}


def _headers(name: str, value: str, redactor: Optional[Redactor]) -> list[str]:
    entry = build_entry(make_exchange(
        url="http://api.example.com/v1",
        request_headers=[("Host", "api.example.com"), (name, value)]), redactor)
    assert SECRET not in json.dumps(entry)
    return [h["value"] for h in entry["request"]["headers"] if h["name"] == name]


def _body(text: str, mime: str, redactor: Optional[Redactor] = DENY) -> list[str]:
    """The request's and the response's body as logged."""
    return logged_bodies(text, mime, redactor)


# 1. Proxies' headers ---------------------------------------------------------------------

#: (header, value as sent, value logged)
PROXIES = {
    "forwarded-host": ("Forwarded", f"for=192.0.2.1;host=ada:{SECRET}@h.example;proto=https",
                       f"for=192.0.2.1;host=ada:{MARK}@h.example;proto=https"),
    "forwarded-quoted": ("Forwarded", f'for="[2001:db8::1]:4711";host="ada:{SECRET}@h"',
                         f'for="[2001:db8::1]:4711";host="ada:{MARK}@h"'),
    "forwarded-for": ("Forwarded", f"for=ada:{SECRET}@192.0.2.1, for=192.0.2.2",
                      f"for=ada:{MARK}@192.0.2.1, for=192.0.2.2"),
    "forwarded-by": ("Forwarded", f"by=ada:{SECRET}@proxy;for=192.0.2.1",
                     f"by=ada:{MARK}@proxy;for=192.0.2.1"),
    "xff": ("X-Forwarded-For", f"ada:{SECRET}@192.0.2.1, 192.0.2.2",
            f"ada:{MARK}@192.0.2.1, 192.0.2.2"),
    "xff-second": ("X-Forwarded-For", f"192.0.2.1, ada:{SECRET}@192.0.2.2",
                   f"192.0.2.1, ada:{MARK}@192.0.2.2"),
    "xfh-second": ("X-Forwarded-Host", f"a.example, ada:{SECRET}@fw.example",
                   f"a.example, ada:{MARK}@fw.example"),
    "xfh-both": ("X-Forwarded-Host", f"ada:{SECRET}@a, bob:{SECRET}@b",
                 f"ada:{MARK}@a, bob:{MARK}@b"),
    "x-forwarded-server": ("X-Forwarded-Server", f"ada:{SECRET}@proxy", f"ada:{MARK}@proxy"),
    "x-real-ip": ("X-Real-IP", f"ada:{SECRET}@192.0.2.1", f"ada:{MARK}@192.0.2.1"),
    "password-comma": ("X-Forwarded-Host", "ada:pw,s3cr3t-Xw3K@h", "ada:%5BREDACTED%2014%5D@h"),
    "password-at": ("X-Forwarded-Host", "ada:pw@s3cr3t-Xw3K@h, b",
                    "ada:%5BREDACTED%2014%5D@h, b"),
}


@pytest.mark.parametrize("lists", LISTS)
@pytest.mark.parametrize("shape", PROXIES)
def test_a_proxy_headers_userinfo_has_its_password_hidden(shape: str, lists: str) -> None:
    """Failed before: 24 of 24 (Forwarded, X-Forwarded-For, -Server, X-Real-IP as sent;
    X-Forwarded-Host's second element's user was the first element with it)."""
    name, value, logged = PROXIES[shape]
    assert _headers(name, value, LISTS[lists]) == [logged]


@pytest.mark.parametrize("value", [
    "for=192.0.2.60;proto=http;by=203.0.113.43",
    'for="[2001:db8:cafe::17]:4711", for=unknown',
    "192.0.2.1, 198.51.100.7", "a.example:8443, b.example", "_hidden", "ada@", "@x",
])
@pytest.mark.parametrize("name", ["Forwarded", "X-Forwarded-For", "X-Forwarded-Host"])
def test_a_proxy_header_without_a_password_is_logged_as_sent(name: str, value: str) -> None:
    """``ada@`` (a user, no host) is a token, masked as X-Forwarded-Host's was; an empty
    userinfo (``@x``) holds nothing, kept. Differed before: 3 of 21 (``ada@`` sent as is
    in Forwarded and X-Forwarded-For; ``@x``'s empty userinfo masked)."""
    expected = masked_authority(value) if value == "ada@" else value
    assert _headers(name, value, None) == [expected]


# 2. A token-long user in a body -----------------------------------------------------------

TOKEN_URL = f"https://{TOKEN}:x-oauth-basic@github.com/o/r.git"
MASKED_TOKEN = quote(mask(TOKEN), safe="")

TOKEN_BODIES = {
    "text": ("text/plain", f"clone {TOKEN_URL} now"),
    "json": ("application/json", json.dumps({"remote": TOKEN_URL})),
    "json-escaped": ("application/json", json.dumps({"remote": TOKEN_URL}).replace("/", "\\/")),
    "html": ("text/html", f'<a href="{TOKEN_URL}">repo</a>'),
    "yaml": ("application/yaml", f"remote: {TOKEN_URL}\n"),
    "form": ("application/x-www-form-urlencoded", f"remote={quote(TOKEN_URL, safe='')}"),
}


@pytest.mark.parametrize("shape", TOKEN_BODIES)
def test_a_token_as_the_user_in_a_body_is_masked_as_in_a_header(shape: str) -> None:
    """Failed before: 6 of 6 (the token kept beside the hidden password)."""
    mime, body = TOKEN_BODIES[shape]
    for text in _body(body, mime):
        assert TOKEN not in text and TOKEN[:-4] not in unquote(unquote(text)), text
        assert "x-oauth-basic" not in text, text
        assert mask(TOKEN) in unquote(unquote(text)), text
    header = _headers("Referer", TOKEN_URL, None)[0]
    assert header.startswith(f"https://{MASKED_TOKEN}:"), header


def test_a_user_name_beside_a_password_in_a_body_is_kept() -> None:
    """(Passed before.) Shorter than a token: a user name, kept."""
    for text in _body("see https://ada-lovelace:pw@h/x", "text/plain"):
        assert text == "see https://ada-lovelace:%5BREDACTED%202%5D@h/x", text


# 3. A password holding "/", "?", "#", "@" -------------------------------------------------

LOOSE = {
    "slash": "pa/ss-Xw3K", "query": "pa?ss-Xw3K", "fragment": "pa#ss-Xw3K",
    "all": "p/a?s#s@w-Xw3K", "slash-at": "pa/s@s-Xw3K", "leading-slash": "a/",
}


@pytest.mark.parametrize("shape", LOOSE)
def test_a_loose_password_is_hidden_whole_in_a_body_and_a_header(shape: str) -> None:
    """The password runs to the first ``@`` after it, then to its authority's last:
    the reading that hides it (a host cannot be ``user:pa``: no URL has a port ``pa``).
    Failed before: 6 of 6 (the body and the Referer sent it; ``slash-at``'s body hid
    ``s-Xw3K`` alone)."""
    password = LOOSE[shape]
    url = f"https://ada:{password}@h.example/x?y=1"
    mark = f"https://ada:%5BREDACTED%20{len(password)}%5D@h.example/x?y=1"
    for text in _body(f"see {url} now", "text/plain") + _body(
            json.dumps({"u": url}), "application/json"):
        assert password not in text and mark in text, text
    assert _headers("Referer", url, None) == [mark]


@pytest.mark.parametrize("text", [
    "see https://h.example:8080/x@y now", "see https://h.example:8080?a=b@c now",
    "see https://ada:pa/ss now", "mail ada@example.com, https://h.example/u/a@b.c",
    "see https://h:/x@y",
])
def test_a_url_with_a_port_or_no_userinfo_is_kept(text: str) -> None:
    """(Passed before.) A port (digits) is the usual reading; no ``@``: no userinfo."""
    assert _body(text, "text/plain") == [text, text]
    url = text.split(" ")[1] if " " in text else text
    assert _headers("Referer", url, None) == [url] or "://" not in url


# 4. XML not at a body's start -------------------------------------------------------------

XML_IN_PROSE = {
    "element-after-prose": f"Here is the config:\n<password>{SECRET}</password>\n",
    "inline": f"Config is <password>{SECRET}</password> for now.",
    "attribute": f'Config is <db user="ada" password="{SECRET}"/> for now.',
    "soap-after-a-line": (
        "Request follows\n<?xml version='1.0'?>\n<soap:Envelope><soap:Body>"
        f"<wsse:Password>{SECRET}</wsse:Password></soap:Body></soap:Envelope>"),
    "placeholder-then-value": f"Type <password> below: <password>{SECRET}</password>",
    "comment-in-content": f"Log:\n<password><!-- </password> -->{SECRET}</password> ok",
}
#: Starting as XML after a mark, blanks, a declaration, a comment: read (hostile51).
XML_AT_START = {
    "bom-decl-comment": ("\ufeff<?xml version='1.0'?><!-- c --><soap:Envelope><soap:Body>"
                         f"<password>{SECRET}</password></soap:Body></soap:Envelope>"),
    "blanks-comment": (f" \r\n\t<!-- c -->\n<Envelope><password>{SECRET}</password>"
                       "</Envelope>"),
}
PROSE_TYPES = ["text/plain", "application/octet-stream", "text/markdown",
               "application/javascript"]


@pytest.mark.parametrize("mime", PROSE_TYPES)
@pytest.mark.parametrize("shape", [*XML_IN_PROSE, *XML_AT_START])
def test_xml_after_prose_has_its_denied_elements_hidden(shape: str, mime: str) -> None:
    """Failed before: 28 of 32 (XML_IN_PROSE's six in each type; XML_AT_START's in
    text/markdown and javascript, read as text's lines; in text/plain and octet-stream
    they passed: hostile51's reading, guarded)."""
    body = {**XML_IN_PROSE, **XML_AT_START}[shape]
    for text in _body(body, mime):
        assert SECRET not in text and "REDACTED" in text, text


@pytest.mark.parametrize("mime", PROSE_TYPES)
@pytest.mark.parametrize("body", [
    "Note: password rules below. Mail a@b.c or <ada@example.com>.",
    "Type <password> below and press enter.",
    "Use <b>bold</b>, <i>password</i> is a word here? No: <p>kept</p>.",
    "if a <password_len and b > c: pass",
])
def test_prose_and_placeholders_are_kept(body: str, mime: str) -> None:
    """An unclosed ``<password>`` is prose's placeholder: kept, not the rest hidden.
    (``<i>password</i>``: the element ``i``, kept.)"""
    assert _body(body, mime) == [body, body]


# 5. A bracketed key ------------------------------------------------------------------------

@pytest.mark.parametrize("body", [f'obj[password] = "{SECRET}";',
                                  f'obj["password"] = "{SECRET}";',
                                  f"$data['password'] = '{SECRET}';"])
def test_a_bracketed_denied_name_has_its_value_hidden(body: str) -> None:
    """(Passed before: guards.) A variable as the key (``obj[key] = ...``) is left."""
    for text in _body(body, "application/javascript"):
        assert SECRET not in text, text


# Linear work ---------------------------------------------------------------------------

_RUN = """\
import resource, sys
resource.setrlimit(resource.RLIMIT_CPU, (20, 20))
from readme_metrics.har.build import build_entry
from readme_metrics.har.redaction import Redactor
from tests.support.exchanges import logged_bodies, make_exchange
kind, unit = sys.argv[1], sys.argv[2]
filler = unit * ((1 << 20) // len(unit))
if kind == "header":
    value = filler + " ada:Zq8h22Xw3K@h"
    headers = [("Host", "h"), ("Forwarded", value), ("X-Forwarded-For", value),
               ("Referer", "https://ada:x/" + filler + "Zq8h22Xw3K@h/")]
    body = b""
else:
    headers = [("Host", "h"), ("Content-Type", kind)]
    secrets = " https://ada:pa/Zq8h22Xw3K@h/ <password>Zq8h22Xw3K</password> "
    # (Prose first: no XML start; no close tag after the filler.)
    body = ("Note:" + secrets + filler + " https://ada:pa/Zq8h22Xw3K@h/").encode()
entry = build_entry(make_exchange(url="http://h/", request_headers=headers,
                                  request_body=body, request_body_size=len(body)),
                    Redactor(["password"]), 1 << 24)
sent = str(entry)
assert kind == "header" or "REDACTED" in entry["request"]["postData"]["text"]
assert "Zq8h22Xw3K" not in sent, sent[-300:]
"""


@pytest.mark.parametrize(("kind", "unit"), [
    pytest.param("header", ",a:", id="header-colons"),
    pytest.param("header", ',a:"', id="header-quoted"),
    pytest.param("header", "a@", id="header-ats"),
    pytest.param("header", "@a:,", id="header-ats-colons"),
    pytest.param("header", "a", id="header-run"),
    pytest.param("text/plain", "a://b:c/", id="loose-urls"),
    pytest.param("text/plain", "a://b:c/@", id="loose-urls-at"),
    pytest.param("text/plain", "a://b:c/d@e@", id="loose-urls-ats"),
    pytest.param("text/plain", "<password>", id="unclosed"),
    pytest.param("text/plain", "<password><!--", id="unclosed-comment"),
    pytest.param("text/plain", "</password><password>", id="closes-before"),
    pytest.param("text/markdown", "<password>x", id="markdown-unclosed"),
])
def test_each_reader_is_linear_on_a_mib(kind: str, unit: str) -> None:
    """1 MiB of a worst case, then the secret: in a child whose CPU is bounded at 20 s
    (a bound on the work, not a timing: linear reads it in about a second). Failed
    before: 12 of 12 (the secrets sent). Mutants killed at the cap: _AT_SEGMENT without
    its lookbehind (header-run, -colons, -ats), _RAW's loose password running past
    ``://`` (loose-urls), _prose_close asking _close_tag of each unclosed element
    (unclosed, -comment, markdown-unclosed); and masked_authority's first version, which
    looked for a user after each ``@`` of a segment (header-ats)."""
    from tests.support.processes import run_command

    root = Path(__file__).resolve().parent.parent
    done = run_command([sys.executable, "-c", _RUN, kind, unit], timeout=600,
                       capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])


def test_the_python_readers_work_grows_with_the_text() -> None:
    """masked_authority's and the prose XML reader's counted work (calls, and the length
    of each text a C method reads) at 16 KiB and 64 KiB: about 4 times, not 16. (Failed
    before: no prose reading.)"""
    from readme_metrics.har.redaction_xml import xml_redacted
    from tests.support.work_count import text_work

    def work(size: int) -> tuple[int, int]:
        value = "a@b:," * (size // 5)
        prose = "</password>x<password>" * (size // 22)
        return (text_work(lambda: masked_authority(value)),
                text_work(lambda: xml_redacted(prose, lambda n: n == "password", prose=True)))

    small, large = work(1 << 14), work(1 << 16)
    for before, after in zip(small, large):
        assert after < 6 * before, (small, large)


# Through a real server, a real Flask app, the collector -------------------------------------

@pytest.fixture(scope="module")
def echo_site(module_collector: Collector) -> Iterator[tuple[int, Any, Collector]]:
    with echo_server(module_collector) as site:
        yield site


_through = posted_through


def test_proxy_headers_through_flask(echo_site: tuple[int, Any, Collector]) -> None:
    """1. Failed before."""
    sent, entry = _through(echo_site, [(name, value) for name, value, _ in (
        PROXIES["forwarded-host"], PROXIES["xff"], PROXIES["xfh-second"])], "x", "text/plain")
    assert SECRET not in sent
    logged = {h["name"]: h["value"] for h in entry["request"]["headers"]}
    assert logged["Forwarded"] == PROXIES["forwarded-host"][2], logged
    assert logged["X-Forwarded-For"] == PROXIES["xff"][2], logged
    assert logged["X-Forwarded-Host"] == PROXIES["xfh-second"][2], logged


def test_token_and_loose_passwords_through_flask(
        echo_site: tuple[int, Any, Collector]) -> None:
    """2 and 3. Failed before."""
    body = f"clone {TOKEN_URL}; see https://ada:pa/{SECRET}@h.example/x"
    sent, entry = _through(echo_site, [("Referer", f"https://ada:pa/{SECRET}@h.example/")],
                           body, "text/plain")
    assert SECRET not in sent and TOKEN[:-4] not in sent, sent
    assert MASKED_TOKEN in entry["request"]["postData"]["text"]


def test_xml_after_prose_through_flask(echo_site: tuple[int, Any, Collector]) -> None:
    """4. Failed before."""
    sent, entry = _through(echo_site, [], XML_IN_PROSE["soap-after-a-line"], "text/plain")
    assert SECRET not in sent
    assert entry["response"]["content"]["text"].startswith("Request follows\n<?xml")
