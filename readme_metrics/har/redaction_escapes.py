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

from itertools import compress, repeat
from operator import and_, is_not, or_
from typing import Callable, Optional

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

#: The escapes of a text as one group each, for ``split``: the text between them and each
#: escape in one C call (hostile66: ``sub`` with a Python function called per escape cost
#: ~280 ms of CPU a MiB of ``http\\u003aa:b\\u0040 ``, the GIL held on the worker).
_UNGROUPED = _SCRIPT_AND_MARKUP.replace("(", "(?:").replace("(?:?:", "(?:")
_SPLIT = lazy_compile("(" + _UNGROUPED + r"|%[0-9A-Fa-f]{2})")
_SPLIT_NOT_PERCENT = lazy_compile("(" + _UNGROUPED + ")")
#: The same with _ESCAPE's groups, to read the distinct escapes joined: ``split`` gives
#: for each the text before it (none), the escape, then _ESCAPE's nine groups.
_GROUPED = lazy_compile("(" + _SCRIPT_AND_MARKUP + r"|%([0-9A-Fa-f]{2}))")
_STRIDE = 11


def _character(groups: tuple[Optional[str], ...]) -> Optional[str]:
    """The character an escape spells (its _ESCAPE groups), or None when that is no
    printable ASCII character nor a letter (a control, a surrogate, beyond Unicode):
    the escape is then kept as it is. (:func:`_characters` reads the same in bulk.)"""
    named = groups[7]
    if named is not None:
        return _NAMED[named]
    if groups[8] is not None:
        # A percent escape spells a name's character or a link's "?" only: a text that is
        # JSON percent-encoded is read decoded whole already (hostile26), and one read
        # half decoded would be no JSON, hidden whole.
        decoded = chr(int(groups[8], 16))
        spells = decoded.isascii() and decoded.isalnum() or decoded in _NAME_MARKS
        return decoded if spells else None
    number = next(at for at in range(7) if groups[at] is not None)
    code = int(groups[number], _BASES[number])  # type: ignore[arg-type]
    if 0x20 < code < 0x7F or code <= 0x10FFFF and chr(code).isalpha():
        return chr(code)
    return None


#: The characters a numeric escape spells when printable ASCII (a letter: isalpha).
_PRINTABLE = frozenset(map(chr, range(0x21, 0x7F)))


def _characters(escapes: list[str]) -> Optional[dict[str, str]]:
    """What each of the distinct ``escapes`` that is read reads as (one that spells
    nothing read is left out: kept as it is), as :func:`_character` reads it, but
    column by column with C's loops (``map``, ``compress``, ``zip``): a MiB of distinct
    escapes (``&#1;&#2;...``) costs no Python call each. The escapes are parsed by one
    ``split`` of them joined; None should that parse not give them back one by one (it
    does: each starts with "\\", "&" or "%", which no escape ends on nor continues
    with)."""
    parts = _GROUPED.split("".join(escapes))
    if parts[1::_STRIDE] != escapes:
        return None
    table: dict[str, str] = {}
    for at in range(9):
        column = parts[at + 2::_STRIDE]
        if column.count(None) == len(column):
            continue
        present = list(map(is_not, column, repeat(None)))
        which, values = list(compress(escapes, present)), list(compress(column, present))
        if at == 7:  # a named reference
            table.update(zip(which, map(_NAMED.__getitem__, values)))
            continue
        codes = list(map(int, values, repeat(_BASES[at] if at < 7 else 16)))
        if at < 7:  # (beyond Unicode: kept)
            within = list(map(_LAST.__ge__, codes))
            which, codes = list(compress(which, within)), list(compress(codes, within))
        characters = list(map(chr, codes))
        if at < 7:
            read = map(or_, map(_PRINTABLE.__contains__, characters),
                       map(str.isalpha, characters))
        else:  # a percent escape: a name's letter or digit in ASCII, or a mark
            read = map(or_, map(and_, map(str.isascii, characters),
                                map(str.isalnum, characters)),
                       map(_NAME_MARKS.__contains__, characters))
        flags = list(read)
        table.update(zip(compress(which, flags), compress(characters, flags)))
    return table


_LAST = 0x10FFFF


def spelled(text: str, percent: bool) -> Optional[str]:
    """``text`` with each escape of the module decoded (percent escapes when ``percent``:
    the text percent-decoded names a listed key), or None when it holds none that
    decodes to another text.

    The text is split at its escapes in C, each distinct escape read once, and the
    pieces joined back in C: the Python work grows with the distinct escapes, not with
    the escapes (a MiB of one repeated: one read). It is read in pieces of
    :data:`_PIECE` characters or so, each cut before a ``\\``, ``&`` or ``%`` (no escape
    holds one past its first character, so none is cut), the split's list of a piece
    at a time in memory (a MiB of ``\\x70`` split at once: 24 MiB at its peak)."""
    percent = percent and "%" in text
    if not (percent or "\\" in text or "&" in text):
        return None
    split = (_SPLIT if percent else _SPLIT_NOT_PERCENT).split
    read, start = [], 0
    while start < len(text):
        cut = _ESCAPE_START.search(text, start + _PIECE)
        end = len(text) if cut is None else cut.start()
        read.append(_read(text[start:end] if start or end < len(text) else text, split,
                          percent))
        start = end
    reading = "".join(read)
    return None if reading == text else reading


#: The characters of a text read at once, about (see :func:`spelled`).
_PIECE = 1 << 15
_ESCAPE_START = lazy_compile(r"[\\&%]")


def _read(text: str, split: Callable[[str], list[str]], percent: bool) -> str:
    """``text`` (a piece of one) with its escapes read, ``split`` at them."""
    pieces = split(text)
    if len(pieces) == 1:
        return text
    escapes = pieces[1::2]
    characters = _characters(list(dict.fromkeys(escapes)))
    if characters is None:  # (never: read one by one as before)
        return (_ESCAPE if percent else _NOT_PERCENT).sub(
            lambda escape: _character(escape.groups()) or escape.group(), text)
    pieces[1::2] = map(characters.get, escapes, escapes)
    return "".join(pieces)
