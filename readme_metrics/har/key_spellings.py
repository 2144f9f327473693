"""How the caller's key can be spelled in a url, a form or a JSON text: the patterns and
pure helpers :class:`~readme_metrics.har.credentials.CallerKey` looks for it with (each
character as is, percent-encoded, form-encoded or JSON-escaped). Moved from
:mod:`readme_metrics.har.credentials`, as is.
"""

from __future__ import annotations

import re
from typing import Callable, Optional

from readme_metrics.har.deep_json import loads
from readme_metrics.masking import utf8

# A run of ASCII letters and digits, and one of them percent-encoded (no URL needs to),
# or encoded twice (a link in a query value: %256F).
ALNUM_RUN = re.compile(r"[A-Za-z0-9]+")
ALNUM_ESCAPE = re.compile(r"%(?:25)?(?:3[0-9]|[46][1-9A-Fa-f]|[57][0-9Aa])")
# JSON escapes: of a printable ASCII character, of any character.
ASCII_ESCAPE = re.compile(r"\\u00[2-7][0-9A-Fa-f]")
ANY_ESCAPE = re.compile(r"\\u")
_SHORT_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n",
                  "r": "\r", "t": "\t"}
# What follows a backslash in a JSON escape (a key starting with one, after a backslash:
# see as_is_masked).
_ESCAPED_FIRST = frozenset(_SHORT_ESCAPES) | {"u"}


def rooted_pattern(key: str) -> re.Pattern[str]:
    """A pattern of a key starting with "/" as a url may spell it: that "/" as is (the
    path's own), each other character as is or percent-encoded (in either case), a blank
    as "+" too."""
    parts = []
    for char in key[1:]:
        encoded = "".join(f"%(?i:{byte:02x})" for byte in utf8(char))
        spaced = "|\\+" if char == " " else ""
        parts.append(f"(?:{re.escape(char)}|{encoded}{spaced})")
    return re.compile("/" + "".join(parts))


