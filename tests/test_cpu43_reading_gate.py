"""cpu43 (issue 11): a browser's GET whose Referer holds an encoded ``@`` in its query
(``?email=ada%40example.com``) built without reading what can hold no URL's password.

1. hostile63 reads every URL header holding an ``@`` in some spelling as a text
   (``userinfo_hidden_in``: ~4 us a value, two a log when the key gate says no); a URL
   as written whose authority holds no ``@`` spelling and whose rest holds no ``:`` in
   any spelling (nor a deeper ``%25``/``%5C``) has nothing such a reader finds: not read
   (failed before: 2 reads a log). Counted, not timed.
2. The scrub's look for the caller's key in base64 broken across lines
   (``key_base64_spellings.unbroken``) ran its break pattern over the log's joined values
   whenever one held a ``%`` (~20 us a log); its every break holds a line feed or a
   backslash: not run on a text with neither (failed before: 1 scan a log).
3. Sameness, over generated values (hypothesis): each URL header value comes out as the
   build that reads every such value gives it, the budget of review152 spent alike; the
   text ``unbroken`` gives is the pattern's.
"""

from __future__ import annotations

from typing import Any, Callable

from hypothesis import example, given, settings
from hypothesis import strategies as st

from readme_metrics.exchange import Group
from readme_metrics.har import header_urls
from readme_metrics.har.build import _entry
from readme_metrics.har.credentials import for_key
from readme_metrics.har.header_reading import MOST_READ
from readme_metrics.har.key_base64_spellings import BREAK, unbroken, unescaped
from readme_metrics.har.redaction import Redactor
from readme_metrics.har.text_userinfo import userinfo_hidden_in
from tests.support.bench_request import GET_HEADERS, TOKEN
from tests.support.exchanges import make_exchange
from tests.support.work_count import calls_where

REFERER = "https://app.example.com/signup?email=ada%40example.com&step=2"
READER = userinfo_hidden_in.__code__


def _browser_get() -> Any:
    headers = [(name, REFERER if name == "Referer" else value) for name, value in GET_HEADERS]
    return make_exchange(
        url="https://api.example.com/v1/widgets/12345?expand=owner&limit=10",
        request_headers=headers, group=Group(TOKEN, None, None),
        response_headers=[("Content-Type", "application/json"), ("Content-Length", "11")])


def _build() -> dict[str, Any]:
    return _entry(_browser_get(), None, 1 << 18, for_key(TOKEN))


def _count(counted: Callable[[Any, str, Any], bool]) -> int:
    _build()  # (the header roles learned, the lazy patterns compiled)
    return calls_where(_build, counted)


def test_a_referers_encoded_at_in_its_query_is_not_read_as_a_text() -> None:
    reads = _count(lambda frame, event, arg: event == "call" and frame.f_code is READER)
    assert reads == 0
    referer = [h for h in _build()["request"]["headers"] if h["name"] == "Referer"]
    assert referer == [{"name": "Referer", "value": REFERER}]


def test_the_breaks_scan_runs_on_no_text_without_one() -> None:
    scans = _count(lambda frame, event, arg: event == "c_call" and getattr(
        arg, "__self__", None) is BREAK)
    assert scans == 0


def _read_always(value: str, left: list[int]) -> str:
    """The URL header's value as the build that reads each such value gives it."""
    readable = header_urls._readable
    header_urls._readable = lambda rest: True  # type: ignore[assignment]
    try:
        return header_urls.url_header_hidden(value, left=left)
    finally:
        header_urls._readable = readable


PIECES = ["https://", "http:", "//", "ada", "pw", "h", "example.com", "@", "%40", "%2540",
          "\\u0040", "%5Cu0040", ":", "%3A", "%3a", "\\u003a", "%253A", "/", "%2F", "\\/",
          "?", "#", "&", "=", "next=", "%25", "\\", "8080", " ", "[", "]", "x.y", "%20"]
