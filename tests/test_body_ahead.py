"""read_ahead and readline_ahead: a body read partly ahead of its reader (by the grouping
function) reads exactly as the body itself would, whatever the sizes asked."""

from __future__ import annotations

import io
from typing import Optional

from hypothesis import given
from hypothesis import strategies as st

from readme_metrics.capture.body import read_ahead, readline_ahead

SIZES = st.one_of(st.none(), st.integers(min_value=-2, max_value=12))
CALLS = st.lists(st.tuples(st.sampled_from(["read", "readline"]), SIZES), max_size=12)


class _Reader:
    """What the tees do: bytes read ahead served first, then the stream."""

    def __init__(self, ahead: bytes, stream: io.BytesIO) -> None:
        self.ahead = ahead
        self.stream = stream

    def read(self, size: Optional[int]) -> bytes:
        if not self.ahead:
            return self.stream.read(size)
        head, self.ahead, more = read_ahead(self.ahead, size)
        return head + self.stream.read(more) if more else head

    def readline(self, size: Optional[int]) -> bytes:
        if not self.ahead:
            return self.stream.readline(size)
        head, self.ahead, more = readline_ahead(self.ahead, size)
        return head + self.readline(more) if more else head


@given(st.text(alphabet="ab\n\xe9", max_size=40).map(str.encode),
       st.integers(min_value=0, max_value=40), CALLS)
def test_reads_through_bytes_read_ahead_are_the_bodys_own(
        body: bytes, split: int, calls: list[tuple[str, Optional[int]]]) -> None:
    split = min(split, len(body))
    whole = io.BytesIO(body)
    reader = _Reader(body[:split], io.BytesIO(body[split:]))
    for method, size in calls:
        assert getattr(reader, method)(size) == getattr(whole, method)(size), (method, size)
    assert reader.read(None) == whole.read()


def test_a_read_within_the_bytes_ahead_reads_nothing_on() -> None:
    assert read_ahead(b"abcdef", 4) == (b"abcd", b"ef", 0)
    assert read_ahead(b"abc", 3) == (b"abc", b"", 0)
    assert read_ahead(b"abc", 0) == (b"", b"abc", 0)
    assert read_ahead(b"abc", 5) == (b"abc", b"", 2)
    assert read_ahead(b"abc", None) == (b"abc", b"", -1)
    assert read_ahead(b"abc", -1) == (b"abc", b"", -1)
    assert readline_ahead(b"ab\ncd", None) == (b"ab\n", b"cd", 0)
    assert readline_ahead(b"ab\n", None) == (b"ab\n", b"", 0)
    assert readline_ahead(b"ab\n", 7) == (b"ab\n", b"", 0)
    assert readline_ahead(b"abcd", 2) == (b"ab", b"cd", 0)
    assert readline_ahead(b"ab", 5) == (b"ab", b"", 3)
    assert readline_ahead(b"ab", -1) == (b"ab", b"", -1)
    assert readline_ahead(b"ab", 0) == (b"", b"ab", 0)
