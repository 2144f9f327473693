"""A text read through its JSON escapes, for :meth:`Redactor.mentions_key
<readme_metrics.har.redaction.Redactor.mentions_key>`: whether a denied name could be
spelled in it with escapes (``"pa\\u0073sword"``, ``"a\\/b"``), in the text itself or in
a document held in a string of it, at any depth (``"{\\"pa\\\\u0073sword\\": 1}"``).

Before binary1, any ``\\u`` (and, for a name JSON writes with a short escape, any
backslash) was taken for such a spelling: the two bytes ``\\u`` turn up in one random
64 KiB body in two, and every binary body holding them was redacted whole. Now an escape
is decoded as JSON decodes it (``\\uXXXX`` with its four hex digits, a surrogate pair,
``\\"``, ``\\\\``, ``\\/``, ``\\b`` ...) and the names are looked for in what it gives.

:func:`escape_probe` is a pattern of the escapes that could matter to a list's names, found
at memory speed: of a character the names hold (in either case), of a NUL (a name
NUL-spaced, UTF-16), of what spells another escape one string deeper (a backslash, ``u``,
a hex digit: ``\\u005cu0070``), of a character beyond ASCII that case-folds to ASCII
(``\\u017f`` is ``ſ``, an ``s``; any beyond ASCII for a name beyond ASCII). A text
holding none spells no name through its escapes that it does not spell as written, at
any depth: :func:`spells` reads only a text that holds some.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable

from readme_metrics._lazy_re import lazy_compile

__all__ = ["ESCAPE_READINGS", "FOLDING_TO_ASCII", "QUERY_ESCAPES", "escape_probe",
           "decoded_once", "letters_decoded", "spells"]

#: Readings of a text through its escapes, one string deeper each (a document in a
#: string in a string ...), before a text that still decodes is taken to spell a name.
ESCAPE_READINGS = 8

# One JSON escape, read from the left as a JSON reader reads it: a surrogate pair, a
# \uXXXX, or a backslash and the character after it (a short escape, or none: kept).
_ESCAPE = lazy_compile(
    r"\\(?:u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})"
    r"|u([0-9a-fA-F]{4})|(.))", re.DOTALL)
_SHORT = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r",
          "t": "\t"}
#: The characters beyond ASCII that lower-case or case-fold to text holding ASCII
#: (``ß`` is ``ss``, ``K`` the Kelvin sign ``k``, ``ﬁ`` ``fi``), all in the BMP:
#: tests/test_binary1_findings.py checks the list against every code point.
FOLDING_TO_ASCII = (0xDF, 0x130, 0x149, 0x17F, 0x1F0, 0x1E96, 0x1E97, 0x1E98, 0x1E99,
                    0x1E9A, 0x1E9E, 0x212A, 0xFB00, 0xFB01, 0xFB02, 0xFB03, 0xFB04, 0xFB05,
                    0xFB06)
#: The escapes of a query's "=", "?", "#" and "&": in a text holding a "%", a link's or
#: a form's name percent-encoded may be behind them ("/cb\\u003fpass%77ord\\u003d1").
QUERY_ESCAPES = lazy_compile(r"\\u00(?:3[dDfF]|2[36])")
# What spells another escape in a string one level deeper: a backslash, "u", hex digits.
_ESCAPE_PARTS = "\\u0123456789abcdefABCDEF"


def _decoded(escape: re.Match[str]) -> str:
    high, low, code, short = escape.groups()
    if code is not None:
        return chr(int(code, 16))
    if high is not None:
        return chr(0x10000 + ((int(high, 16) - 0xD800) << 10) + int(low, 16) - 0xDC00)
    return _SHORT.get(short, escape.group())


def _letter(escape: re.Match[str]) -> str:
    decoded = _decoded(escape)
    if len(decoded) == 1 and decoded.isascii() and not decoded.isalnum():
        return escape.group()
    return decoded


def decoded_once(text: str) -> str:
    """``text`` with its JSON escapes decoded, once (one string less deep)."""
    return _ESCAPE.sub(_decoded, text)


def letters_decoded(text: str) -> str:
    """``text`` with only its escapes of letters, digits and characters beyond ASCII
    decoded (``pa\\u0073sword\\"`` is ``password\\"``): a name spelled with escapes,
    in the structure the text has as written (its quotes, backslashes and separators
    still escaped), for a key's shape (:mod:`~readme_metrics.har.key_shapes`)."""
    return _ESCAPE.sub(_letter, text)


