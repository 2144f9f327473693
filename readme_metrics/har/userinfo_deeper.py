"""A URL's userinfo written one percent-encoding deeper than :mod:`.text_userinfo`'s
readers read it (hostile58): encoded twice (``https%253A%252F%252Fada%253Apw%2540host``:
a query's value encoded once more, a form's value holding an encoded URL, a text quoting
one), or written with JSON's Unicode escapes then percent-encoded
(``https%3A%5Cu002f%5Cu002fada%3Apw%5Cu0040host``: a JSON document in a form's value).
Each was read as no URL and its password sent in clear (hostile56's fuzz: 1,034 of
1,800 URLs were of these shapes).

One scan of the text (:data:`SCAN`) finds each scheme's ``://`` in one of these spellings
with an ``@`` ahead (``@``, ``%40``, ``%2540``, ``%5Cu0040``) before anything that ends a
value (a blank, ``&``, ``=``, ``+``, a quote, ``<``, ``>``, a backslash, a backquote) or
another such ``://``; a text holding neither ``%25`` nor ``%5Cu`` is not scanned. Its
scheme is read backward from there (after a sign's escape too, ``%20`` or ``%2520``), and
the window from it to that end (or to the next such ``://``) is decoded once
(:func:`deeper_windows`): the reader that reads one encoding less reads it there. Each
character is in one window at most: linear.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Callable, Iterator
from urllib.parse import unquote_to_bytes

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.userinfo_starts import SIGN_ESCAPES, backward_run

__all__ = ["DEEPER", "SCAN", "deeper_windows"]

#: What each such spelling holds: an escaped ``%`` or an escaped backslash then ``u``
#: (one search of the text, which few texts need: a ``%`` in it first).
DEEPER = lazy_compile(r"%(?:25|5[Cc]u)")

#: A scheme's ``://``: each sign as written, encoded once or twice, or as JSON's escape
#: encoded (``%5Cu002f``), a ``/`` maybe after a backslash (``%5C``, ``%255C``: PHP's
#: ``\\/``).
_SEPARATOR = (r"(?::|%3[Aa]|%253[Aa]|%5[Cc]u003[Aa])"
              r"(?:(?:%5[Cc]|%255[Cc])?(?:/|%2[Ff]|%252[Ff]|%5[Cc]u002[Ff])){2}")
_AT = r"(?:@|%40|%2540|%5[Cc]u0040)"
#: What ends a value as written (the text's own level: none is in a URL encoded once more).
_ENDS = r"\s&=+\"'<>\\`"

#: A separator (group 1), then (group 2) its ``@`` ahead before an end or another
#: separator: each look reads to the next separator at most.
SCAN = lazy_compile(
    "(" + _SEPARATOR + ")(?=(?:[^" + _ENDS + "@%:]|(?!" + _SEPARATOR + "|" + _AT + ")[%:])*("
    + _AT + "))")
_END = lazy_compile("[" + _ENDS + "]")
#: A scheme read backward from its separator (in the reversed text): its characters and
#: its ``+`` encoded once or twice (``%2B``, ``%252B``: reversed ``B2%``, ``B252%``).
_SCHEME_BACKWARD = lazy_compile(r"[A-Za-z0-9.\-]*(?:(?:(?<=[Bb]2)|(?<=[Bb]252))%[A-Za-z0-9.\-]*)*")
#: Digits, ``.``, ``-`` before a scheme's first letter (``1https%253A``): the scheme
#: starts at that letter, as after a ``_`` (hostile59: read as no URL, sent).
_LEAD = lazy_compile(r"[0-9.\-]*")
_ESCAPE_RUN = lazy_compile(r"(?:%[0-9A-Fa-f]{2})+")


def _deeper(separator: str, at: str) -> bool:
    """Whether a separator and its ``@`` are spelled one encoding deeper than the readers
    read (else theirs)."""
    return "%25" in separator or "u00" in separator or at in ("%2540", "%5Cu0040", "%5cu0040")


def _scheme_start(text: str, reverse: list[str], colon: int, kept: int) -> int:
    """Where the scheme before ``colon`` starts (not before ``kept``), after a sign's
    escape once or twice encoded (or glued to another escape, a digit, a ``_``: hostile59);
    -1 when no letter starts one there."""
    start = max(kept, colon - backward_run(text, colon, _SCHEME_BACKWARD, reverse))
    if 0 < start < colon and text[start - 1] == "%":  # (the run began in an escape)
        if text[start - 1:start + 2].upper() in SIGN_ESCAPES:
            start += 2
        elif text[start:start + 2] == "25" and "%" + text[start + 2:start + 4].upper() in (
                SIGN_ESCAPES):
            start += 4
        else:  # (a letter's or a digit's escape: glued, as to a letter written out)
            start += 2
    lead = _LEAD.match(text, start, colon) if start < colon else None
    start = start if lead is None else lead.end()
    return start if start < colon and text[start].isascii() and text[start].isalpha() else -1


def _decoded(text: str, start: int, end: int) -> tuple[str, Callable[[int], int]]:
    """``text[start:end]`` with each run of percent escapes decoded once (as UTF-8, or
    latin-1 when it is none), and the map of its indexes to ``text``'s."""
    parts: list[str] = []
    marks: list[int] = []  # where each part starts in the window decoded
    places: list[tuple[int, int]] = []  # ... in text; 0 as written, 1 UTF-8, 3 latin-1
    length, kept = 0, start
    for run in _ESCAPE_RUN.finditer(text, start, end):
        escapes = unquote_to_bytes(run[0])
        try:
            decoded, how = escapes.decode(), 1
        except UnicodeDecodeError:
            decoded, how = escapes.decode("latin-1"), 3
        for piece, place, kind in ((text[kept:run.start()], kept, 0),
                                   (decoded, run.start(), how)):
            if piece:
                marks.append(length)
                places.append((place, kind))
                parts.append(piece)
                length += len(piece)
        kept = run.end()
    if kept < end:
        marks.append(length)
        places.append((kept, 0))
        parts.append(text[kept:end])
    window = "".join(parts)

    def to_text(index: int) -> int:
        part = bisect_right(marks, index) - 1
        place, kind = places[part]
        offset = index - marks[part]
        if kind == 1:  # (3 characters for each byte of the UTF-8)
            return place + 3 * len(window[marks[part]:index].encode())
        return place + offset * kind if kind else place + offset
    return window, to_text


def deeper_windows(text: str) -> Iterator[tuple[int, str, Callable[[int], int]]]:
    """Each window of ``text`` where a URL spelled one encoding deeper may be: its start
    in ``text``, the window decoded once (the scheme first), the map of its indexes to
    ``text``'s; in order, each
    after the last one's ``://`` (a caller skips one that starts before its last match's
    end)."""
    found = [one for one in SCAN.finditer(text) if _deeper(one[1], one[2])]
    reverse = [""]
    kept = 0
    for number, separator in enumerate(found):
        start = _scheme_start(text, reverse, separator.start(), kept)
        if start < 0:
            continue
        bound = found[number + 1].start() if number + 1 < len(found) else len(text)
        stop = _END.search(text, separator.end(), bound)
        window, to_text = _decoded(text, start, bound if stop is None else stop.start())
        yield start, window, to_text
        kept = separator.end()
