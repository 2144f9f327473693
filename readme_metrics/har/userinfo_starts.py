"""Where a URL holding a userinfo may start in a text, for :mod:`.text_userinfo`'s
readers: found from each scheme's ``://`` (as written, percent-encoded or with JSON's
``\\/``) that has an ``@`` (or ``%40``) ahead of it before anything ending an authority
(hostile57: each reader tried every character, and every scheme after a sign's escape
such as ``%20``, of a MiB of form: 3.4 times main's CPU, hostile56). One scan of the
text for those; then, for each, the scheme's start read backward and the reader's
pattern matched there (:func:`userinfo_matches`): the same matches as its ``finditer``
from a word's start merged with its matches after a sign's escape, in order, none
overlapping one before it (the reading hostile56 made, :data:`SIGN_ESCAPES`). Past
:data:`MOST_FOUND` separators in one text, where the next one is, and no more: its reader
hides the rest of the text unread (hostile61, fail closed).
"""

from __future__ import annotations

import re
from typing import Iterator, Union

from readme_metrics._lazy_re import lazy_compile

__all__ = ["ENCODED_SCAN", "MOST_FOUND", "RAW_SCAN", "SIGN_ESCAPES", "backward_run",
           "userinfo_matches"]

#: An ASCII sign's escape (no letter's, digit's, nor ``_+.-%``'s: a scheme's or a word's),
#: after which a URL percent-encoded may start, as after the sign written out, and so may
#: a URL written out (``see%20https://ada:...@h``, a browser's query: read as no URL,
#: glued to the escape's hex digit; hostile56); and a byte's of a character not ASCII
#: (``%E3%81%AFhttps%3A...``: Japanese prose, no blank before its URL; review148).
SIGN_ESCAPES = frozenset(f"%{point:02X}" for point in range(0x100) if point > 0x7F or not (
    chr(point).isalnum() or chr(point) in "_+.-%"))

#: A scheme's ``://`` as :data:`.text_userinfo._RAW` reads it, then an ``@`` before a
#: blank, ``"`` (but JSON's ``\\"``: a password's), a closing tag's ``</``, a backquote
#: (none is in an authority) or another URL's ``:/``: a userinfo may be there (a ``<``
#: or ``>`` a password's: ``:<password>@``, hostile59). Each ``://`` reads to
#: the next at most: linear. Its user, up to the first ``:`` or ``@``, holds no ``/``,
#: ``?``, ``#``, ``<``, ``>`` (as the reader's: a user's backslash is before another
#: character): ``https://registry.npmjs.org/@babel/core`` (a lock file's thousands) is
#: no userinfo, not found (hostile61: each counts toward :data:`MOST_FOUND`); nor is a
#: port then a path (``http://localhost:5173/@vite/client``), as the reader reads it.
RAW_SCAN = lazy_compile(
    r":(?:\\?/){2}(?=(?:[^\s\"<>`@:\\/?#]|\\[^\s\"<>`@:/?#])*(?:@|:(?![0-9]*(?:[/?#]|\\/))"
    r"[^\s\"<>`@:\\]*(?:(?::(?!\\?/)|\\\"?|<(?!/)|>)[^\s\"<>`@:\\]*)*@))")

#: The same percent-encoded (:data:`.text_userinfo._ENCODED`): ``:`` or ``%3A``, two
#: ``/`` or ``%2F`` (each maybe after a backslash, ``%5C``), then ``@`` or ``%40`` before
#: a blank, ``&``, ``=``, ``+``, a quote, ``<``, ``>``, a backslash, a backquote or
#: another such ``://``; its user holding no ``/``, ``?``, ``#``, as written or encoded
#: (as :data:`RAW_SCAN`'s).
_ENCODED_LOOK = (r"[^\s&=+\"'<>\\`@:%]*(?:(?:%(?!40|3[Aa](?:\\|%5[Cc])?(?:/|%2[Ff]))"
                 r"|:(?!(?:\\|%5[Cc])?(?:/|%2[Ff])))[^\s&=+\"'<>\\`@:%]*)*(?:@|%40)")
ENCODED_SCAN = lazy_compile(
    r"(?::|%3[Aa])(?:(?:\\|%5[Cc])?(?:/|%2[Ff])){2}(?=(?:[^\s&=+\"'<>\\`@:%/?#]"
    r"|%(?!40|3[Aa]|2[Ff]|3[Ff]|23))*(?:@|%40|(?::|%3[Aa])"
    r"(?![0-9]*(?:[/?#]|%(?i:2f|3f|23)|(?:\\|%5[Cc])(?:/|%2[Ff])))"
    + _ENCODED_LOOK + "))")

