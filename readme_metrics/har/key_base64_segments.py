"""A run of base64 in a URL's path, read as the server reads it: a "/" there separates the
path's segments (in its query, or in a text that is no URL, it is base64's). The fewest
segments holding the caller's key's spelling are written again masked, the scheme, the
host and the other segments kept as they were. Pure functions of the run and its text;
moved from :mod:`readme_metrics.har.key_base64`, as is.
"""

from __future__ import annotations

import re
from typing import Callable, Optional, Sequence

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
                     decoded: Callable[[str], str] = str) -> list[tuple[int, int, str]]:
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
    ``fallback``."""
    bounds = []
    start = 0
    for cut in [*cuts, len(run)]:
        bounds.append((start, cut))
        start = cut + 1

    def holds(low: int, high: int) -> bool:
        text = decoded(run[bounds[low][0]:bounds[high][1]])
        for needle in needles:  # noqa: SIM110 (no generator: see scrub._holds)
            if needle in text:
                return True
        return False

    spans = []
    first, count = 0, len(bounds)
    while first < count:
        end = next((high for high in range(first, count) if holds(first, high)), None)
        if end is None:
            break
        begin = next(low for low in range(end, first - 1, -1) if holds(low, end))
        tried = sorted(((low, high) for low in range(first, begin + 1)
                        for high in range(end, count)),
                       key=lambda pair: (pair[1] - pair[0], -pair[0]))
        text = None
        for exact in (True, False):
            for low, high in tried:
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