def encodable(text: str) -> bool:
    """Whether ``text`` has UTF-8 (no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def longest_first(spellings: set[str]) -> tuple[str, ...]:
    """``spellings`` longest first, as one can start another ("k%" starts "k%25"), and in
    the same order in every process (a set's order follows the string hashes)."""
    return tuple(sorted(spellings, key=lambda spelling: (-len(spelling), spelling)))


def replaced(text: str, spellings: tuple[str, ...], mask: str) -> str:
    """``text`` with each of ``spellings`` (longest first) replaced by ``mask``."""
    for spelling in spellings:
        if spelling in text:
            text = text.replace(spelling, mask)
    return text


def as_is_masked(text: str, key: str, masked: str) -> str:
    """``text.replace(key, masked)`` for a JSON text: not where a backslash just before
    the key makes its first character an escape's (``\\/`` in ``"\\/v1/keys"``, ``\\n``):
    there it is no "/" (or "n") of the key as is (an escaped "/" is the key escaped,
    :func:`json_pattern`'s), and a mask written after that backslash was no JSON
    (``"\\sha512-..."``). After an escaped one (``\\\\``) the key stands as is."""
    if key[:1] not in _ESCAPED_FIRST or "\\" + key not in text:
        return text.replace(key, masked)
    return re.sub(r"(?<!\\)((?:\\\\)*)" + re.escape(key),
                  lambda found: found[1] + masked, text)


def is_json(text: str) -> bool:
    try:
        loads(text, parse_int=str)
    except (ValueError, RecursionError):
        return False
    return True


def json_decoded(text: str, key: str) -> str:
    """``text`` with the JSON escapes that can spell ``key`` (printable, no quote, no
    backslash) decoded, to look for it: the ``\\uXXXX`` ones in C (``\\\\u0041`` stays,
    as JSON reads it; a Go server's JSON of 256 KB holding 20,000 ``\\u003c`` takes
    0.4 ms, against 6 ms with a callback per escape), then ``\\/``."""
    if "\\" not in text:
        return text
    decoded = text.encode("raw_unicode_escape").decode("raw_unicode_escape", "replace")
    if any(character > "\uffff" for character in key):  # a surrogate pair is one character
        decoded = decoded.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return decoded.replace("\\/", "/") if "/" in key else decoded


def json_pattern(key: str, whole: bool) -> re.Pattern[str]:
    """Any JSON spelling of ``key``: each character as is or escaped (``\\uXXXX`` in either
    case, a surrogate pair beyond the BMP, or its one-character escape), inside quotes for
    a ``whole`` string."""
    pattern = json_spelling(key)
    if whole:
        return re.compile(f'"{pattern}"')
    # Not from inside an escape: after an even number of backslashes (its group 1, kept),
    # as a JSON reader takes them. After "\\\\" (an escaped backslash) a "\\/" is an
    # escaped "/", but in "\\\\/" the "/" is as is: read as "\\/", the backslash went
    # with the key and what was written after the other one was no JSON ("\\s...").
    return re.compile(rf"(?<!\\)((?:\\\\)*){pattern}")


# A character JSON can write with a one-character escape, and that escape.
_SHORT_SPELLED = {character: "\\" + escape for escape, character in _SHORT_ESCAPES.items()}


def _json_escaped(character: str) -> str:
    """``character`` as JSON's ``\\uXXXX`` escape (two for one beyond the BMP)."""
    units = character.encode("utf-16-be", "surrogatepass")
    return "".join(f"\\u{units[at]:02x}{units[at + 1]:02x}" for at in range(0, len(units), 2))


def json_spelling(key: str) -> str:
    """A pattern of any JSON spelling of ``key`` (see :func:`json_pattern`)."""
    return _any_spelling(key, (_json_escaped,), _SHORT_SPELLED)


def url_pattern(key: str) -> re.Pattern[str]:
    """Any URL spelling of ``key``: each character as is or percent-encoded (its UTF-8
    bytes, hex digits in either case), or encoded twice (``%252F``: a link inside a query
    value), and then the escape's hex digits escaped too (``%25%32%46``, ``%25%32F``: a
    text every character of which was escaped, escaped again), a space as "+" too. The
    encoded forms are tried first, as a key can start its own encoding ("k%" starts
    "k%25")."""
    def twice(character: str) -> str:
        return "".join(f"%25{byte:02X}" for byte in utf8(character))

    def encoded(character: str) -> str:
        return "".join(f"%{byte:02X}" for byte in utf8(character))

    pattern = _any_spelling(key, (twice, encoded), {" ": "+"}, _digits_escaped)
    return re.compile(pattern)


def _hex_digit(digit: str) -> str:
    """A pattern of one hex digit of an escape, as is or itself escaped (either case)."""
    if digit.isdigit():
        return f"(?:{digit}|%3{digit})"
    return f"(?:[{digit.upper()}{digit.lower()}]|%[46]{ord(digit.upper()) - 0x40})"


def _digits_escaped(character: str) -> str:
    """A pattern of ``character`` escaped twice, some hex digits of its escape escaped
    again (``%25%32%46`` for "/"): the escape of "%" is written as is."""
    return "".join(f"%25{_hex_digit(f'{byte:02X}'[0])}{_hex_digit(f'{byte:02X}'[1])}"
                   for byte in utf8(character))


def _any_spelling(key: str, encodings: tuple[Callable[[str], str], ...],
                  also: dict[str, str],
                  patterned: Optional[Callable[[str], str]] = None) -> str:
    """A pattern of ``key`` with each character as is or as one of ``encodings`` gives
    it (tried first, in order; hex digits in either case), or as ``also`` spells it, if
    it does; ``patterned`` gives a pattern of one more spelling, tried first."""
    characters = []
    for character in key:
        options = [patterned(character)] if patterned is not None else []
        options += [f"(?i:{re.escape(encoded(character))})" for encoded in encodings]
        options.append(re.escape(character))
        if character in also:
            options.append(re.escape(also[character]))
        characters.append(f"(?:{'|'.join(options)})")
    return "".join(characters)
