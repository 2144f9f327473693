"""Where a denied name stands in a key's shape in one lower-cased reading, for
:mod:`.key_shapes`' readings of binary data.

A name counts where it is a key's name (:func:`shaped`), in a lower-cased reading:

* a whole word: no ASCII letter or digit just before or after it (``_``,
  ``-``, ``.``, ``/`` and an escape's last hex digit, ``%22key``, ``\\u0022key``, are
  edges: ``api_key``, ``X-Api-Key``, ``user.key`` are ``key``; ``monkey``, ``keyboard``,
  ``apiKey`` are not, as the lists match a name whole);
* then a separator: after the rest of a name it is joined to (``key_id``, ``key.pem``,
  ``password/``) and optional blanks, quotes, backslashes and brackets, as written,
  percent-encoded (once or more) or escaped (``\\u0022``, ``\\x22``, ``&quot;``), a
  ``:`` or ``=`` in any of those spellings (``"key":``, ``\\"key\\":``, ``key=``,
  ``KEY =``, ``key%3D``, ``%22key%22%3A``, ``key[0]=``, ``user[key]=``);
* or in quotes of its own (``"key"``, ``'key'``, ``%22key%22``, ``&quot;key&quot;``): a
  name/value pair's name (``{"name": "key", "value": ...}``), a multipart part's or an
  HTML input's ``name="key"``, a CSV header's field; or as a quoted path's last segment
  (a JSON Patch's ``"/user/key"``, ``"user.key"``); or a quoted member's name holding
  it among other characters, then ``:`` or ``=`` (``"x-key\\x": ...``);
* or an XML element (``<key>``, ``<ns:key attr="">``, ``&lt;key&gt;``), or an XML text
  node whole (a spreadsheet's cell ``<t>password</t>`` heading a column; hostile31);
* or a CSV header's field between delimiters or line ends (``user,key\\n``);
* or, as bytes are (``framed``), with its length just before it, as binary formats write
  a map's keys: msgpack (``\\xa3key``), CBOR, protobuf, Avro, pickle, Thrift, BSON (its
  type byte before, a NUL after).

A reading holding a name more than :data:`MOST_PLACES` times is taken to hold one so
shaped (each place is checked in Python: a bound on the cost).
"""

from __future__ import annotations

import re
import struct
from functools import lru_cache
from typing import Iterable

from readme_metrics._lazy_re import lazy_compile

__all__ = ["MOST_PLACES", "shaped"]

#: Places of one name checked in a reading; past that it is taken to be shaped.
MOST_PLACES = 16384

# What may stand between a name and its separator: blanks, quotes, backslashes, a form's
# "+", brackets (key[0], user[key]), as written, percent-encoded once or more, escaped.
_CLOSER = (
    r"[\s\"'`\\\]+]"
    r"|%(?:25)*(?:2[027b]|5[bcd]|0[9ad])"
    r"|\\u00(?:2[027]|5[bcd]|0[9ad])|\\x(?:2[027]|5[bcd])"
    r"|&(?:quot|apos|nbsp|#0*3[249]|#x0*2[027]);"
    r"|\[[^\]\n]{0,64}\]|%(?:25)*5b.{0,64}?%(?:25)*5d"
)
_SEPARATOR = (
    r"[:=]|%(?:25)*3[ad]|\\u003[ad]|\\x3[ad]|&#0*(?:58|61);|&#x0*3[ad];|&(?:colon|equals);"
)
# A name's separator after it (a member's ":", a pair's "=").
# (A name joined on by "_", "-", ".", "/" is a key's name too: key_id=, password/: .)
_TAIL = lazy_compile(
    rf"(?:[-_./~][\w.\-/~]{{0,64}}?)?(?:{_CLOSER}){{0,16}}?(?:{_SEPARATOR})", re.DOTALL)
# A quote closing a name in quotes (backslashes before it: a string in a string).
_CLOSING = lazy_compile(
    r"(?:\\|%(?:25)*5c)*(?:[\"'`]|%(?:25)*2[27]|\\u002[27]|\\x2[27]"
    r"|&(?:quot|apos|#0*3[49]|#x0*2[27]);)")
# (A JSON pointer's or a dotted path's last segment, "/user/key" "user.key", quoted.)
# A quoted member's name after a denied word in it, its closing quote, a separator:
# ("password\\X": "...", a name holding the word then any character but a quote).
_MEMBER = lazy_compile(
    r"(?:[^\"\\\r\n]|\\.){0,64}?(?:\\|%(?:25)*5c)*(?:[\"'`]|%(?:25)*2[27]|\\u002[27]|\\x2[27]"
    rf"|&(?:quot|apos|#0*3[49]|#x0*2[27]);)(?:{_CLOSER}){{0,16}}?(?:{_SEPARATOR})",
    re.DOTALL)
