"""The caller's key's base64 percent-encoded in a text: a URL's, a query's, a cookie's or
a header's value, or a body quoting a form's (urlencode writes "+", "/" and "=" as %2B,
%2F, %3D, and a wrapped value's lines %0D%0A), once or twice. A run so encoded that
spells the key's bytes once decoded is written again masked, percent-encoded and wrapped
as it was. Pure functions of the text, the key and its mask; moved from
:mod:`readme_metrics.har.key_base64`, as is.
"""

from __future__ import annotations

import re
from functools import lru_cache, partial
from os.path import commonprefix
from typing import Optional
from urllib.parse import quote

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.key_base64_run import (
    decoded_masked,
    masked_runs,
    padded,
    rewrapped,
    spliced,
    unglued_spans,
)
from readme_metrics.har.key_base64_spellings import (
    ESCAPED_CHARACTER,
    base64_probe,
    base64_spellings,
    broken_spelling_in,
    unescaped,
)
from readme_metrics.har.percent import percent_decoded
from readme_metrics.har.text import PROBED_TEXT, rarest

__all__ = ["masked_encoded_runs", "masked_percent", "percent_spelled_in", "splitting_escape_in"]


# A run of base64 (either alphabet) percent-encoded in a URL, a query, a cookie: its
# characters maybe escaped (urlencode writes "+", "/" and "=" as %2B, %2F, %3D), lines
# of them (a wrapped value: %0D%0A, %0A), not starting inside an escape. In a JSON
# string a character kept as written by the percent-encoding may be escaped again as
# JSON escapes it (PHP writes "/" as "\\/", .NET "+" as "\\u002B": keyleak2, a value
# urlencoded keeping "/", "aMJZ\\/%0D%0A9yZG...", its run read from after the "\\/").
_ENCODED_CHARACTER = (r"(?:[A-Za-z0-9+/\-_]|%(?:2[BbDdFf]|3[0-9]|[46][1-9A-Fa-f]"
                      rf"|5[0-9AaFf]|7[0-9Aa])|{ESCAPED_CHARACTER})")
_ENCODED_RUN = re.compile(
    rf"(?<!%)(?<!%[0-9A-Fa-f]){_ENCODED_CHARACTER}+"
    rf"(?:(?:(?:%0[Dd])?%0[Aa])+{_ENCODED_CHARACTER}+)*(?:=|%3[Dd])*")
_ENCODED_BREAK = re.compile(r"\r?\n")
# One character of such a run as read: an escape (percent or JSON) or as written.
_ENCODED_TOKEN = re.compile(r"%[0-9A-Fa-f]{2}|\\/|\\u[0-9A-Fa-f]{4}|[^%]")


@lru_cache(maxsize=64)
def _encoded_pieces(key: str) -> tuple[str, ...]:
    """For each of
    :func:`~readme_metrics.har.key_base64_spellings.base64_spellings` holding a "+" or
    a "/" (which percent-encoding writes %2B, %2F), its longest piece without them: a
    text lacking every one holds no spelling percent-encoded (one without them is the
    same written as is)."""
    pieces = [max(re.split(r"[+/]", needle), key=len)
              for needle in base64_spellings(key) if "+" in needle or "/" in needle]
    return tuple(dict.fromkeys(pieces))


@lru_cache(maxsize=64)
def _splitting_escape(key: str) -> re.Pattern[str]:
    """An escape a text holds when it spells the ``key``'s bytes in base64
    percent-encoded with no piece of a spelling as written: a line break's (a wrapped
    value's %0D%0A, %0A: "cmRt%0D%0AZV94...") or that of the character every spelling
    holds (:func:`~readme_metrics.har.key_base64_spellings.base64_probe`; an encoder
    escaping every character: "%63%6D%52%74..."), in either case, encoded once or twice
    (%2563)."""
    escapes = ["0[Aa]"]
    # The character every spelling holds; with none (keyleak3, review125: 't64c5vspbn2o'
    # has three spellings sharing no character, and one with every character escaped
    # went out in clear), each spelling's rarest: one spelling so written holds its.
    probe = base64_probe(key)
    for character in sorted({probe} if probe else {
            rarest(needle, 1)[0] for needle in base64_spellings(key)}):
        high, low = divmod(ord(character), 16)
        escapes.append(f"{high:X}[{low:X}{low:x}]")
    once = "|".join(escapes)
    # An escape escaped again character by character ("%63" as "%25%36%33", keyleak3).
    every = "|".join(_every_escaped(escape) for escape in escapes)
    # (Not "%(?:25)?(?:...)": twice as slow over a text of many "%20"s.)
    return re.compile(rf"%(?:{once}|25(?:{once}|{every}))")


