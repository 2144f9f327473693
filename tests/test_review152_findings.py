"""review152: an adversarial review of land58's landings (hostile61/62, delivery85,
review151, flaky57/60, suite48, house53).

(1) hostile61 read a URL header's value that is no URL as written (wholly
    percent-encoded, ``\\u``-escaped) and an authority header's ``%40`` as texts, each
    with the readers' cap of its own (MOST_FOUND URLs in one text): a log's headers are
    many texts. 100 Referer values of 8,000 characters of ``h%3A%2F%2Fx%40`` (gunicorn
    takes 100 fields of 8,190 bytes) cost 2,882 Python and C calls a KiB (about 0.6 s
    of CPU, the GIL held; 0.4 before hostile61), a body's worst case 150 at most. One
    budget a log now (header_reading.MOST_READ characters read as texts), past it such
    a value hidden whole. Work is counted (calls a KiB, warmed), not timed.
(2) A redirect's body is read for URL passwords without lists (hostile52); a JSON one
    past the readers' cap was cut in a string, unterminated (hostile61 made the JSON
    bodies read with the lists whole JSON strings then, not this one): now the same.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.har import headers as headers_module
from readme_metrics.har.build import build_entry
from readme_metrics.har.header_reading import MOST_READ
from readme_metrics.har.redaction import Redactor
from readme_metrics.har.userinfo_starts import MOST_FOUND
from tests.support.exchanges import make_exchange
from tests.support.logged_urls import repeated
from tests.support.work_count import calls
from tests.test_hostile61_findings import SECRET, SPELLINGS, URL, _escaped

DENY = Redactor(denylist=["password"])
KIB = 1024
#: gunicorn's limits: 100 header fields, 8,190 bytes each.
FIELDS, FIELD = 100, 8000


def _build(headers: list[tuple[str, str]], redactor: Redactor | None) -> dict:
    return build_entry(make_exchange(request_headers=[("Host", "h"), *headers]), redactor)


def _values(headers: list[tuple[str, str]], redactor: Redactor | None) -> list[str]:
    return [item["value"] for item in _build(headers, redactor)["request"]["headers"]]


WORST = [
    pytest.param("h%3A%2F%2Fx%40", id="encoded-user-alone"),
    pytest.param("h%3A%2F%2Fa%3A%3Cb%3E%40", id="encoded-angled"),
    pytest.param("h:\\u002f\\u002fx\\u0040", id="escaped-user-alone"),
    pytest.param("h:\\u002f\\u002fa:b\\u0040", id="escaped-password"),
]


@pytest.mark.parametrize("lists", ["none", "deny"])
@pytest.mark.parametrize("name", ["Referer", "X-Forwarded-Host", "Link"])
@pytest.mark.parametrize("unit", WORST)
def test_a_logs_headers_cost_few_calls_a_kib(unit: str, name: str, lists: str) -> None:
    """100 values of 8,000 characters of each worst case. Calls a KiB before: 2,882 to
    5,763 encoded, 428 to 857 escaped (Link's targets 2,882 and 429); now 6 to 61. The
    bound is 150, the bodies' (hostile60, hostile61). Failed before: 24 of 24."""
    value = repeated(unit, FIELD)
    if name == "Link":
        value = f"<{value[:FIELD - 2]}>"
    redactor = DENY if lists == "deny" else None
    fields = [(name, value)] * FIELDS
    _build(fields[:2], redactor)  # warmed: a pattern compiled at its first use
    per_kib = calls(lambda: _build(fields, redactor), ("call", "c_call")) / (
        FIELDS * FIELD / KIB)
    assert per_kib <= 150, per_kib


@pytest.mark.parametrize("lists", ["none", "deny"])
@pytest.mark.parametrize("spelling", ["encoded", "escaped", "twice", "userinfo-encoded"])
def test_past_the_budget_no_password_is_sent(spelling: str, lists: str) -> None:
    """A URL header's and an authority header's password after the budget is spent:
    hidden whole (fail closed). Failed before: 8 of 8 on the whole value (each value
    read, slowly: its password hidden, the rest kept)."""
    filler = repeated("h%3A%2F%2Fx%40", FIELD)
    fields = [("Referer", filler)] * (MOST_READ // FIELD + 1)
    fields += [("Referer", SPELLINGS[spelling]), ("X-Forwarded-Host", quote(URL, safe=""))]
    logged = _values(fields, DENY if lists == "deny" else None)
    assert [text for text in logged if SECRET in text] == []
    assert logged[-2] == f"[REDACTED {len(SPELLINGS[spelling])}]"


_PART = st.sampled_from([
    URL, quote(URL, safe=""), _escaped(URL), "https://example.com/a?b=c", "ada@example.com",
    "%40", "h%3A%2F%2Fx%40", "text/html", "a=b; c=d", " ", "/", ":"])


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(
    st.sampled_from(["Referer", "X-Forwarded-Host", "Link", "X-Note", "Cookie",
                     "Location", "Forwarded"]),
    st.lists(_PART, min_size=1, max_size=6).map("".join)), max_size=8),
    st.booleans())
