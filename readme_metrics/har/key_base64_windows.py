"""Which windows of a run of base64 in a URL's path (some of its segments joined by "/") can
decode to the caller's key's bytes, known without decoding them: the order
:func:`~readme_metrics.har.key_base64_segments.masked_segments` tries them in, those that
cannot left out (secrets24). A window decodes to the key's bytes (in
:func:`~readme_metrics.har.key_base64_run.decoded_masked`'s first pass) only from a start
in the group of four where they start (a place :func:`key_groups` finds once in the run,
as a reader of either alphabet takes it), when what follows that start has a length base64
can have (not one past a group), and, read ``exact``, when its last character holds no
bit past the data (its encoding). The first two depend on the window's ends alone: for
each last segment, the latest such start (:class:`DecodableWindows`), and a window
decodes only if it starts at or before it. A path whose every window keeps a length that
cannot decode (``"/v1/" + base64(key)[:-2] + "AAA/" + "AAA/" * n``) was tried whole,
pair of ends by pair of ends, each a decode of the window: 2.0 s at 16 KiB; now none is.
A pure function of the run read, the key and the segments.
"""

from __future__ import annotations

import binascii
from base64 import b64decode
from bisect import bisect_right
from heapq import heappop, heappush
from typing import Iterator

from readme_metrics.har.key_base64_spellings import lead_spellings
from readme_metrics.masking import utf8

__all__ = ["DecodableWindows", "key_groups"]

# URL-safe base64's "-" and "_" as the standard alphabet writes them (a reader of either).
_TO_STANDARD = str.maketrans("-_", "+/")
# Each character of standard base64 -> its six bits.
_BITS = {character: value for value, character in enumerate(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


def key_groups(read: str, key: str) -> list[tuple[int, int]]:
    """Where the ``key``'s bytes stand in the run of base64 ``read`` (either alphabet, a
    "/" base64's): for each, the start of its first group of four and the end of the
    last character holding a bit of them. Each start a decode of the text reading the
    key's bytes there starts at, in its group (a necessary condition: their
    characters decode to them)."""
    data = utf8(key)
    standard = read.translate(_TO_STANDARD)
    out = []
    for needle, first, lead, length in lead_spellings(key):
        # (A key of one byte second in its group has no character of its own: its
        # needle is "", found at every place, each a group of three characters tried;
        # left out, a path carrying it went out as written: review107.)
        at = standard.find(needle)
        while at >= 0:
            start = at - first
            if start >= 0 and start + length <= len(standard):
                chunk = standard[start:start + length]
                try:
                    decoded = b64decode(chunk + "=" * (-len(chunk) % 4), validate=True)
                except (binascii.Error, ValueError):
                    decoded = b""
                if decoded[lead:lead + len(data)] == data:
                    out.append((start, start + length))
            at = standard.find(needle, at + 1)
    return out


class DecodableWindows:
    """The windows of a run's segments (``starts``: where each starts in the run
    ``read``, a "/" between each and the next) that may decode to the ``key``'s bytes,
    drawn in the order :func:`~readme_metrics.har.key_base64_segments.masked_segments`
    tries them (:meth:`tried`). Worked out once per run: linear in it, but for a
    ``bisect`` per segment."""

    def __init__(self, read: str, key: str, starts: list[int]) -> None:
        self.starts = starts
        count = len(starts)
        groups = sorted(key_groups(read, key), key=lambda group: group[1])
        ends = [end for _, end in groups]
        # For each place in a group of four, the latest start of a group of the key's
        # bytes ending at or before each of ``ends``' (-1: none).
        latest = [[-1] * (len(groups) + 1) for _ in range(4)]
        for index, (start, _) in enumerate(groups):
            for place in range(4):
                latest[place][index + 1] = latest[place][index]
            latest[start % 4][index + 1] = max(latest[start % 4][index], start)
        standard = read.translate(_TO_STANDARD)
        # For each last segment, the latest start a window ending there may start at and
        # decode to the key's bytes, any or exactly; and the latest of those for it or
        # any after it (no window reaching further decodes when that stands before the
        # window's start).
        self._latest: dict[bool, list[int]] = {True: [-1] * count, False: [-1] * count}
        for high in range(count):
            end = starts[high + 1] - 1 if high + 1 < count else len(read)
            while end > starts[high] and read[end - 1] == "=":  # (its padding)
                end -= 1
            index = bisect_right(ends, end)
            bits = _BITS.get(standard[end - 1], -1) if end > 0 else -1
            for place in range(4):
                start = latest[place][index]
                if start < 0:
                    continue
                left = (end - start) % 4
                if left == 1:  # (a length past a group: no base64)
                    continue
                if start > self._latest[False][high]:
                    self._latest[False][high] = start
                # Exactly as encoding writes it: the last character's bits past the
                # data are zero.
                if (left == 0 or left == 2 and bits >= 0 and not bits & 15
                        or left == 3 and bits >= 0 and not bits & 3) and (
                            start > self._latest[True][high]):
                    self._latest[True][high] = start
        self._further: dict[bool, list[int]] = {}
        for exact, latest_start in self._latest.items():
            further = latest_start + [-1]
            for high in range(count - 1, -1, -1):
                further[high] = max(further[high], further[high + 1])
            self._further[exact] = further

    def tried(self, first: int, begin: int, end: int, exact: bool) -> Iterator[tuple[int, int]]:
        """The first and last segments of each window holding segments ``begin`` to
        ``end``, none before ``first``, that may decode to the key's bytes (``exact``:
        as encoding them writes them), in the order tried: the fewest segments first,
        of as many the later first. A last segment's windows are drawn as the order
        reaches them (it cannot give one of fewer segments than from ``begin``), and
        none past the last that may decode: linear in the segments drawn."""
        starts, latest, further = self.starts, self._latest[exact], self._further[exact]
        count = len(starts)
        floor = starts[first]
        waiting: list[tuple[int, int]] = []  # (segments - 1, -last segment)
        high = end
        while True:
            while high < count and (not waiting or high - begin <= waiting[0][0]):
                if further[high] < floor:
                    high = count
                    break
                low = min(begin, bisect_right(starts, latest[high]) - 1)
                if low >= first:
                    heappush(waiting, (high - low, -high))
                high += 1
            if not waiting:
                return
            width, last = heappop(waiting)
            yield -last - width, -last
            if -last - width > first:
                heappush(waiting, (width + 1, last))
