"""review155: an adversarial review of land59's landings (31811849..a67ad260).

(1) review152's budget of one log's header values read as texts (header_reading.MOST_READ,
    16 KiB) was charged by a URL header that cpu43's gate leaves unread (no reader can find
    a userinfo in it: ``https://app/cb?login_hint=ada%40example.com&state=...``), and such
    a value past the budget was hidden whole, ``[REDACTED n]``, though it held no password
    and reading it cost nothing: one long Referer, or four URL headers of 6 KiB (a proxy's
    X-Original-URL, X-Forwarded-Uri, X-Rewrite-URL repeating the Referer), lost what the
    client sent (SPEC 6: the HAR says what was sent). Unread now means uncharged; a value
    that is read is charged and, past the budget, hidden whole as before.
(2) hostile64's reader of a special scheme's lenient spellings (``https:ada:pw@h``) took
    a user to its first ``@``: an address as the user (``https:ada@corp.com:pw@h``, which
    a WHATWG parser reads to the authority's last ``@``, as ``//``'s reader has since
    hostile56) sent its password, from a body, a plain header, the request's path/query.
(3) blackbox24's x-documentation-url iff the log is kept: the queue's ``refusing``, read
    by the request path, was set after a log put from the count bound alone, so with the
    byte bound (max_queue_bytes) near, the next request got the header and its log was
    dropped (dropped_queue_full): a link to a 404. The put now looks at both bounds, as a
    refused put and ``full_locked`` do.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics import MetricsApiConfig, MetricsMiddleware
from readme_metrics.har.build import build_entry
from readme_metrics.har.header_reading import MOST_READ
from readme_metrics.har.redaction import Redactor
from readme_metrics.har.text_userinfo import userinfo_hidden_in
from tests.support.contract import API_KEY, reading_app
from tests.support.exchanges import make_exchange
from tests.support.fake_api import INLINE_TIMEOUT, Collector, Reply
from tests.support.work_count import text_calls_per_kib
from tests.test_blackbox24_findings import _served

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


# (2) A lenient spelling's user that is an address -------------------------------------------

#: hostile64's lenient spellings (a special scheme, separators other than ``//``) with an
#: address as the user, which a WHATWG parser reads to the authority's last ``@``: the
#: user ``ada@example.com``, the password the secret (``//``'s spelling was read so since
#: hostile56).
ADDRESS_USER = {
    "none": f"https:ada@example.com:{SECRET}@h/",
    "one-slash": f"https:/ada@example.com:{SECRET}@h/",
    "three-slashes": f"https:///ada@example.com:{SECRET}@h/",
    "backslashes": f"https:\\\\ada@example.com:{SECRET}@h/",
    "ws": f"wss:ada@corp.example:{SECRET}@h",
}


def _places(url: str) -> dict[str, dict]:
    """The entries logging ``url`` in a request's path and query (no lists), and in a
    text body and a plain header (with a denylist: the lists govern those)."""
    text = f"Use the mirror ({url}) today."
    data = text.encode()
    return {
        "path": build_entry(make_exchange(url="http://api.example.com/proxy/" + url), None),
        "query": build_entry(make_exchange(url="http://api.example.com/p?u=" + url), None),
        "body-and-header": build_entry(make_exchange(
            url="http://h/", request_headers=[("Host", "h"), ("Content-Type", "text/plain"),
                                              ("X-Note", url)],
            request_body=data, request_body_size=len(data),
            response_headers=[("Content-Type", "text/plain")], response_body=data,
            response_body_size=len(data)), LISTS["deny"]),
    }


@pytest.mark.parametrize("place", ["path", "query", "body-and-header"])
@pytest.mark.parametrize("spelling", sorted(ADDRESS_USER))
def test_a_lenient_urls_address_user_hides_its_password(spelling: str, place: str) -> None:
    """The password hidden, the address kept. Failed before: 15 of 15 (sent), and the
    property below (falsified at once)."""
    logged = json.dumps(_places(ADDRESS_USER[spelling])[place])
    assert SECRET not in logged
    assert "ada@example.com" in logged or "ada%40example.com" in logged or (
        "ada@corp.example" in logged)


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(scheme=st.sampled_from(["http", "https", "ws", "wss", "ftp", "HTTPS"]),
       separators=st.text(alphabet="/\\", max_size=4).filter(lambda lead: lead != "//"),
       local=st.text(alphabet="abcXYZ019._-+", min_size=1, max_size=8),
       domain=st.from_regex(r"[a-z][a-z0-9.\-]{0,10}", fullmatch=True),
       password=st.text(alphabet="abcXYZ019._-~!$&'()*+,;=:%@", max_size=10),
       before=st.sampled_from(["", " ", "\n", '"', "(", "x ", "url="]),
       after=st.sampled_from(["", "/", "/path?q=1", " more", '"', ")"]))
def test_no_lenient_urls_password_is_sent_after_an_address(
        scheme: str, separators: str, local: str, domain: str, password: str, before: str,
        after: str) -> None:
    """hostile64's property with an address as the user (its users held no ``@``)."""
    text = f"{before}{scheme}:{separators}{local}@{domain}:{password}{SECRET}@h{after}"
    assert SECRET not in userinfo_hidden_in(text), text