def _every_escaped(escape: str) -> str:
    """The pattern of an escape's two hex digits (``escape``: "6[3]" or "0[Aa]", the
    digits as :func:`_splitting_escape` writes them) each escaped again ("%36%33")."""
    high, low = escape[0], escape[2]
    low_digit = (f"%3{low}" if low.isdigit()
                 else f"%[46]{'ABCDEF'.index(low.upper()) + 1}")
    return f"%3{high}{low_digit}"


# In a long text the "%"s are looked at one by one first (each found at memchr speed):
# the search costs 35 us for 100 KB holding one "%", 0.25 ms holding 8,000 "%20"s, the
# first 32 of them about 5 us.
_FEW_ESCAPES = 32


def splitting_escape_in(text: str, key: str) -> bool:
    """Whether ``text`` holds one of :func:`_splitting_escape`'s escapes."""
    escape = _splitting_escape(key)
    if len(text) < PROBED_TEXT:
        return escape.search(text) is not None
    at = text.find("%")
    for _ in range(_FEW_ESCAPES):
        if at < 0:
            return False
        if escape.match(text, at):
            return True
        at = text.find("%", at + 1)
    return at >= 0 and escape.search(text, at) is not None


def percent_spelled_in(text: str, key: str) -> bool:
    """Whether ``text`` (holding a "%") may spell the (long) ``key``'s bytes in base64
    percent-encoded (a form's value quoted in a text body: ``Basic%20dXNl...%2B...``),
    as no search of it as written finds: a few ``in`` s, no decoding of the text. A
    spelling wrapped (%0D%0A) or with every character escaped may hold no piece as
    written, but holds one of :func:`_splitting_escape`'s escapes (house6: a text or
    JSON body holding one went out in clear)."""
    for piece in _encoded_pieces(key):  # noqa: SIM110 (no generator: see scrub_base64._holds)
        if piece in text:
            return True
    return splitting_escape_in(text, key)


def masked_percent(text: str, key: str, masked: str) -> str:
    """``text`` (a body's, holding a "%") with the ``key``'s base64 percent-encoded in it
    masked (:func:`masked_encoded_runs`), looked for only in a text holding a piece of
    such a spelling or an escape one needs (:func:`percent_spelled_in`)."""
    if percent_spelled_in(text, key):
        return masked_encoded_runs(text, key, masked)
    return text


def masked_encoded_runs(text: str, key: str, masked: str, url: bool = False) -> str:
    """``text`` (a URL, a query, a cookie's or a header's value) with each run of base64
    percent-encoded there (see :data:`_ENCODED_RUN`) that spells the (long) ``key``'s
    bytes once decoded written again with ``masked``'s bytes there, percent-encoded
    (its "+", "/", "=" and line breaks; a URL stays valid, and a query's value one) and
    wrapped as it was. ``text`` itself when none does. ``url``: ``text`` is a URL, a
    "/" written as is in its path the path's
    (:func:`~readme_metrics.har.key_base64_segments.masked_segments`), and a run from
    which the key is read with the characters before it (the path's "/": "v1/%41%42...",
    secrets22) the mask (:func:`~readme_metrics.har.key_base64_run.unglued`)."""
    if "%" not in text or not broken_spelling_in(text, key):
        return text
    if "%25" in text:
        text = _masked_every_escaped(text, key, masked)
        text = _masked_twice(text, key, masked, url)
    # (Its runs holding no "%" are masked_base64_runs's.)
    return masked_runs(text, key, (run for run in _ENCODED_RUN.finditer(text) if "%" in run[0]),
                       base64_spellings(key), _flat, partial(_encoded_segment, key, masked),
                       partial(_encoded_written, written=masked), quote(masked, safe="-_"), url)


# A run of escapes only, one of them a "%" escaped ("%25"): a percent-encoded text
# whose every character was escaped again (keyleak3: "%2B" as "%25%32%42", "c" as "%63").
_EVERY_ESCAPED_RUN = lazy_compile(r"(?:%[0-9A-Fa-f]{2}){4,}")


