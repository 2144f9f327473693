"""The caller's key's base64 broken in a text: wrapped across lines (MIME's 76 columns,
PEM's 64) or written with JSON's escapes ("\\/", "\\u002B"), so that no search of the
text as written finds a spelling. A run so broken holding one once read is written again
masked, unescaped and wrapped as it was. A pure function of the text, the key and its
mask; moved from :mod:`readme_metrics.har.key_base64`, as is.
"""

from __future__ import annotations

import re
from typing import Optional

from readme_metrics.har.key_base64_run import masked_run, rewrapped, spliced
from readme_metrics.har.key_base64_spellings import (
    BREAK,
    ESCAPE,
    URLSAFE_ESCAPE,
    base64_spellings,
    unbroken,
)

__all__ = ["masked_broken_runs"]


def _broken_run(characters: str, escape: str) -> re.Pattern[str]:
    """A run of base64 of ``characters`` so broken (its group 1): its characters (or
    ``escape`` s), lines of them. Not starting inside an escape: what follows an odd
    number of backslashes is an escape's (``\\n``, ``\\u0041``), no data; a run read
    from there and written again unescaped left a backslash before what it wrote
    (invalid JSON: ``\\A``). After an even number (escaped backslashes: ``\\\\``, a
    path's or a domain's separator) it is data: a run not starting there at all read
    the key's base64 one character late, and left it in clear (review75)."""
    character = f"(?:[{characters}]|{escape})"
    return re.compile(
        rf"(?<!\\)(?:\\\\)*({character}+(?:(?:{BREAK.pattern})+{character}+)*=*)")


# A run of standard base64 so broken, and of URL-safe base64.
_BROKEN_RUN = _broken_run("A-Za-z0-9+/", ESCAPE)
_BROKEN_URLSAFE_RUN = _broken_run(r"A-Za-z0-9\-_", URLSAFE_ESCAPE)


def masked_broken_runs(text: str, key: str, masked: str) -> str:
    """:func:`~readme_metrics.har.key_base64.masked_base64_runs` for a ``text`` holding a
    spelling wrapped across lines or written with JSON's escapes. A run so broken
    holding a spelling once read is written again masked, unescaped (as JSON reads it)
    and wrapped as it was: its first line as long, the next ones at the longest line's
    width, with its first line break. Runs of the alphabet of the first spelling found
    are read first (one holding neither "-" nor "_" is either alphabet's: standard),
    then, if a spelling is still there, those of the other (house6: a URL-safe run
    whose key's group starts on a "_", the spelling found first a standard one)."""
    needle = _found(text, key)
    if needle is None:
        return text
    # A spelling holding "-" or "_" is URL-safe base64's.
    urlsafe = "-" in needle or "_" in needle
    for runs in ((_BROKEN_URLSAFE_RUN, _BROKEN_RUN) if urlsafe
                 else (_BROKEN_RUN, _BROKEN_URLSAFE_RUN)):
        text = _masked_runs(text, key, masked, runs)
        if _found(text, key) is None:
            break
    return text


def _found(text: str, key: str) -> Optional[str]:
    """The first of the ``key``'s base64 spellings ``text`` holds once read unbroken."""
    flat = unbroken(text)
    for needle in base64_spellings(key):
        if needle in flat:
            return needle
    return None


def _masked_runs(text: str, key: str, masked: str, runs: re.Pattern[str]) -> str:
    """``text`` with each of its broken ``runs`` holding a spelling once read written
    again masked (see :func:`masked_broken_runs`)."""
    spans = []
    for run in runs.finditer(text):
        found = run.group(1)
        lines = [unbroken(line) for line in BREAK.split(found)]
        whole = "".join(lines)
        if not any(needle in whole for needle in base64_spellings(key)):
            continue
        written = masked_run(whole, key, masked, False)
        if len(lines) > 1:
            newline = BREAK.search(found).group(0)  # type: ignore[union-attr]
            written = rewrapped(written, lines, newline)
        spans.append((run.start(1), run.end(1), written))
    return spliced(text, spans)
