"""Percent-encoding, read as clients and frameworks read it: a query or form component
decoded as HTML forms do (:func:`decode_component`, UTF-8; :func:`decode_in`, a form's
declared charset), ``urllib.parse.unquote`` with its escapes read in C
(:func:`percent_decoded`), and bytes that no codec decoded kept as escapes
(:func:`escape_undecoded`, :func:`ascii_form`).

Nothing is lost and nothing raises: an escape that is no character is kept as written.
Pure functions over strings, written for long hostile inputs (one C pass where a Python
call per byte or per escape was).
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from readme_metrics._lazy_re import lazy_compile

__all__ = ["ascii_form", "decode_component", "decode_in", "escape_undecoded",
           "percent_decoded"]


# What surrogateescape makes of the bytes it cannot decode (0x80 to 0xff).
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


# Each byte beyond ASCII (as latin-1 reads it) and each byte surrogateescape could not
# decode (U+DC80..U+DCFF), percent-encoded: str.translate's tables, one C pass where a
# re.sub callback was a Python call per byte (a 256 KiB binary body sent with a form's
# type, curl --data-binary's default, made 112,000 of them: 64 -> 10.5 ms).
_PERCENT_LATIN_1 = {byte: f"%{byte:02X}" for byte in range(0x80, 0x100)}
_PERCENT_ESCAPED = {0xDC00 + byte: f"%{byte:02X}" for byte in range(0x80, 0x100)}


def ascii_form(body: bytes) -> str:
    """A form body as ASCII text, each byte beyond ASCII percent-encoded (what a client
    should have sent): its pairs then split as any form's, their bytes read by
    :func:`decode_in`."""
    text = body.decode("latin-1")
    return text if text.isascii() else text.translate(_PERCENT_LATIN_1)


def escape_undecoded(text: str) -> str:
    """``text`` decoded with surrogateescape, each byte it could not decode
    percent-encoded (``caf\\udce9`` is ``caf%E9``), as an escape of that byte is kept."""
    if text.isascii() or _ESCAPED_BYTE.search(text) is None:
        return text
    return text.translate(_PERCENT_ESCAPED)


def decode_in(text: str, codec: str) -> str:
    """:func:`decode_component` for a form in ``codec`` (its declared charset, see
    :func:`~readme_metrics.har.text.form_codec`): its escapes are bytes in ``codec``
    (``caf%E9`` in latin-1 is "café"), as its other characters are (``text`` is ASCII,
    see :func:`ascii_form`, or was decoded in ``codec``). Bytes ``codec`` cannot decode
    stay percent-encoded, as UTF-8's do."""
    if "+" in text:
        text = text.replace("+", " ")
    if "%" not in text:
        return text
    try:
        decoded = unquote_to_bytes(text.encode(codec)).decode(codec, "surrogateescape")
        decoded.encode("utf-8", "surrogateescape")  # no other lone surrogate
    except (UnicodeError, LookupError, ValueError, TypeError):
        return decode_component(text)
    return escape_undecoded(decoded)


# One UTF-8 character written as %XX escapes (RFC 3629's well-formed sequences, as
# Python's strict decoder takes them: no overlong forms, no surrogates, nothing past
# U+10FFFF), and a run of them. decode_component decodes these runs and leaves every
# other escape as written, without a Python call for it: the escapes of a binary body
# sent with a form's type (curl --data-binary's default) are mostly bytes that are no
# UTF-8, one call a run before (a random 1 MiB: 0.65 -> 0.27 s of the worker).
_HEX = "[0-9A-Fa-f]"
_TAIL = "%[89ABab]" + _HEX
# (Each after its first "%".)
_UTF8_ESCAPE = "(?:" + "|".join([
    "[0-7]" + _HEX,                                       # U+0000..U+007F
    "(?:[Cc][2-9A-Fa-f]|[Dd]" + _HEX + ")" + _TAIL,       # C2..DF, one tail byte
    "[Ee]0%[ABab]" + _HEX + _TAIL,                        # E0 A0..BF
    "[Ee][1-9A-Ca-cEFef]" + _TAIL * 2,                     # E1..EC, EE..EF
    "[Ee][Dd]%[89]" + _HEX + _TAIL,                       # ED 80..9F (no surrogates)
    "[Ff]0%[9ABab]" + _HEX + _TAIL * 2,                   # F0 90..BF
    "[Ff][1-3]" + _TAIL * 3,                              # F1..F3
    "[Ff]4%8" + _HEX + _TAIL * 2,                         # F4 80..8F
]) + ")"
# Written to start with its literal "%", which the regex engine skips to (as a group
# first, it tried the group at every character: see 5317a67); a "%" that starts no
# escape is passed over after one look at the next character, not one an alternative
# (a client's 1 MiB of "%": 162 -> 25 ms).
_UTF8_CHAR = f"%(?=[0-9A-Fa-f]){_UTF8_ESCAPE}"
# (One group, the whole run: split() keeps each run as a piece of its own.)
_UTF8_RUN = lazy_compile(f"({_UTF8_CHAR}(?:{_UTF8_CHAR})*)")  # (2 ms: on first use)
# A byte no UTF-8 holds, between two runs decoded together (see decode_component).
_BETWEEN_RUNS = "%FF"