def spells(text: str, found: Callable[[str], bool]) -> bool:
    """Whether ``found`` (a denied name is in it) holds for ``text`` with its JSON
    escapes decoded, or decoded again (a document held in a string, its escapes escaped
    once more), and so on while that changes anything; a text that still decodes after
    :data:`ESCAPE_READINGS` readings is taken to spell one (``text`` as written is the
    caller's to look at)."""
    for _ in range(ESCAPE_READINGS):
        if "\\" not in text:
            return False
        decoded = _ESCAPE.sub(_decoded, text)
        if decoded == text:
            return False
        if found(decoded):
            return True
        text = decoded
    return "\\" in text and _ESCAPE.sub(_decoded, text) != text


#: In :func:`escape_probe`, after its ``\\u``: a high surrogate's code not followed by a
#: low one's escape, or a low one's not preceded by a high one's escape (unless that
#: escape's backslash is itself escaped).
_LONE = (r"d[89ab][0-9a-f]{2}(?!\\ud[c-f])"
         r"|(?:(?<!\\ud[89ab][0-9a-f]{2}\\u)|(?<=\\\\ud[89ab][0-9a-f]{2}\\u))"
         r"d[c-f][0-9a-f]{2}")


def escape_probe(needles: Iterable[str]) -> re.Pattern[str]:
    """A pattern of the escapes through which a text could spell one of ``needles`` (the
    denied names, folded) that it does not spell as written (see the module's text):
    an escape of a character they hold or of one that can spell another escape, any
    ``\\u`` beyond ASCII, and the short escapes of the characters JSON must escape that
    they hold (``\\/``, ``\\"``, ``\\\\``, ``\\n`` ...)."""
    held = set("".join(needles))
    wanted = {"\0", *_ESCAPE_PARTS}
    if "/" in held:
        wanted.add("~")  # (a JSON pointer's "~1": see redaction_mentions._spelled)
    # A name percent-encoded in a link or a form in a string ("pass%77ord"), "+" for a
    # space ("api+key"): their "%" and "+" escaped (.NET's encoder writes "+" \u002B).
    wanted.add("%")
    if " " in held:
        wanted.add("+")
    for character in held:
        if character.isascii():
            wanted.update((character, character.upper()))
    codes = sorted({f"{ord(c):04x}" for c in wanted if c.isascii()})
    ascii_codes = "|".join(code[2:] for code in codes)
    shorts = "".join(re.escape(escape) for escape, character in _SHORT.items()
                     if character in held)
    short = f"|\\\\[{shorts}]" if shorts else ""
    if all(character.isascii() for character in held):
        # Of the characters beyond ASCII, only those that fold to ASCII (ß, ſ, the Kelvin
        # sign, ligatures ...): \u00e9 and \u4e2d (Python's json.dumps) are passed by.
        # And a lone surrogate's, which a name is read without (pass\udc80word:
        # redaction_names.folded_name; hostile49), not a pair's: a character beyond the
        # BMP (an emoji, as json.dumps writes it), which no name is read without (every
        # such text read through its escapes: 4.5 times the work; review139). A pair
        # whose backslash is escaped (a level down) is taken to be lone.
        beyond = "|".join([*(f"{code:04x}" for code in FOLDING_TO_ASCII), _LONE])
    else:  # (A \u escape of any character beyond ASCII: a code from 0080 on.)
        beyond = "00[89a-f][0-9a-f]|0[1-9a-f][0-9a-f]{2}|[1-9a-f][0-9a-f]{3}"
    return re.compile(rf"\\u(?i:00(?:{ascii_codes})|{beyond}){short}")
