"""Denylist and allowlist entries with spaces, dots, quotes, slashes or beyond ASCII are
matched as SPEC 6 says: case-insensitively, in JSON at any depth, forms, multipart
fields, the query, cookies and headers.

Three ways such a name went out in clear:

* a JSON body is parsed only when its text mentions a denied name; a name JSON writes
  with a short escape (``a/b`` as PHP's ``"a\\/b"``, ``q"k`` as ``"q\\"k"``, a tab as
  ``\\t``) was not found in the raw text, so the body was not looked into;
* a dotted entry (``x.y``) is a path from the JSON root; a member named ``x.y`` deeper
  down (flattened documents: ``{"hits": [{"user.email": ...}]}``) matched nothing, while
  in flat names (a header, a field) the entry matches the whole name, dots included. A
  denylist entry now matches such a member anywhere too (the allowlist keeps its path
  meaning: keeping less is the safe side);
* "case-insensitively" was ``str.lower``, under which ``STRASSE`` is not ``straße``
  (nor ``ΟΔΟΣ`` and ``οδοσ``): names are compared case-folded (Unicode's caseless match).

Entries are trimmed (``"a, b"`` in the environment); names are matched as they are.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from readme_metrics.exchange import Exchange
from readme_metrics.redaction import Redactor
from tests.support.exchanges import make_exchange, post, sent_log

SECRET = "S3CR3T-value-9x7z"


def _exchange(place: str, name: str) -> Exchange:
    if place == "json":
        return post("application/json", json.dumps({name: SECRET}).encode())
    if place == "json-deep":
        return post("application/json", json.dumps({"a": [{"b": {name: SECRET}}]}).encode())
    if place == "json-escaped":  # every character a JSON writer may escape, escaped
        escaped = json.dumps(name)[1:-1].replace("/", "\\/")
        return post("application/json", f'{{"{escaped}": "{SECRET}"}}'.encode())
    if place == "json-in-a-field":
        body = f"d={quote_plus(json.dumps({'n': {name: SECRET}}))}".encode()
        return post("application/x-www-form-urlencoded", body)
    if place == "form":
        return post("application/x-www-form-urlencoded",
                    f"{quote_plus(name)}={SECRET}&x=1".encode())
    if place == "query":
        return make_exchange(url=f"http://api.example.com/v1?{quote(name, safe='')}={SECRET}")
    if place == "multipart":
        body = (f'--XyZ\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{SECRET}\r\n'
                "--XyZ--\r\n").encode()
        return post("multipart/form-data; boundary=XyZ", body)
    if place == "cookie":
        return make_exchange(request_headers=[("Host", "api.example.com"),
                                              ("Cookie", f"{name}={SECRET}")],
                             response_headers=[("Content-Type", "application/json"),
                                               ("Set-Cookie", f"{name}={SECRET}; Path=/")])
    assert place == "header"
    return make_exchange(request_headers=[("Host", "api.example.com"), (name, SECRET)])


def _sent(exchange: Exchange, redactor: Redactor) -> str:
    return json.dumps(sent_log(exchange, redactor=redactor), ensure_ascii=False)


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an HTTP header or cookie name


@pytest.mark.parametrize(("entry", "name", "places"), [
    pytest.param("card number", "Card Number",
                 ["json", "json-deep", "json-in-a-field", "form", "query", "multipart"],
                 id="a-space"),
    pytest.param("x.y", "X.Y",
                 ["json", "json-deep", "json-in-a-field", "form", "query", "multipart",
                  "cookie", "header"], id="a-dot-as-a-name"),
    pytest.param("a/b", "A/B", ["json", "json-escaped", "json-deep", "form", "query",
                                "multipart", "cookie", "header"], id="a-slash"),
    pytest.param('q"k', 'Q"K', ["json", "json-deep", "json-in-a-field", "form", "query"],
                 id="a-quote"),
    pytest.param("tab\tname", "TAB\tNAME", ["json", "json-deep", "form", "query"],
                 id="a-control-character"),
    pytest.param("naïve", "NAÏVE", ["json", "json-escaped", "json-deep", "form", "query",
                                    "multipart"], id="beyond-ascii"),
    pytest.param("straße", "STRASSE", ["json", "json-deep", "form", "query", "multipart",
                                       "cookie", "header"], id="sharp-s"),
    pytest.param("STRASSE", "straße", ["json", "json-deep", "form", "query", "multipart"],
                 id="sharp-s-the-other-way"),
    pytest.param("ΟΔΟΣ", "οδοσ", ["json", "json-deep", "form", "query", "multipart"],
                 id="final-sigma"),
    pytest.param("user[card]", "USER[CARD]", ["json", "form", "query", "multipart"],
                 id="brackets-as-a-name"),
])
def test_a_denied_name_with_odd_characters_is_redacted_everywhere(
        entry: str, name: str, places: list[str]) -> None:
    for place in places:
        sent = _sent(_exchange(place, name), Redactor([entry]))
        assert SECRET not in sent, (place, sent)
        assert "[REDACTED" in sent, place


@pytest.mark.parametrize(("entry", "document", "kept"), [
    pytest.param("x.y", {"x": {"y": 1, "z": SECRET}}, True, id="the-path-keeps-the-rest"),
    pytest.param("x.y", {"q": {"x": {"y": SECRET}}}, True, id="a-path-from-the-root-only"),
])
def test_a_dotted_entry_stays_a_path_from_the_root(entry: str, document: Any,
                                                   kept: bool) -> None:
    sent = _sent(post("application/json", json.dumps(document).encode()), Redactor([entry]))
    assert (SECRET in sent) is kept


def test_a_dotted_allowlist_entry_keeps_its_path_only() -> None:
    document = {"x": {"y": "kept-value"}, "q": {"x.y": SECRET}}
    sent = _sent(post("application/json", json.dumps(document).encode()),
                 Redactor(allowlist=["x.y", "x"]))
    assert "kept-value" in sent and SECRET not in sent


_NAMES = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=12).filter(
    lambda name: name == name.strip() and "," not in name)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=_NAMES, upper=st.booleans(),
       place=st.sampled_from(["json", "json-deep", "json-escaped", "json-in-a-field", "form",
                              "query", "multipart", "cookie", "header"]))
def test_a_denied_name_is_never_sent_whatever_its_characters(name: str, upper: bool,
                                                             place: str) -> None:
    sent_as = name.upper() if upper else name
    assume(sent_as.casefold() == name.casefold())  # (dotless i: I is not its capital)
    if place in ("cookie", "header"):
        assume(_TOKEN.fullmatch(sent_as) is not None)
    if place == "multipart":
        # A browser writes ", CR and LF in a field's name percent-encoded (HTML's
        # multipart/form-data); a backslash escapes in a quoted string.
        assume(not any(c in sent_as for c in '"\\\r\n'))
    if place == "form":
        assume(not any(c in sent_as for c in "&=;#"))  # separators to some readers
    assume(SECRET.casefold() not in name.casefold() and "redacted" not in name.casefold())
    sent = _sent(_exchange(place, sent_as), Redactor([name]))
    assert SECRET not in sent, (place, sent)