def decode_component(text: str) -> str:
    """Decode one query or form component as HTML forms do (``+`` is a space).

    Unlike :func:`urllib.parse.unquote_plus`, escapes that do not form valid UTF-8
    (``%FF``) and broken escapes (``%zz``) are kept exactly as written rather than
    replaced, so nothing is lost and nothing raises.
    """
    if "+" in text:
        text = text.replace("+", " ")
    if "%" not in text:
        return text
    # Each run of escapes is decoded as UTF-8 where its bytes are UTF-8 and kept as
    # written where they are not: as a strict decoder reads a run, a byte that cannot
    # start or continue a character is refused alone and the next one read afresh (the
    # "maximal subpart" of Unicode's chapter 3), so the characters a run holds are the
    # well-formed sequences in it, found left to right.
    pieces = _UTF8_RUN.split(text)  # text, run, text, run ... text
    if len(pieces) == 1:
        return text
    # Every run decoded at once, in C (a re.sub callback was a Python call per run: three
    # a pair of a redacted form, "%5BREDACTED%201%5D"): each run is whole characters, so
    # their bytes joined by a byte no UTF-8 holds (0xFF, which surrogateescape reads as
    # the one U+DCFF) decode to the runs' characters, split again at each U+DCFF.
    runs = _BETWEEN_RUNS.join(pieces[1::2]).replace("%", "")
    pieces[1::2] = bytes.fromhex(runs).decode("utf-8", "surrogateescape").split("\udcff")
    return "".join(pieces)


# A "%" that starts no escape (not two hex digits after it), and a run of ASCII.
_NOT_AN_ESCAPE = re.compile("%(?![0-9A-Fa-f]{2})")
_ASCII_RUN = re.compile("([\x00-\x7f]+)")


def percent_decoded(text: str, errors: str = "surrogateescape") -> str:
    """``urllib.parse.unquote(text, errors=errors)``, its escapes read in C.

    unquote reads each "%" in a Python loop, raising and catching a KeyError for one
    that starts no escape: a client's JSON string of "%" repeated cost 284 ms of the
    worker a MiB in the look for a percent-encoded key (body_redaction.redact_text). Here the
    escapes are turned into Python's own ``\\xNN`` (the text's backslashes doubled, a "%"
    starting no escape written ``\\x25``) and read by the unicode_escape codec, the text
    beyond ASCII as its UTF-8 bytes; as in unquote, the bytes are then decoded as UTF-8.
    """
    if "%" not in text:
        return text
    if text.isascii() or _SURROGATE.search(text) is None:
        # A character beyond ASCII goes through as its own UTF-8 bytes: they start with
        # a byte no sequence continues with and end a whole sequence, so the escapes on
        # either side are decoded as unquote decodes each ASCII run alone. One pass in C:
        # a run at a time was a Python call each, 3 times unquote's time for a text of
        # "é%41" repeated (review51).
        return _percent_decoded(text, errors)
    # A lone surrogate (surrogateescape's) has no UTF-8 of its own: a run at a time.
    pieces = _ASCII_RUN.split(text)  # beyond ASCII, ASCII, beyond ASCII ...
    for at in range(1, len(pieces), 2):
        if "%" in pieces[at]:  # (a call only for a run to decode: binary1)
            pieces[at] = _percent_decoded(pieces[at], errors)
    return "".join(pieces)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _percent_decoded(text: str, errors: str) -> str:
    if "%" not in text:
        return text
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    escaped = _NOT_AN_ESCAPE.sub("%25", text).replace("%", "\\x")
    return (escaped.encode("utf-8").decode("unicode_escape").encode("latin-1")
            .decode("utf-8", errors))
