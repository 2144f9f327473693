"""cpu33: two C-call cuts on the sender's build of a log, the logs unchanged.

- :func:`~readme_metrics.capture.request_head.environ_head` makes the request's header
  pairs by ``zip`` of the plan's names and its values picked by one ``itemgetter`` when
  every value is ASCII (one ``join`` and ``isascii`` a log), not by a Python loop of
  ``isascii`` and ``append`` a header.
- :func:`~readme_metrics.har.base64_starts.zlib_pair_in` walks a second character's
  occurrences by ``str.partition`` (one argument) instead of ``str.find(second, at)``
  (an argument tuple parsed a call): the denylisted GET's headers.

Counted, not timed (tests/support/work_count.py): the C calls each makes.
"""

from __future__ import annotations

from itertools import product
from typing import Any

import pytest

from readme_metrics.capture.environ_strings import environ_strings
from readme_metrics.capture.latin1 import header_text
from readme_metrics.capture.request_head import environ_head
from readme_metrics.har.base64_starts import ZLIB, ZLIB_START, zlib_pair_in
from tests.support.bench_request import GET_HEADERS
from tests.support.work_count import calls_where


def _c_calls(build: Any, name: str) -> int:
    return calls_where(build, lambda frame, event, arg: event == "c_call"
                       and getattr(arg, "__name__", "") == name)


def _environ(headers: list[tuple[str, str]], **more: str) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/v1/widgets/12345",
        "QUERY_STRING": "expand=owner", "SERVER_NAME": "api.example.com",
        "SERVER_PORT": "443", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.12",
        "wsgi.url_scheme": "https", **more,
    }
    for name, value in headers:
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def _head(environ: dict[str, Any]) -> tuple[Any, ...]:
    keys, values, _ = environ_strings(environ)
    return environ_head(keys, values)


def test_the_bench_gets_header_pairs_take_no_isascii_a_header() -> None:
    """Before: 14 ``isascii`` calls (one a header, one the URL's); now 2 (the header
    values joined, once, and the URL's)."""
    environ = _environ(GET_HEADERS)
    keys, values, _ = environ_strings(environ)
    environ_head(keys, values)  # the plan made
    assert _c_calls(lambda: environ_head(keys, values), "isascii") == 2
    assert _c_calls(lambda: environ_head(keys, values), "append") == 0
    assert environ_head(keys, values)[3] == GET_HEADERS


# (the headers as the environ holds them, the pairs the log shows: a WSGI server's
# latin-1 string of UTF-8 bytes read back as UTF-8, as header_text does)
HEADER_CASES = [
    ([], []),
    ([("Accept", "*/*")], [("Accept", "*/*")]),
    ([("Accept", "*/*"), ("X-Name", "Zo\u00c3\u00ab")],
     [("Accept", "*/*"), ("X-Name", header_text("Zo\u00c3\u00ab"))]),
    ([("X-Name", "caf\u00c3\u00a9")], [("X-Name", "caf\u00e9")]),
    ([("X-A", "\u00ff"), ("X-B", "plain"), ("X-C", "")],
     [("X-A", header_text("\u00ff")), ("X-B", "plain"), ("X-C", "")]),
]


@pytest.mark.parametrize(("sent", "logged"), HEADER_CASES)
def test_header_pairs_as_before(sent: list[tuple[str, str]], logged: list[tuple[str, str]]) -> None:
    """Any number of headers (itemgetter of none or one index is no tuple), ASCII or
    not: each value as header_text reads it, in the environ's order."""
    assert _head(_environ(sent))[3] == logged
    # the request's Content-Type and -Length (CGI variables) still come after them
    more = _head(_environ(sent, CONTENT_TYPE="application/json", CONTENT_LENGTH="2"))[3]
    assert more == [*logged, ("Content-Type", "application/json"), ("Content-Length", "2")]


def test_the_denied_gets_headers_find_no_pair_by_find() -> None:
    """The bench GET's header values joined hold capitals (the pairs' second
    characters): before, 8 ``str.find`` calls walked them; now none."""
    joined = "\n".join(value for _, value in GET_HEADERS)
    assert not zlib_pair_in(joined)
    assert _c_calls(lambda: zlib_pair_in(joined), "find") == 0
    assert _c_calls(lambda: zlib_pair_in(joined), "partition") > 0


def test_pair_in_answers_as_the_pattern_for_every_short_text() -> None:
    """Every text of up to 4 characters over the pairs' characters and one other: a
    pair at the start, at the end, two seconds in a row, a second at position 0."""
    alphabet = sorted({pair[0] for pair in ZLIB} | {pair[1] for pair in ZLIB} | {"x"})
    for size in range(5):
        for letters in product(alphabet, repeat=size) if size < 4 else (
                (first, *rest) for first in "xAeB" for rest in product(alphabet, repeat=3)):
            text = "".join(letters)
            assert zlib_pair_in(text) is (ZLIB_START.search(text) is not None), text


def test_pair_in_past_the_few_heads_still_answers() -> None:
    """Occurrences past the few looked at one by one: the pattern decides, as before."""
    second = sorted({pair[1] for pair in ZLIB})[0]
    first = next(pair[0] for pair in ZLIB if pair[1] == second)
    for many in (15, 16, 17, 40):
        text = ("y" + second) * many
        assert zlib_pair_in(text) is False
        assert zlib_pair_in(text + first + second) is True
        assert zlib_pair_in(second * many) is False
