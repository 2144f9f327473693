"""A text body read with the escapes of the languages it may hold decoded (SPEC 6), for
:func:`~readme_metrics.har.body_redaction.redact_text`.

JSON's own escapes (``\\u0070``) are read where a document is. A text, HTML, XML or
script body spells a name in escapes JSON does not have, which the program reading it
decodes all the same (hostile27, each in clear before):

- ``\\x70assword`` and ``\\u{70}assword`` (JavaScript, Python, PHP, Ruby, C), ``\\U`` and
  three octal digits (``\\160``: Python, PHP, JavaScript's legacy strings);
- HTML and XML character references, ``pass&#119;ord``, ``&#x77;``, the ``;`` left out
  as browsers accept it, and ``&quot;`` (``&QUOT;`` too), ``&apos;``, ``&quest;``,
  ``&equals;``, ``&colon;`` (review117: ``{&quot;password&quot;&colon; ...}``) (not
  ``&amp;``, which a link's query is read with already: every HTML link would be read
  twice; JSON in an attribute: ``data-x="{&quot;password&quot;: ...}"``; a link's
  ``?`` written ``&#63;``);
- percent escapes of a name's letters, digits, ``_-.~`` and of ``?`` (a link's name
  ``passw%6Frd=``, its ``?`` written ``%3F``).

:func:`spelled` gives that reading (each escape of a printable ASCII character or a
letter decoded, one pass, linear in the text: the pattern has no nested repeats), or
None when the text holds no such escape, so that a text with none costs one scan.
"""

from __future__ import annotations

import re
from typing import Optional

from readme_metrics._lazy_re import lazy_compile

__all__ = ["spelled"]

#: An escape this module reads (group 1: a hex number, 2: a decimal one, 3: octal, 4: a
#: named reference, 5: a percent escape's hex).
_SCRIPT_AND_MARKUP = (
    r"\\(?:x([0-9A-Fa-f]{2})|u\{([0-9A-Fa-f]{1,6})\}|u([0-9A-Fa-f]{4})"
    r"|U([0-9A-Fa-f]{8})|([0-7]{3}))"
    r"|&#(?:([0-9]{1,7})|[xX]([0-9A-Fa-f]{1,6}));?"
    r"|&(quot|QUOT|apos|quest|equals|colon|num|period|lowbar|hyphen|dash);")
_ESCAPE = lazy_compile(_SCRIPT_AND_MARKUP + r"|%([0-9A-Fa-f]{2})")

#: The same but percent escapes: a text whose percent escapes spell no listed name has
#: them read by no Python call each (64 KiB of "é%41": hostile11's bound, 50 calls a KiB).
_NOT_PERCENT = lazy_compile(_SCRIPT_AND_MARKUP)

_NAMED = {"quot": '"', "QUOT": '"', "apos": "'", "quest": "?", "equals": "=", "colon": ":",
          "num": "#", "period": ".", "lowbar": "_", "hyphen": "-", "dash": "-"}

_BASES = (16, 16, 16, 16, 8, 10, 16)

#: What a percent escape is decoded to besides letters and digits.
_NAME_MARKS = frozenset("_-.~?")


def _character(escape: re.Match[str]) -> str:
    """The character ``escape`` spells, or the escape itself when that is no printable
    ASCII character nor a letter (a control, a surrogate, beyond Unicode)."""
    named = escape.group(8)
    if named is not None:
        return _NAMED[named]
    if escape.group()[0] == "%":
        # A percent escape spells a name's character or a link's "?" only: a text that is
        # JSON percent-encoded is read decoded whole already (hostile26), and one read
        # half decoded would be no JSON, hidden whole.
        decoded = chr(int(escape.group(9), 16))
        spells = decoded.isascii() and decoded.isalnum() or decoded in _NAME_MARKS
        return decoded if spells else escape.group()
    number = next(at for at in range(1, 8) if escape.group(at) is not None)
    code = int(escape.group(number), _BASES[number - 1])
    if 0x20 < code < 0x7F or code <= 0x10FFFF and chr(code).isalpha():
        return chr(code)
    return escape.group()


def spelled(text: str, percent: bool) -> Optional[str]:
    """``text`` with each escape of the module decoded (percent escapes when ``percent``:
    the text percent-decoded names a listed key), or None when it holds none that
    decodes to another text."""
    percent = percent and "%" in text
    if not (percent or "\\" in text or "&" in text):
        return None
    reading = (_ESCAPE if percent else _NOT_PERCENT).sub(_character, text)
    return None if reading == text else reading