@pytest.mark.parametrize("unit", ["http:a@b:c@", "http:@:@", "https:a@:", "ws:a@b@c:"])
def test_the_address_users_reading_costs_few_calls_a_kib(unit: str) -> None:
    """256 KiB of each within hostile61's bound (150 calls a KiB): each ``@``'s look
    reads to the second ``@`` after it at most. (Passed before too.)"""
    assert text_calls_per_kib(userinfo_hidden_in, unit) <= 150


# (3) x-documentation-url at the queue's byte bound -------------------------------------------

def _held(collector: Collector, gate: threading.Event, **options: Any) -> MetricsMiddleware:
    """A background middleware whose POSTs the collector holds till ``gate``, its logs
    waiting in the queue till ten wait or its bounds are near (a POST's bytes, held
    from its take, are not a log's)."""
    collector.default = Reply(gate=gate)
    return MetricsMiddleware(reading_app(), MetricsApiConfig(
        api_key=API_KEY, metrics_api=collector.url, base_log_url="https://docs.example.com",
        grouping_function=lambda request: {"api_key": "caller-0777"}, buffer_length=10,
        flush_interval=600.0, shutdown_timeout=2.0, timeout=INLINE_TIMEOUT, **options))


def _room_for_two(sizes: list[int]) -> int:
    """max_queue_bytes that takes two logs (``sizes``: the queue's bytes after one and
    two of them, the first counting what the next ones share) and not a third."""
    first, both = sizes
    assert 0 < first < both
    return both + (both - first) // 2


def test_no_documentation_url_for_a_log_the_byte_bound_drops(collector: Collector) -> None:
    """Room for two logs by max_queue_bytes (max_queue_size far off; the two then due,
    their POST held by the API): the third request's log is dropped, and it gets no
    header; each header given names a log the API got. Failed before: 1 of 1 (the third
    had the header)."""
    gate, other = threading.Event(), Collector().start()
    probe = _held(other, gate)
    try:
        sizes = []
        for index in (1, 2):
            _served(probe, f"/p{index}")
            sizes.append(probe.stats["queued_bytes"])
    finally:
        gate.set()
        probe.close()
        other.stop()
    gate = threading.Event()
    middleware = _held(collector, gate, max_queue_bytes=_room_for_two(sizes))
    try:
        headers = [_served(middleware, f"/p{index}") for index in range(1, 4)]
        assert middleware.stats["dropped_queue_full"] == 1
        assert [bool(header) for header in headers] == [True, True, False], headers
        gate.set()
        assert middleware.flush(10.0) is False  # (one of its logs was dropped)
    finally:
        gate.set()
        middleware.close()
    linked = {header[0].rsplit("/", 1)[1] for header in headers if header}
    assert linked == {log["_id"] for log in collector.logs}