#: Separators (:data:`RAW_SCAN`'s, :data:`ENCODED_SCAN`'s) read in one text at most: a
#: reader's try and what it logs cost 2 to 8 us of the worker's CPU each (a MiB of
#: ``h://x@`` took about 1 s: hostile61). Past it :func:`userinfo_matches` gives where
#: the next one is, and its reader hides the rest of the text unread (fail closed): a
#: text holding more URLs with an ``@`` is an attack's (or a listing of a thousand
#: addresses beside their websites, hidden past the cap: over-hiding, no password sent).
MOST_FOUND = 512

#: A scheme read backward from its ``:`` (in the reversed text): its characters and its
#: encoded ``+`` (``%2B``, reversed ``B2%``: a ``%`` after ``B2`` read), as the readers'
#: schemes hold them. A run of characters first: the engine reads a MiB of them in 1 ms.
_SCHEME_BACKWARD = lazy_compile(r"[A-Za-z0-9+.\-]*(?:(?<=[Bb]2)%[A-Za-z0-9+.\-]*)*")
#: What a URL's scheme follows no word's character, as the readers' look behind says: an
#: ASCII one (a scheme is ASCII: a URL right after a character not ASCII starts there,
#: ``連絡先はhttps://ada:...@h``, prose without blanks; read as no URL, its password
#: sent in clear till review148). Nor a ``_`` (``x_https://``) or digits, ``+``, ``.``,
#: ``-`` before its first letter (``1https://``, :data:`_LEAD`): a scheme starts at a
#: letter, and one glued so was read as no URL, its password sent (hostile59).
_WORDLIKE = lazy_compile(r"[A-Za-z0-9+.\-%]")
#: What a scheme's run (:data:`_SCHEME_BACKWARD`'s) may hold before its first letter.
_LEAD = lazy_compile(r"[0-9+.\-]*")


#: How far back a run is read in a copy of its own before the whole text is reversed;
#: a text this short is reversed whole at once (cheaper than a copy for each of its URLs).
_NEAR = 64
_WHOLE = 4096


def backward_run(text: str, end: int, backward: re.Pattern[str], reverse: list[str]) -> int:
    """The length of ``backward``'s match (a pattern read in the reversed text, that
    matches always) ending at ``end``: read in the last :data:`_NEAR` characters reversed
    (a text over :data:`_WHOLE` characters), or, when it runs to their start, in the
    whole text reversed (``reverse[0]``, made once:
    a MiB's copy cost 0.4 to 0.9 ms for each body holding a URL; hostile58)."""
    if not reverse[0] and len(text) > _WHOLE:
        near = text[max(0, end - _NEAR):end][::-1]
        run = backward.match(near)
        length = 0 if run is None else run.end()
        if length < len(near) or end <= _NEAR:
            return length
    if not reverse[0]:
        reverse[0] = text[::-1]
    run = backward.match(reverse[0], len(text) - end)
    return 0 if run is None else run.end() - run.start()


def userinfo_matches(text: str, scan: re.Pattern[str], at: re.Pattern[str]
                     ) -> Iterator[Union[re.Match[str], int]]:
    """``at``'s matches (a reader's URL, no look behind it) in ``text``: from each scheme
    before a ``://`` that ``scan`` finds, that starts a word (``finditer`` of the reader
    with its look behind, no character of a word or ``%`` before it: each read from the
    end of the last) or follows a sign's escape (each read); in order, none overlapping
    one before it. Past :data:`MOST_FOUND` separators, where the next one starts (an
    ``int``), and no more: the caller hides the text from there."""
    reverse = [""]
    word_end = kept = 0
    for number, separator in enumerate(scan.finditer(text)):
        colon = separator.start()
        if number == MOST_FOUND:
            yield colon
            return
        run = colon - backward_run(text, colon, _SCHEME_BACKWARD, reverse)
        if run >= colon:
            continue
        lead = _LEAD.match(text, run, colon)  # (to its first letter: 1https://)
        start = run if lead is None else lead.end()
        if start >= word_end and start < colon and text[start].isascii() and (
                text[start].isalpha()) and (start > run or start == 0
                                            or _WORDLIKE.match(text, start - 1) is None):
            found = at.match(text, start)
            if found is not None:
                word_end = found.end()
                if found.start() >= kept:
                    kept = found.end()
                    yield found
        start = run + 2  # (a sign's escape's hex digits: the scheme after them)
        if (3 <= start < colon and text[start - 3] == "%" and text[start].isascii()
                and text[start].isalpha() and text[start - 3:start].upper() in SIGN_ESCAPES):
            found = at.match(text, start)
            if found is not None and found.start() >= kept:
                kept = found.end()
                yield found
