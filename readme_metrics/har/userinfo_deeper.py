"""A URL's userinfo written one percent-encoding deeper than :mod:`.text_userinfo`'s
readers read it (hostile58): encoded twice (``https%253A%252F%252Fada%253Apw%2540host``:
a query's value encoded once more, a form's value holding an encoded URL, a text quoting
one), or written with JSON's Unicode escapes then percent-encoded
(``https%3A%5Cu002f%5Cu002fada%3Apw%5Cu0040host``: a JSON document in a form's value).
Each was read as no URL and its password sent in clear (hostile56's fuzz: 1,034 of
1,800 URLs were of these shapes).

One scan of the text (:data:`FOUND`) finds each scheme's ``://`` in one of these
spellings with an ``@`` ahead (``@``, ``%40``, ``%2540``, ``%5Cu0040``) before anything
that ends a value (a blank, ``&``, ``=``, ``+``, a quote, ``<``, ``>``, a backslash, a
backquote) or another such ``://``, the ``://`` or the ``@`` one encoding deeper; a text
holding no such spelling (:data:`DEEPER`) is not scanned. Its scheme is read backward
from there (after a sign's escape too, ``%20`` or ``%2520``), and the window from it to
that end (or to the next such ``://``) is decoded once (:func:`deeper_windows`): the
reader that reads one encoding less reads it there. Each character is in one window at
most: linear. A window that holds nothing to hide (a user name alone before its ``@``,
then a host and a plain path, no ``:`` in any spelling: :data:`_PLAIN_WINDOW`) is not
decoded nor read (hostile60: a MiB of ``https%253A%252F%252Fa%2540`` decoded 40,329
windows, 1.13 s of CPU); past :data:`MOST_WINDOWS` windows read or :data:`MOST_FOUND`
found in one text, the rest of it is hidden unread (fail closed).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import chain
from typing import Callable, Iterator, Optional
from urllib.parse import unquote_to_bytes

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.userinfo_starts import SIGN_ESCAPES, backward_run

__all__ = ["DEEPER", "FOUND", "MOST_FOUND", "MOST_WINDOWS", "deeper_windows"]

#: What a deeper spelling holds: an escaped ``%`` before ``:``, ``/``, a backslash or
#: ``@``, or an escaped backslash then ``u00`` (one search of the text, which few texts
#: need: a ``%`` in it first; a form's ``%2525``, a value's ``%``, is none: hostile60).
DEEPER = lazy_compile(r"%(?:25(?:3[Aa]|2[Ff]|5[Cc]|40)|5[Cc]u00)")

#: A scheme's ``://``: each sign as written, encoded once or twice, or as JSON's escape
#: encoded (``%5Cu002f``), a ``/`` maybe after a backslash (``%5C``, ``%255C``: PHP's
#: ``\\/``); and the same with one sign at least spelled one encoding deeper.
_COLON = r"(?::|%3[Aa]|%253[Aa]|%5[Cc]u003[Aa])"
_SLASH_SIGN = r"(?:/|%2[Ff]|%252[Ff]|%5[Cc]u002[Ff])"
_SLASH = r"(?:(?:%5[Cc]|%255[Cc])?" + _SLASH_SIGN + ")"
_SLASH_DEEPER = r"(?:%255[Cc]" + _SLASH_SIGN + r"|(?:%5[Cc])?(?:%252[Ff]|%5[Cc]u002[Ff]))"
_SEPARATOR = _COLON + _SLASH + "{2}"
_AT = r"(?:@|%40|%2540|%5[Cc]u0040)"
_AT_DEEPER = r"(?:%2540|%5[Cc]u0040)"
#: What ends a value as written (the text's own level: none is in a URL encoded once more).
_ENDS = r"\s&=+\"'<>\\`"
#: What a look for a separator's ``@`` reads: to an end or another separator at most.
_LOOK = "(?:[^" + _ENDS + "@%:]|(?!" + _SEPARATOR + "|" + _AT + ")[%:])*"

#: A separator (before an end or another separator: each look reads to the next
#: separator at most) with its ``@`` ahead, spelled one encoding deeper, or whose ``@``
#: is: its separator or its ``@`` holds ``%25`` or ``u00`` (where a window starts or ends).
#: Each branch starts with ``:`` or ``%`` (the engine then tries no other character).
_AFTER_COLON = ("(?:(?:" + _SLASH_DEEPER + _SLASH + "|" + _SLASH + _SLASH_DEEPER + ")(?="
                + _LOOK + _AT + ")|" + _SLASH + "{2}(?=" + _LOOK + _AT_DEEPER + "))")
FOUND = lazy_compile(":" + _AFTER_COLON + "|%(?:(?:253[Aa]|5[Cc]u003[Aa])" + _SLASH
                     + "{2}(?=" + _LOOK + _AT + ")|3[Aa]" + _AFTER_COLON + ")")
#: A window that holds nothing to hide, after its separator to its end (an end, the
#: text's, the next window's separator: read to that bound): a user name alone (none, or
#: a letter then lowercase letters, ``.``, ``_``, ``-``; under 20 characters, not 8 hex
#: letters: what :func:`.text_userinfo.hidden_user` keeps), its ``@``, then a host and a
#: path of plain characters and ``/`` (as written, encoded once or twice). No ``:`` in
#: any spelling and no other escape: no password, no user holding an ``@`` (which needs
#: a ``:`` after it), the user as written.
_PLAIN_WINDOW = lazy_compile(
    r"(?:(?![A-Fa-f][a-f]{7})[A-Za-z][a-z._\-]{0,18})?" + _AT
    + r"(?:[A-Za-z0-9._~\-]|/|%2[Ff]|%252[Ff])*(?:[" + _ENDS + r"]|\Z)")

#: Windows read in one text at most, and separators found (:data:`FOUND`): past either,
#: the rest of the text is hidden unread (:func:`deeper_windows`' last item; fail
#: closed, no password in clear). A text holding more URLs one encoding deeper with an
#: ``@`` is an attack's: a window read costs 10 to 30 us of the worker's CPU, one found
#: 2 to 4 (hostile60: a MiB of them cost 1.1 s).
MOST_WINDOWS = 128
MOST_FOUND = 512
_END = lazy_compile("[" + _ENDS + "]")
#: A scheme read backward from its separator (in the reversed text): its characters and
#: its ``+`` encoded once or twice (``%2B``, ``%252B``: reversed ``B2%``, ``B252%``).
_SCHEME_BACKWARD = lazy_compile(r"[A-Za-z0-9.\-]*(?:(?:(?<=[Bb]2)|(?<=[Bb]252))%[A-Za-z0-9.\-]*)*")
#: Digits, ``.``, ``-`` before a scheme's first letter (``1https%253A``): the scheme
#: starts at that letter, as after a ``_`` (hostile59: read as no URL, sent).
_LEAD = lazy_compile(r"[0-9.\-]*")
_ESCAPE_RUN = lazy_compile(r"(?:%[0-9A-Fa-f]{2})+")


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


def deeper_windows(text: str) -> Iterator[tuple[int, Optional[str], Callable[[int], int]]]:
    """Each window of ``text`` where a URL spelled one encoding deeper may be: its start
    in ``text``, the window decoded once (the scheme first), the map of its indexes to
    ``text``'s; in order, each
    after the last one's ``://`` (a caller skips one that starts before its last match's
    end). A window holding nothing to hide (:data:`_PLAIN_WINDOW`) is not read. Past
    :data:`MOST_WINDOWS` windows or :data:`MOST_FOUND` separators, where the next one
    starts with None for its window, and no more: the caller hides the text from there
    (fail closed)."""
    reverse = [""]
    kept = read = 0
    last: Optional[re.Match[str]] = None  # (its window's bound: the next one found)
    for number, found in enumerate(chain(FOUND.finditer(text), (None,))):
        bound = len(text) if found is None else found.start()
        if last is not None and _PLAIN_WINDOW.match(text, last.end(), bound) is None:
            start = _scheme_start(text, reverse, last.start(), kept)
            if start >= 0 and read == MOST_WINDOWS:
                yield start, None, _unread
                return
            if start >= 0:
                read += 1
                stop = _END.search(text, last.end(), bound)
                window, to_text = _decoded(text, start, bound if stop is None else stop.start())
                yield start, window, to_text
                kept = last.end()
        if found is not None and number == MOST_FOUND:
            yield bound, None, _unread
            return
        last = found


def _unread(index: int) -> int:
    """The map of a window not read (:func:`deeper_windows`' last, past its windows)."""
    raise IndexError(index)
