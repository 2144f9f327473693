"""A run of base64 in a URL's path, read as the server reads it: a "/" there separates the
path's segments (in its query, or in a text that is no URL, it is base64's). The fewest
segments holding the caller's key's spelling are written again masked, the scheme, the
host and the other segments kept as they were. Pure functions of the run and its text;
moved from :mod:`readme_metrics.har.key_base64` (the search linear since secrets23).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Callable, Iterator, Optional, Sequence

__all__ = ["masked_segments", "path_cuts", "path_span"]


# A URL's scheme and "://" (its authority follows).
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")


def path_span(url: str) -> tuple[int, int]:
    """Where a URL's path stands in it (start, end): from the "/" after its authority
    (its userinfo too, when it has a password), or the first character of a relative
    one ("/files/..."), to its query or fragment; (0, 0) for a text that is no such URL
    (a header's other text: "s=...; Path=/")."""
    end = len(url)
    for mark in "?#":
        at = url.find(mark, 0, end)
        if at >= 0:
            end = at
    scheme = _SCHEME.match(url)
    if scheme is not None:
        authority = scheme.end()
        # Past a userinfo ("user:<base64>@host": a "/" in it is base64's).
        at = url.rfind("@", authority, end)
        if at >= 0 and ":" in url[authority:at]:
            authority = at + 1
        start = url.find("/", authority, end)
        return (start, end) if start >= 0 else (0, 0)
    return (0, end) if url[:1] == "/" else (0, 0)


def path_cuts(run: str, at: int, path: tuple[int, int]) -> list[int]:
    """Where (in the ``run``, standing ``at`` in its text) a "/" is the ``path``'s, not
    base64's: within a URL's path a "/" separates its segments, as the server reads
    it (in its query, or a text that is no URL, it is base64's)."""
    start, end = path[0] - at, path[1] - at
    if end <= 0 or start >= len(run) or "/" not in run:
        return []
    cuts = []
    slash = run.find("/", max(start, 0), end)
    while slash >= 0:
        cuts.append(slash)
        slash = run.find("/", slash + 1, end)
    return cuts


def masked_segments(run: str, at: int, cuts: list[int], needles: Sequence[str],
                     written: Callable[[str, bool], Optional[str]], fallback: str,
                     decoded: Callable[[str], str] = str,
                     key: Optional[str] = None) -> list[tuple[int, int, str]]:
    """The spans (in the text, the ``run`` standing ``at`` in it) to write a run of
    base64 in a URL's path again with, read as its segments (``cuts``: where a "/" of
    the path stands in it). The fewest segments holding a spelling (once ``decoded``)
    are tried first, then more around them, until ``written`` (what they are written
    as, masked; None if they do not decode so) reads some exactly, else some at all:
    the scheme, the host, the other segments and what follows are kept as they were
    (the whole run read as one became the mask, or its end decoded with the key was
    written again shifted: the endpoint gone from the log, review75). A run of base64
    with a "/" of its own there ("/p/<base64>", a route taking the rest of the path) is
    read whole when its piece cut at that "/" does not decode exactly; one that does
    (it ends on a whole group) is masked, the rest kept as written (no spelling left in
    it, but the run no longer decodes as one). None decoding, the fewest are
    ``fallback``.

    ``decoded`` (how a reader takes a text holding a "%", percent-decoded; one holding
    none is read as written) reads segments joined by "/" as its readings of each so
    joined (a percent escape holds no "/"). The spellings are found once in the run so read, each
    by its first and last segment (:func:`_reach`), and the segments around them tried
    in the same order, drawn as they are tried: linear in the run where reading each
    longer window again, and sorting every pair of ends to try, was quadratic in its
    segments (99 ms for 64 KiB of "AAA" + the key's base64 + "/" repeated, 1.4 s for
    256 KiB; secrets23).

    ``key``: ``written`` decodes a window (as ``decoded`` reads it) to the ``key``'s
    bytes (:func:`~readme_metrics.har.key_base64_run.decoded_masked`), and the windows
    that cannot are not tried (:class:`~readme_metrics.har.key_base64_windows.
    DecodableWindows`): the same output. Tried, every window around a spelling whose
    length stays one past a group of four was decoded, in both passes: 2.0 s for 16 KiB
    of "/" + the key's base64 cut + "AAA/" repeated (secrets24)."""
    bounds = []
    start = 0
    for cut in [*cuts, len(run)]:
        bounds.append((start, cut))
        start = cut + 1
    count = len(bounds)
    read, starts = _read(run, bounds, decoded)
    reach, latest = _reach(read, starts, count, needles)
    windows = None
    if key is not None and reach[0] < count:
        # (Imported for a path holding a spelling alone: most never do.)
        from readme_metrics.har.key_base64_windows import DecodableWindows

        windows = DecodableWindows(read, key, starts)
    spans = []
    first = 0
    while first < count:
        end = reach[first]
        if end >= count:
            break
        # (A spelling ending in ``end`` and starting before ``first`` starts before
        # the one that made ``end`` the first.)
        begin = latest[end]
        text = None
        for exact in (True, False):
            for low, high in (windows.tried(first, begin, end, exact) if windows
                              else _around(first, begin, end, count)):
                text = written(run[bounds[low][0]:bounds[high][1]], exact)
                if text is not None:
                    break
            if text is not None:
                break
        if text is None:
            low, high, text = begin, end, fallback
        spans.append((at + bounds[low][0], at + bounds[high][1], text))
        first = high + 1
    return spans


def _read(run: str, bounds: list[tuple[int, int]],
          decoded: Callable[[str], str]) -> tuple[str, list[int]]:
    """The ``run`` as ``decoded`` reads it by its segments (``bounds``), joined by "/",
    and where each segment starts in that."""
    if decoded is str or "%" not in run:
        return run, [low for low, _ in bounds]
    texts = [decoded(run[low:high]) for low, high in bounds]
    starts, place = [], 0
    for text in texts:
        starts.append(place)
        place += len(text) + 1
    return "/".join(texts), starts


def _reach(read: str, starts: list[int], count: int,
           needles: Sequence[str]) -> tuple[list[int], dict[int, int]]:
    """Where the ``needles`` stand in a run ``read`` by its ``count`` segments (each
    starting at ``starts``), each found once: for each segment, the first segment
    ending a spelling that starts in it or after (``count`` if none), and for each
    segment ending one, the last segment it starts in. Segments ``low`` to ``high`` hold
    a spelling read (joined by "/") when one starts in ``low`` or after and ends in
    ``high`` or before."""
    nearest = [count] * (count + 1)
    latest: dict[int, int] = {}
    for needle in needles:
        place = read.find(needle)
        while place >= 0:
            # The segments the spelling starts and ends in (a "/" of the path stands in
            # the segment before it).
            low = bisect_right(starts, place) - 1
            high = bisect_right(starts, place + len(needle)) - 1
            if high < nearest[low]:
                nearest[low] = high
            if latest.get(high, -1) < low:
                latest[high] = low
            place = read.find(needle, place + 1)
    for low in range(count - 1, -1, -1):
        if nearest[low + 1] < nearest[low]:
            nearest[low] = nearest[low + 1]
    return nearest, latest


def _around(first: int, begin: int, end: int, count: int) -> Iterator[tuple[int, int]]:
    """The first and last segments to try for a spelling read in segments ``begin`` to
    ``end``, of ``count``, none before ``first``: the fewest first, of as many the later
    first (each pair once, as tried: a run's every pair was sorted before)."""
    for width in range(end - begin, count - first):
        for low in range(min(begin, count - 1 - width), max(first, end - width) - 1, -1):
            yield low, low + width