def _masked_every_escaped(text: str, key: str, masked: str) -> str:
    """``text`` with each run of escapes only holding a "%25" read as one level: decoded
    once whole (each escape one character), masked as :func:`masked_encoded_runs` masks
    a text, and if so written again every character escaped. Each token keeps its level
    (keyleak2's attempt read the once-level escapes inside a twice-encoded run, and a run
    escaped once glued to a "%25%33%44" was written a level deeper)."""
    spans = []
    for run in _EVERY_ESCAPED_RUN.finditer(text):
        found = run.group(0)
        if "%25" not in found:
            continue
        inner = "".join(chr(int(found[at + 1:at + 3], 16)) for at in range(0, len(found), 3))
        written = masked_encoded_runs(inner, key, masked)
        if written != inner:
            spans.append((run.start(), run.end(),
                          "".join(f"%{ord(character):02X}" for character in written)))
    return spliced(text, spans)


# A run of base64 percent-encoded twice (urlencode of a urlencoded value: "+" as %252B),
# its lines too (%250A), each character maybe (%2563: house6), not starting inside an
# escape; in a JSON string, what both encodings kept maybe escaped again ("\\/": keyleak2).
_TWICE_RUN = re.compile(
    r"(?<!%)(?<!%[0-9A-Fa-f])(?:[A-Za-z0-9\-_]"
    r"|%25(?:2[BbDdFf]|3[0-9Dd]|[46][1-9A-Fa-f]|5[0-9AaFf]|7[0-9Aa]|0[AaDd])"
    rf"|{ESCAPED_CHARACTER})+")


def _masked_twice(text: str, key: str, masked: str, url: bool) -> str:
    """``text`` with each run of base64 percent-encoded twice that spells the ``key``'s
    bytes once both are read masked as :func:`masked_encoded_runs` masks one encoded
    once, and encoded again ("%" as %25); ``url``: as it says there (a run glued to the
    path's "/": "v1/%2541%2542...", secrets22)."""
    spans = []
    for run in _TWICE_RUN.finditer(text):
        found = run.group(0)
        if "%25" not in found:
            continue
        once = found.replace("%25", "%")
        written = masked_encoded_runs(once, key, masked)
        if written != once:
            spans.append((run.start(), run.end(), written.replace("%", "%25")))
    if spans:  # (a body too: "%252FyZG1l...", the escape's "F" the first bits, keyleak1)
        glued = quote(masked, safe="-_").replace("%", "%25")
        spans = unglued_spans(text, spans, key, glued, _flat_twice)
    return spliced(text, spans)


def _flat_twice(found: str) -> str:
    """A run of base64 percent-encoded twice as a reader decoding both takes it."""
    return _flat(found.replace("%25", "%"))


def _flat(found: str) -> str:
    """A percent-encoded run of base64 as a reader takes it: decoded (its JSON escapes
    read), lines joined."""
    return "".join(_ENCODED_BREAK.split(_decoded(found)))


def _decoded(found: str) -> str:
    """A percent-encoded run of base64 decoded, its JSON escapes read (``\\/``), one
    character for each of its :data:`_ENCODED_TOKEN` s."""
    return unescaped(percent_decoded(found))


def _encoded_segment(key: str, masked: str, found: str, exact: bool) -> Optional[str]:
    """A percent-encoded run of base64 (see :func:`masked_encoded_runs`) written again
    with the key's bytes masked; None when it does not decode so (``exact``: see
    :func:`~readme_metrics.har.key_base64_run.decoded_masked`)."""
    flat = _flat(found)
    written = padded(flat, decoded_masked(flat, key, masked, False, exact))
    return None if written is None else _encoded_written(found, written)


def _encoded_written(found: str, written: str) -> str:
    """``written`` (a percent-encoded run of base64 read, masked; or the mask) written
    as the run ``found`` was: wrapped, what stood before the key as it was, the rest
    percent-encoded."""
    decoded = _decoded(found)
    lines = _ENCODED_BREAK.split(decoded)
    if len(lines) > 1:
        newline = _ENCODED_BREAK.search(decoded).group(0)  # type: ignore[union-attr]
        written = rewrapped(written, lines, newline)
    # What stands before the key's group of four (a path, a word) as it was written:
    # each character of the run is one escape or one character as written.
    same = len(commonprefix([decoded, written]))
    kept = "".join(_ENCODED_TOKEN.findall(found)[:same])
    return kept + quote(written[same:], safe="-_")