def test_within_the_budget_the_headers_are_read_as_before(
        fields: list[tuple[str, str]], deny: bool) -> None:
    """Guard (passes before and after): a header set within the budget is logged as with
    no budget at all, every value read."""
    redactor = DENY if deny else None
    fields = [(name, f"<{value}>" if name == "Link" else value) for name, value in fields]
    budgeted = _values(fields, redactor)
    limit = headers_module.MOST_READ
    try:
        headers_module.MOST_READ = 1 << 40
        assert _values(fields, redactor) == budgeted
    finally:
        headers_module.MOST_READ = limit


# (2) A redirect's JSON body past a reader's cap ----------------------------------------------

def _remotes(count: int) -> bytes:
    """A JSON body of ``count`` remotes with a user each, then a URL with a password."""
    return json.dumps({"remotes": [f"ssh://git{i}@host{i}.example/r" for i in range(count)],
                       "next": URL}).encode()


@pytest.mark.parametrize("media", ["application/json", "application/problem+json"])
@pytest.mark.parametrize("status", [301, 302, 307])
def test_a_redirects_json_body_past_the_cap_stays_json(status: int, media: str) -> None:
    """A redirect's body is read for URL passwords without lists (hostile52); past the
    readers' cap (hostile61) its rest was hidden unread, the JSON cut in a string: now
    hidden whole as the JSON string ``"[REDACTED n]"``, as a body read with the lists
    is. Failed before: 6 of 6 (unterminated string)."""
    body = _remotes(MOST_FOUND + 88)
    entry = build_entry(make_exchange(
        status=status, response_headers=[("Content-Type", media), ("Location", "/x")],
        response_body=body, response_body_size=len(body)), None)
    text = entry["response"]["content"]["text"]
    assert json.loads(text) == f"[REDACTED {len(body)}]"


@pytest.mark.parametrize("lists", ["none", "deny"])
def test_a_redirects_json_body_below_the_cap_is_read_as_before(lists: str) -> None:
    """Guard (passed before, passes after): below the cap the password is hidden in
    place, the rest kept, still JSON."""
    body = _remotes(20)
    entry = build_entry(make_exchange(
        status=302, response_headers=[("Content-Type", "application/json")],
        response_body=body, response_body_size=len(body)), DENY if lists == "deny" else None)
    logged = json.loads(entry["response"]["content"]["text"])
    assert logged["remotes"] == json.loads(body)["remotes"]
    assert logged["next"] == "https://ada:%5BREDACTED%2010%5D@host/p"


# (3) A special scheme's separators as a browser reads them -----------------------------------

LENIENT = [
    f"https:\\\\ada:{SECRET}@host/p", f"https:/\\ada:{SECRET}@host/p",
    f"https:\\/ada:{SECRET}@host/p", f"HTTPS:ada:{SECRET}@host/p",
    f"https:///ada:{SECRET}@host/p", f"http:////ada:{SECRET}@host/p?q=1",
    f"wss:ada:{SECRET}@host", f"ftp:\\ada:{SECRET}@host/", f"https:\\\\ada:{SECRET}@host\\p",
    "https:\\\\" + quote(f"ada:{SECRET}@host/", safe=":/"),
]


@pytest.mark.parametrize("lists", ["none", "deny"])
@pytest.mark.parametrize("url", LENIENT)
def test_a_special_schemes_other_separators_are_read(url: str, lists: str) -> None:
    """A WHATWG parser (a browser's ``new URL``, its fetch of a Location) reads a special
    scheme's ``:`` then any run of ``/`` and ``\\`` (or none) as ``://``: the user
    ``ada``, the password. A Referer, a Content-Location, a Link's target and a
    response's Location: hidden always. Failed before: 20 of 20 (sent)."""
    entry = build_entry(make_exchange(
        request_headers=[("Host", "h"), ("Referer", url), ("Content-Location", url),
                         ("Link", f"<{url}>; rel=next")],
        status=302, response_headers=[("Location", url)]),
        DENY if lists == "deny" else None)
    logged = [item["value"] for part in ("request", "response")
              for item in entry[part]["headers"]]
    assert [text for text in logged if SECRET in text] == [], logged
    assert all("ada:%5BREDACTED" in text for text in logged[1:]), logged


@pytest.mark.parametrize("value", [
    "https:ada@example.com/", "https:///example.com/a@b", "http:\\\\example.com\\x?u=a@b",
    "mailto:ada:pw@example.com", "android-app://com.example/https/ada@example.com",
    "about:blank", "https:/", "ftp:",
])
def test_what_such_a_header_keeps(value: str) -> None:
    """Guards (passed before, pass after): no password (a user name alone, an ``@`` in
    a path or a query), and a scheme no browser reads so (``mailto:``)."""
    assert _values([("Referer", value)], None) == ["h", value]
