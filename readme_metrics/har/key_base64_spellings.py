"""The texts that spell the caller's key in base64 data, and whether a text may hold one.
Wherever the key's bytes stand in encoded data, the characters that spell them are known
but for their alignment (three) and the alphabet (two): six texts, looked for with
``str`` searches, as written or broken (wrapped across lines, written with JSON's escapes,
percent-encoded). Worked out once per key; moved from
:mod:`readme_metrics.har.key_base64`, as is.
"""

from __future__ import annotations

import re
from base64 import b64encode
from functools import lru_cache

from readme_metrics.har.percent import percent_decoded
from readme_metrics.har.text import rarest
from readme_metrics.masking import utf8

__all__ = ["BREAK", "ESCAPE", "ESCAPED_CHARACTER", "TO_URLSAFE", "URLSAFE_ESCAPE",
           "aligned_spellings", "base64_probe", "base64_spellings", "broken_spelling_in",
           "escape_in", "lead_spellings", "shortest_spelling", "spelled_in", "unbroken",
           "unescaped"]

#: Standard base64's "+" and "/" as the URL-safe alphabet writes them.
TO_URLSAFE = str.maketrans("+/", "-_")
# A character of standard base64 escaped in a JSON string (.NET writes "+" as "\u002B",
# PHP "/" as "\/"), and a line break a reader takes out of wrapped base64 (MIME's 76
# columns, PEM's 64: CRLF or LF, as sent or as a JSON string's escapes).
ESCAPE = r"\\u00(?:2[BbFf]|3[0-9]|[46][1-9A-Fa-f]|[57][0-9Aa])|\\/"
# The same in the URL-safe alphabet ("-" and "_" for "+" and "/"; JSON escapes neither,
# but a text escaping every character does: "\u002d").
URLSAFE_ESCAPE = r"\\u00(?:2[Dd]|3[0-9]|[46][1-9A-Fa-f]|5[0-9AaFf]|7[0-9Aa])"
#: A JSON escape of a character of either alphabet, as :func:`unescaped` reads it.
ESCAPED_CHARACTER = rf"{ESCAPE}|\\u00(?:2[Dd]|5[Ff])"
_ESCAPED = re.compile(ESCAPED_CHARACTER)
BREAK = re.compile(r"\r?\n|\\r\\n|\\n|(?:\\u000[Dd])?\\u000[Aa]")


@lru_cache(maxsize=64)
def lead_spellings(key: str) -> tuple[tuple[str, int, int, int], ...]:
    """For each of the three places in a group of four the ``key``'s UTF-8 bytes can
    start at (``lead``, the bytes before them in it): the characters holding only their
    bits (standard alphabet), where those start in their first group, ``lead``, and the
    characters holding any of their bits (from the group's start)."""
    data = utf8(key)
    out = []
    for lead in range(3):
        encoded = b64encode(b"\0" * lead + data).decode("ascii")
        first = -(-8 * lead // 6)  # the first character holding none of the lead's bits
        last = 8 * (lead + len(data)) // 6  # past the last holding only the key's
        out.append((encoded[first:last], first, lead, -(-8 * (lead + len(data)) // 6)))
    return tuple(out)


@lru_cache(maxsize=64)
def aligned_spellings(key: str) -> tuple[tuple[str, int], ...]:
    """The characters that spell the ``key``'s UTF-8 bytes in base64 data at each of the
    three alignments, in the standard and the URL-safe alphabet (those holding no bit of
    a byte before or after it), each with where it starts in its first group of four."""
    out = []
    for needle, first, _lead, _length in lead_spellings(key):
        out += [(needle, first), (needle.translate(TO_URLSAFE), first)]
    return tuple(dict.fromkeys(out))


@lru_cache(maxsize=64)
def base64_spellings(key: str) -> tuple[str, ...]:
    """The texts spelling the ``key``'s bytes in base64 (each alignment and alphabet,
    :func:`aligned_spellings`), each once: a value holding none of them needs no
    :func:`~readme_metrics.har.key_base64.masked_base64_runs`."""
    return tuple(dict.fromkeys(needle for needle, _ in aligned_spellings(key)))


@lru_cache(maxsize=64)
def base64_probe(key: str) -> str:
    """The rarest character every one of :func:`base64_spellings` holds ("" if none): a
    text lacking it (and "%" and a backslash, which a broken one needs) holds none of
    them, passed by in one scan, or one ``in`` for a short value (a function call costs
    more; bench.py's 100 KB answer took two scans, one per probe, each about 12k
    instructions)."""
    needles = base64_spellings(key)
    common = set(needles[0]).intersection(*needles[1:]) if needles else set()
    return rarest("".join(sorted(common)), 1)[0] if common else ""


@lru_cache(maxsize=64)
def shortest_spelling(key: str) -> int:
    """The length of the shortest of :func:`base64_spellings`: a shorter value holds
    none (worked out once per key, not per log)."""
    return min([len(needle) for needle in base64_spellings(key)])


def spelled_in(text: str, key: str) -> bool:
    """Whether ``text`` may spell the (long) ``key``'s bytes in base64: as written, or
    broken (:func:`broken_spelling_in`)."""
    for needle in base64_spellings(key):
        if needle in text:
            return True
    return ("%" in text or "\n" in text or "\\" in text) and broken_spelling_in(text, key)


def broken_spelling_in(text: str, key: str) -> bool:
    """Whether ``text`` may spell the (long) ``key``'s bytes in base64 broken, as no
    search of it as written finds: wrapped across lines, written with JSON's escapes,
    or percent-encoded (a query's value: %2B, %0D%0A). Asked only of a text holding a
    "%", a line break or a backslash."""
    if "%" in text:
        text = percent_decoded(text)
        if "%" in text:  # encoded twice (a link in a query value: %252B)
            text = percent_decoded(text)
    flat = unbroken(text)
    for needle in base64_spellings(key):  # noqa: SIM110 (no generator: see scrub_base64._holds)
        if needle in flat:
            return True
    return False


def unbroken(text: str) -> str:
    """``text`` as a reader of wrapped base64 in a JSON string takes it: its line breaks
    out and the escapes of base64's characters read. (Each of :data:`BREAK`'s breaks
    holds a line feed or a backslash: a text with neither, a percent-decoded URL's, is
    not scanned: the scan of a small GET's joined values cost ~20 us a log; cpu43.)"""
    text = unescaped(text)
    return BREAK.sub("", text) if "\n" in text or "\\" in text else text


def unescaped(text: str) -> str:
    """``text`` with the JSON escapes of base64's characters read (``\\/``,
    ``\\u002B``), its line breaks as they are."""
    return _ESCAPED.sub(_escaped_character, text) if "\\" in text else text


def _escaped_character(escape: re.Match[str]) -> str:
    written = escape.group(0)
    return "/" if written == "\\/" else chr(int(written[2:], 16))


def escape_in(text: str, character: str) -> bool:
    """Whether ``text`` writes ``character`` as a JSON escape (``\\u004B``, either
    case)."""
    escape = f"\\u{ord(character):04x}"
    return escape in text or escape.upper().replace("\\U", "\\u") in text
