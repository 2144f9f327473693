"""cpu36 (issue 11): cpu34's joined strings without its char-by-char NUL counts.

cpu34 keeps a queued WSGI log's environ values and response header strings as one string
each, joined by NUL, where no string holds a NUL; it checked that by counting the NULs
of each joined text (``str.count``: a loop over every character, 2.3k instructions for
the bench's 0.8 KB environ, most of cpu34's +8.1k a request). The environ's values are
now checked by one ``"\\0" in`` over the join the bytes were already counted by (memchr),
then joined by NUL; the response headers' strings the same way.

1. The request thread's text work (tests/support/work_count.py: calls, and the length of
   each text a C method is called on) does not grow with a header's size: 64 KB more of
   request header and 64 KB more of response header cost at most a few units more
   (failed at cpu34's commit: 131,078 more, each text counted once).
2. What is queued is still one string each where no string holds a NUL, and the tuple
   and pairs where one does (cpu34's tests hold the log to the same; here the shapes).
"""

from __future__ import annotations

from typing import Any

import pytest

from readme_metrics.capture.environ_strings import environ_strings
from tests.support.work_count import text_work
from tests.test_cpu34_queued_strings import (  # noqa: F401 (its autouse fixture, here too)
    _HEADERS,
    _PAIRS,
    _environ,
    _queued,
    _room_for_plans,
)

_BIG = 64 * 1024


def _work(header: str, pairs: list[Any]) -> int:
    """The text work of one queued GET (after two of its shape: plans made)."""
    headers = {**_HEADERS, "HTTP_X_BIG": header}
    _queued(headers, pairs, 2, [])
    return text_work(lambda: _queued(headers, pairs, 1, []))


def test_the_request_thread_reads_no_joined_text_char_by_char() -> None:
    small = _work("x", [*_PAIRS, ("X-Big", "y")])
    large = _work("x" * _BIG, [*_PAIRS, ("X-Big", "y" * _BIG)])
    assert large - small <= 16, (small, large)


@pytest.mark.parametrize("value", ["plain", "a\0b", "\0"])
def test_a_nul_in_a_value_keeps_the_tuple(value: str) -> None:
    environ = _environ({**_HEADERS, "HTTP_X_V": value})
    environ_strings(environ, True)  # (its shape's plan made)
    keys, values, nbytes = environ_strings(environ, True)
    plain = tuple(v for v in environ.values() if v.__class__ is str)
    assert nbytes == sum(map(len, keys)) + sum(map(len, plain))
    if "\0" in value:
        assert values == plain
    else:
        assert values == "\0".join(plain)


@pytest.mark.parametrize("pairs, joined", [
    ([*_PAIRS], True),
    ([("X-A", "x\0y"), *_PAIRS], False),
    ([("x\0n", "1")], False),
    ([(b"X-A", b"1")], False),
    ([], True),  # (the x-documentation-url pair)
])
def test_the_response_pairs_joined_where_no_string_holds_a_nul(
        pairs: list[Any], joined: bool) -> None:
    item, = _queued({}, pairs, 1, [])
    assert (item.response_headers.__class__ is str) is joined, item.response_headers