PIECE_RUNS = st.lists(st.sampled_from(PIECES), max_size=8).map("".join)
#: A nested URL's userinfo in some spelling of each sign (its scheme's ``:``, ``//``,
#: the password's ``:``, the ``@``), or one without a password.
NESTED = st.tuples(
    st.sampled_from(["https", "ftp", ""]), st.sampled_from([":", "%3A", "\\u003a", "%253A"]),
    st.sampled_from(["//", "%2F%2F", "\\/\\/", "%252F%252F", ""]), st.sampled_from(["ada", ""]),
    st.sampled_from([":", "%3A", "\\u003a", "%253A", ""]), st.sampled_from(["pw", "p/w", ""]),
    st.sampled_from(["@", "%40", "\\u0040", "%2540", "%5Cu0040"]), st.sampled_from(["h", ""]),
).map("".join)
#: An authority with a userinfo in some spelling (no password, or a port after).
AUTHORITY = st.tuples(
    st.sampled_from(["ada", "a\\b", ""]), st.sampled_from([":", "%3A", "\\u003a", ""]),
    st.sampled_from(["pw", ""]), st.sampled_from(["@", "%40", "\\u0040", "%2540", "%5Cu0040"]),
    st.sampled_from(["h", "h:8080", ""])).map("".join)
VALUES = st.tuples(AUTHORITY | PIECE_RUNS, st.sampled_from(["", "/", "/p?next=", "?a=b&u=", "#"]),
                   NESTED | PIECE_RUNS, PIECE_RUNS).map("".join)


@settings(max_examples=600, deadline=None)
@example(tail="%40\\u0040", scheme="https://")
@example(tail="h/?next=https%3A%2F%2Fada%3Apw%40h", scheme="https://")
@example(tail="y", scheme="x%3A%2F%2Fada%3Apw%40h://")
@given(tail=VALUES, scheme=st.sampled_from(["https://", "http://", "ftp://", "x://", "", "//",
                                            "x%3A%2F%2Fada%3Apw%40h://", "ada:pw@h://"]))
def test_each_url_header_value_is_as_read_always(tail: str, scheme: str) -> None:
    """A value the gate reads is read (and charged to the log's budget) as always; one
    it leaves unread is charged nothing and logged as reading it with room left gives it
    (review155: such a value was charged, and hidden whole past the budget, unread)."""
    value = scheme + tail
    roomy = _read_always(value, [1 << 30])
    for budget in (MOST_READ, 12, 1):  # (1, not 0: any charge then shows in left)
        left, always = [budget], [budget]
        got = header_urls.url_header_hidden(value, left=left)
        if left == [budget]:  # (charged nothing: unread, or nothing a reader reads)
            assert got == roomy, value
        else:
            assert (got, left) == (_read_always(value, always), always), value
    assert header_urls.url_header_hidden(value) == roomy


@settings(max_examples=200, deadline=None)
@given(tail=VALUES)
def test_a_listed_build_of_such_a_referer_is_as_before(tail: str) -> None:
    redactor = Redactor(["password"])
    exchange = make_exchange(request_headers=[("Referer", "https://h/" + tail)])
    got = _entry(exchange, redactor, 1 << 18, for_key(TOKEN))
    readable = header_urls._readable
    header_urls._readable = lambda rest: True  # type: ignore[assignment]
    try:
        assert got == _entry(exchange, redactor, 1 << 18, for_key(TOKEN))
    finally:
        header_urls._readable = readable


BREAKS = st.lists(st.sampled_from(["a", "Zm9v", "%2B", "\n", "\r\n", "\\n", "\\r\\n",
                                   "\\u000A", "\\u000d\\u000a", "\\/", "\\u002B", "\\", "r",
                                   "u000", " "]), max_size=12).map("".join)


@settings(max_examples=400, deadline=None)
@given(text=BREAKS)
def test_unbroken_is_the_patterns_reading(text: str) -> None:
    assert unbroken(text) == BREAK.sub("", unescaped(text))