# A quote opening a member's name before a denied word in it ("x-password\\X":).
_OPENED = lazy_compile(
    r"(?:[\"'`]|%(?:25)*2[27]|\\u002[27]|\\x2[27]|&(?:quot|apos|#0*3[49]|#x0*2[27]);)"
    r"[^\"\r\n]{0,64}\Z", re.DOTALL)
# What any quote in a member's name is written with (a quote, its escapes' first bytes).
_QUOTES = ("\"", "'", "`", "%2", "%5c", "\\u002", "\\x2", "&")
_OPENINGS = ("\"", "'", "`", "/", ".", "%22", "%27", "%2522", "%2527", "\\u0022", "\\u0027",
             "\\x22", "\\x27", "&quot;", "&apos;", "&#34;", "&#39;", "&#x22;", "&#x27;")
# An XML element's start before a name: "<", "<ns:", escaped too (&lt; \u003c %3c).
_TAG = lazy_compile(r"(?:<|&lt;|%3c|\\u003c)/?(?:[\w.-]{1,32}:)?\Z")
# An escape ending in a hex digit or a letter just before a name (its edge all the same).
_ESCAPE_END = lazy_compile(r"(?:%(?:25){0,2}[0-9a-f]{2}|\\u[0-9a-f]{4}|\\x[0-9a-f]{2}|\\[a-z])\Z")
# A text node's edges around a name (a spreadsheet's cell, blanks kept: hostile31).
_CELL_OPEN = lazy_compile(r">[ \t\r\n]{0,8}\Z")
_CELL_CLOSE = lazy_compile(r"[ \t\r\n]{0,8}<")
# A CSV header's delimiters and line ends.
_CSV = ",;\t|\r\n"
# Text's blanks, which no length before a name is taken for (10 is "\n").
_BLANKS = frozenset("\t\n\v\f\r ")
# BSON's element types (a name follows as a NUL-ended string).
_BSON = frozenset(map(chr, (*range(0x01, 0x14), 0x7F, 0xFF)))


def shaped(reading: str, needles: Iterable[str], framed: bool = False) -> bool:
    """Whether the lower-cased ``reading`` holds one of ``needles`` (denied names,
    lower-cased) in a key's shape (see the module); ``framed``: the reading is bytes as
    latin-1, where a binary format's length prefix before a name counts too."""
    for needle in needles:
        for places, found in enumerate(_candidates(needle, framed).finditer(reading), 1):
            if _shaped_at(reading, found.start(), found.end(), needle, framed) or (
                    places >= MOST_PLACES):
                return True
    return False


@lru_cache(maxsize=64)
def _candidates(needle: str, framed: bool) -> re.Pattern[str]:
    """Where ``needle`` may be in a key's shape, found at C speed: a whole word (or
    after an escape), or, ``framed``, after a byte that may be its length."""
    # (The needle first, its edges checked behind it: a literal start is searched for at
    # memchr speed, where lookbehinds first cost 120 ns a character.)
    name = re.escape(needle)
    lefts = [f"(?<![a-z0-9]{name})"] + [f"(?<={edge}{name})" for edge in (
        "%[0-9a-f]{2}", "%25[0-9a-f]{2}", "%2525[0-9a-f]{2}", r"\\u[0-9a-f]{4}",
        r"\\x[0-9a-f]{2}", r"\\[a-z]")] if _worded(needle[0]) else [""]
    right = r"(?![a-z0-9])" if _worded(needle[-1]) else ""
    pattern = f"{name}(?:(?:{'|'.join(lefts)}){right}"
    if framed:
        length = len(needle)
        codes = {*_BSON, "\0", "v", *(_lowered(_varint(size))[-1] for size in (
            length, 2 * length) if size < 16384), chr(0xA0 | length) if length < 32 else "",
                 chr(0x60 | length) if length < 24 else ""} - {""}
        pattern += f"|(?<=[{re.escape(''.join(sorted(codes)))}]{name})"
    pattern += ")"
    return re.compile(pattern, re.DOTALL)


