"""review156: an adversarial review of land60's landings (a67ad260..e72ce17a).

(1) A URL's user holding two ``@`` or more (``https://ada@corp.com@x.org:pw@h/``: an
    address whose local part or host was written with another ``@``, or a proxy's
    ``user@realm@domain`` login): a WHATWG parser (and curl) reads the userinfo to the
    authority's last ``@``, the user to its first ``:``, so the password is ``pw``. Every
    text reader (``//`` written, JSON-escaped, percent-encoded, and hostile64/65's lenient
    spellings) read a user's ``@`` only when no other ``@`` came before the ``:``
    (hostile56's look, kept by review155 and hostile65): the user ended at the first
    ``@``, the password sent from a body, a plain header, the request's path and query.
    The look now reads over a user's later ``@`` (each start's look once: linear).
(2) hostile65's reading of a URL header's encoded tabs and line breaks (``%0A``: a GET
    form's textarea, in the next page's Referer) charged the value to the log's header
    budget (16 KiB) once, then again for each reading of it (the value as read, then as
    written): a Referer of 6 KiB holding ``%0D%0A``, an e-mail's ``%40`` and a time's
    ``%3A`` was hidden whole, ``[REDACTED n]``, though it held no password and fit the
    budget thrice over (review155's finding (1) again, by another way). review153's raw
    tab reading did the same. Each such value is now charged once for all its readings.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from readme_metrics.har.header_reading import MOST_READ
from readme_metrics.har.text_userinfo import userinfo_hidden_in
from tests.support.work_count import text_calls_per_kib
from tests.test_review155_findings import LISTS, _places, _request_headers

SECRET = "Zq8h22Xw3K"

# (1) A user holding two @ or more ------------------------------------------------------

#: The user ``ada@corp.com@x.org`` (or ``a@b@c@d``), the password the secret, in each
#: spelling a text reader reads.
TWO_AT_USER = {
    "slashes": f"https://ada@corp.com@x.org:{SECRET}@h/",
    "three-ats": f"https://a@b@c@d:{SECRET}@h/",
    "lenient": f"https:ada@corp.com@x.org:{SECRET}@h/",
    "lenient-backslashes": f"ftp:\\\\a@b@c:{SECRET}@h",
    "json-escaped": f'{{"u":"https:\\/\\/ada\\u0040corp.com\\u0040x.org:{SECRET}\\u0040h"}}',
    "json-lenient": f'{{"u":"https:ada\\u0040corp.com\\u0040x.org\\u003a{SECRET}\\u0040h"}}',
    "encoded": f"next=https%3A%2F%2Fada%40corp.com%40x.org%3A{SECRET}%40h",
}


@pytest.mark.parametrize("spelling", sorted(TWO_AT_USER))
def test_a_users_second_at_does_not_send_the_password(spelling: str) -> None:
    """Failed before: 7 of 7 (each sent as written)."""
    assert SECRET not in userinfo_hidden_in(TWO_AT_USER[spelling])


@pytest.mark.parametrize("place", ["path", "query", "body-and-header"])
def test_a_two_at_users_password_is_hidden_where_a_url_is_logged(place: str) -> None:
    """In the entry as built (the request's path and query, a text body and a plain
    header). Failed before: 3 of 3."""
    assert SECRET not in json.dumps(_places(TWO_AT_USER["slashes"])[place])


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(scheme=st.sampled_from(["http", "https", "wss", "ftp", "HTTPS"]),
       separators=st.sampled_from(["//", "", "/", "\\\\", "///"]),
       parts=st.lists(st.from_regex(r"[a-z0-9][a-z0-9.\-_]{0,6}", fullmatch=True),
                      min_size=3, max_size=5),
       password=st.text(alphabet="abcXYZ019._-~!$&'()*+,;=:%@", max_size=8),
       before=st.sampled_from(["", " ", "\n", '"', "(", "url="]),
       after=st.sampled_from(["", "/", "/path?q=1", " more", '"', ")"]))
def test_no_password_is_sent_after_a_user_of_many_ats(
        scheme: str, separators: str, parts: list[str], password: str, before: str,
        after: str) -> None:
    """review155's property with two ``@`` or more in the user. Failed before at once."""
    text = f"{before}{scheme}:{separators}{'@'.join(parts)}:{password}{SECRET}@h{after}"
    assert SECRET not in userinfo_hidden_in(text), text


@pytest.mark.parametrize("unit", [
    "http://a@", "http://a@@", "https:a@@@b", "http://a@b@c@", "@@@:", "https:@", "h://@",
    "https%3A%2F%2Fa%40%40", "https:\\/\\/a\\u0040\\u0040"])
def test_a_users_many_ats_cost_few_calls_a_kib(unit: str) -> None:
    """256 KiB of each within hostile61's bound (150 calls a KiB)."""
    assert text_calls_per_kib(userinfo_hidden_in, unit) <= 150


def test_addresses_in_prose_and_json_are_left_as_written() -> None:
    """No userinfo is read where no URL has one (passed before too)."""
    for text in ("mail ada@corp.com@x.org or bob@x.org: see https://h/",
                 json.dumps({"e": "ada@corp.com", "f": "b@c@d:x", "u": "https://h/a@b"}),
                 "https://h/p?e=ada@corp.com@x.org:8080",
                 "mailto:ada@corp.com@x.org:pw@h"):
        assert userinfo_hidden_in(text) == text


# (2) A URL header's blanks read, charged once -------------------------------------------

#: A search form's GET (a textarea's line break, an e-mail, a time) as the next page's
#: Referer: no password in it.
FORM = ("https://app.example.com/search?note=line1%0D%0Aline2&email=ada%40example.com"
        "&at=10%3A30&pad=")
BLANKS = {
    "encoded-6k": [("Referer", FORM + "s" * 6000)],
    "encoded-9k": [("Referer", FORM + "s" * 9000)],
    "encoded-twice-6k": [("Referer", FORM.replace("%0D%0A", "%250A") + "s" * 6000)],
    "two-encoded-7k": [("Referer", FORM + "s" * 7000), ("X-Original-URL", FORM + "t" * 7000)],
    "raw-tab-9k": [("Referer", FORM.replace("%0D%0A", "\t") + "s" * 9000)],
}


@pytest.mark.parametrize("lists", sorted(LISTS))
@pytest.mark.parametrize("case", sorted(BLANKS))
def test_a_url_header_with_blanks_is_logged_as_sent_within_the_budget(
        case: str, lists: str) -> None:
    """Failed before: 10 of 10 (each hidden whole, or the second of two)."""
    fields = BLANKS[case]
    assert sum(len(value) for _, value in fields) < MOST_READ
    assert _request_headers(fields, LISTS[lists]) == [value for _, value in fields]


@pytest.mark.parametrize("lists", sorted(LISTS))
def test_a_password_beside_blanks_is_hidden_and_the_budget_still_holds(lists: str) -> None:
    """A nested URL's password in a 9 KB Referer with an encoded line break is hidden,
    the rest kept (failed before: hidden whole); past the budget the value that no
    longer fits is hidden whole (as before)."""
    nested = ("https://app.example.com/cb?note=a%0Ab&next=https%3A%2F%2Fada%3A" + SECRET
              + "%40db%2F&pad=")
    fields = [("Referer", nested + "s" * 9000), ("X-Original-URL", FORM + "t" * 9000)]
    logged = _request_headers(fields, LISTS[lists])
    assert SECRET not in json.dumps(logged)
    assert logged[0].startswith("https://app.example.com/cb?note=") and "s" * 9000 in logged[0]
    assert logged[1].startswith("[REDACTED ") and logged[1].endswith("]")
