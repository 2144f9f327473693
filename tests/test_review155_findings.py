"""review155: an adversarial review of land59's landings (31811849..a67ad260).

(1) review152's budget of one log's header values read as texts (header_reading.MOST_READ,
    16 KiB) was charged by a URL header that cpu43's gate leaves unread (no reader can find
    a userinfo in it: ``https://app/cb?login_hint=ada%40example.com&state=...``), and such
    a value past the budget was hidden whole, ``[REDACTED n]``, though it held no password
    and reading it cost nothing: one long Referer, or four URL headers of 6 KiB (a proxy's
    X-Original-URL, X-Forwarded-Uri, X-Rewrite-URL repeating the Referer), lost what the
    client sent (SPEC 6: the HAR says what was sent). Unread now means uncharged; a value
    that is read is charged and, past the budget, hidden whole as before.
"""

from __future__ import annotations

import json
from typing import Optional

import pytest

from readme_metrics.har.build import build_entry
from readme_metrics.har.header_reading import MOST_READ
from readme_metrics.har.redaction import Redactor
from tests.support.exchanges import make_exchange

SECRET = "Zq8h22Xw3K"
LISTS = {"none": None, "deny": Redactor(["password"])}
#: An OAuth authorize URL as a browser's Referer: an e-mail, percent-encoded, in its query.
AUTHORIZE = "https://app.example.com/authorize?login_hint=ada%40example.com&state="


def _request_headers(fields: list[tuple[str, str]], redactor: Optional[Redactor]) -> list[str]:
    entry = build_entry(make_exchange(request_headers=[("Host", "api.example.com"), *fields]),
                        redactor)
    return [item["value"] for item in entry["request"]["headers"]][1:]


# (1) URL headers the gate leaves unread, charged to the budget -------------------------------

UNREAD = {
    "one-long-referer": [("Referer", AUTHORIZE + "s" * (MOST_READ + 1))],
    "four-proxy-copies": [(name, AUTHORIZE + "s" * 6000) for name in (
        "Referer", "X-Original-URL", "X-Forwarded-Uri", "X-Rewrite-URL")],
    "two-referers-then-origin": [("Referer", AUTHORIZE + "s" * 9000)] * 2
    + [("Origin", "https://app.example.com")],
}


@pytest.mark.parametrize("lists", sorted(LISTS))
@pytest.mark.parametrize("case", sorted(UNREAD))
def test_url_headers_no_reader_reads_are_logged_as_sent(case: str, lists: str) -> None:
    """Failed before: 6 of 6 (the long Referer, the proxy's last two copies and the
    second of two 9 KiB Referers hidden whole, with either list)."""
    fields = UNREAD[case]
    assert _request_headers(fields, LISTS[lists]) == [value for _, value in fields]


@pytest.mark.parametrize("lists", sorted(LISTS))
def test_a_read_url_header_past_the_budget_is_still_hidden_whole(lists: str) -> None:
    """The unread Referers spend nothing, but a URL header that is read (its nested
    URL's password, encoded) still counts, and past the budget the one that no longer
    fits is hidden whole. Failed before: 2 of 2 (the second and third Referers hidden
    whole, the budget spent by the unread first ones)."""
    nested = "https://app.example.com/cb?next=https%3A%2F%2Fada%3A" + SECRET + "%40db%2F&s="
    fields = [("Referer", AUTHORIZE + "s" * 9000)] * 3 + [
        ("X-Original-URL", nested + "t" * 9000), ("X-Forwarded-Uri", nested + "u" * 9000)]
    logged = _request_headers(fields, LISTS[lists])
    assert SECRET not in json.dumps(logged)
    assert logged[:3] == [value for _, value in fields[:3]]
    assert logged[3].startswith("https://app.example.com/cb?next=") and "t" * 9000 in logged[3]
    assert logged[4].startswith("[REDACTED ") and logged[4].endswith("]")