def _shaped_at(reading: str, start: int, end: int, needle: str, framed: bool) -> bool:
    before = reading[start - 1] if start else ""
    after = reading[end] if end < len(reading) else ""
    if framed and _framed(reading, start, end, before, after):
        return True
    if _worded(after) and _worded(needle[-1]):
        return False  # (keyboard, tokenizer, authors)
    if _worded(before) and _worded(needle[0]):
        # (monkey, apikey) but for an escape's last character (%22key, \u0022key).
        if _ESCAPE_END.search(reading, max(0, start - 8), start) is None:
            return False
        return _TAIL.match(reading, end) is not None or _quoted(reading, start, end)
    return (_TAIL.match(reading, end) is not None or before in _CSV and after in _CSV
            or _quoted(reading, start, end) or (after == "" or after in " \t\r\n/>&%\\")
            and _TAG.search(reading, max(0, start - 40), start) is not None
            or _cell(reading, start, end, before, after))


def _cell(reading: str, start: int, end: int, before: str, after: str) -> bool:
    """Whether the name at ``start:end`` is an XML text node whole (blanks around it):
    a spreadsheet's cell, ``<si><t>password</t></si>`` (an .xlsx's shared strings, an
    .ods's ``<text:p>``), which heads a column of values as a CSV header's field does
    (hostile31). A cell of prose naming it (``Reset your password``) is none."""
    return (before == ">" or before in _BLANKS) and (after == "<" or after in _BLANKS) and (
        _CELL_OPEN.search(reading, max(0, start - 16), start) is not None
        and _CELL_CLOSE.match(reading, end) is not None)


def _worded(character: str) -> bool:
    """Whether ``character`` is an ASCII letter or digit (a byte beyond ASCII read as
    latin-1 is no letter here: a byte order mark's ``\xfe`` before ``password``)."""
    return character.isascii() and character.isalnum()


def _quoted(reading: str, start: int, end: int) -> bool:
    """Whether the name at ``start:end`` is in quotes of its own."""
    if reading.endswith(_OPENINGS, max(0, start - 8), start) and (
            _CLOSING.match(reading, end) is not None):
        return True
    # (Prose holds no quote near most words: the patterns below are asked only then.)
    ahead = reading[end:end + 72]
    if not any(quote in ahead for quote in _QUOTES):
        return False
    return _MEMBER.match(reading, end) is not None and (
        _OPENED.search(reading, max(0, start - 80), start) is not None)


def _framed(reading: str, start: int, end: int, before: str, after: str) -> bool:
    """Whether the name at ``start:end`` of bytes read as latin-1 (ASCII lower-cased) has
    a binary format's length just before it: as a varint (protobuf, pickle 4's one byte,
    Avro's twice it), 4 bytes either way (pickle 1-3's ``X``, Thrift), msgpack's
    (``\\xa0`` + it, or ``\\xd9`` then it), CBOR's (``\\x60`` + it, no letter or digit
    before that; ``x`` then it), pickle 0's ``V`` on a line of its own, or BSON's type
    byte before and a NUL after. A blank (``\\n`` is 10) is a length only with a binary
    byte next to it (``\\x0a\\x0asecret_key\\x12``): a line starting ``secret_key`` in
    text is none."""
    if not before:
        return False
    length = end - start
    if before == "v":  # (pickle 0: "(dp0\nVpassword\np1\n")
        return reading[start - 2:start - 1] in ("\n", "(") and after == "\n"
    if before == "\0":
        return reading.endswith((_lowered(struct.pack("<I", length)),
                                 _lowered(struct.pack(">I", length))), 0, start)
    if before in _BLANKS and not _binary_near(reading, start, after):
        return False
    code = ord(before)
    earlier = reading[start - 2] if start >= 2 else ""
    if length < 32 and code == 0xA0 | length or length < 24 and code == 0x60 | length and (
            not _worded(earlier)):
        return True
    if reading.endswith((_lowered(_varint(length)), _lowered(_varint(2 * length))), 0, start):
        return True
    if earlier in ("\xd9", "x", "\x8c") and before == _lowered(bytes([length & 0xFF])):
        return True
    return before in _BSON and after == "\0"


def _binary_near(reading: str, start: int, after: str) -> bool:
    """Whether a blank before a name at ``start`` sits among binary bytes: a control
    byte or one past ASCII just after the name, or before the blank (a protobuf tag, a
    msgpack str8's ``\\xd9``, pickle's ``\\x8c``, Thrift's NULs)."""
    earlier = reading[start - 2] if start >= 2 else ""
    return any(character and (character < " " and character not in _BLANKS
                              or character >= "\x7f") for character in (after, earlier))


def _varint(value: int) -> bytes:
    """``value`` as a base-128 varint (protobuf's, Avro's lengths)."""
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _lowered(data: bytes) -> str:
    """Bytes as a reading holds them: ASCII lower-cased, read as latin-1."""
    return data.lower().decode("latin-1")
