"""Turn captured body bytes into text: Content-Type parsing and charsets (SPEC section 4).

Pure functions, cached per distinct header value (the values repeat from log to log).
Percent-encoding is :mod:`readme_metrics.har.percent`'s, a query's and a fragment's pairs
:mod:`readme_metrics.har.pairs`'.
"""

from __future__ import annotations

import codecs
import json
import re
from functools import lru_cache
from typing import Optional

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.charsets import WIDE as _WIDE
from readme_metrics.har.charsets import alphanumerics_are_ascii as _alphanumerics_are_ascii
from readme_metrics.har.charsets import ascii_is_ascii as _ascii_is_ascii
from readme_metrics.har.charsets import form_codec, wide_form_codec
from readme_metrics.har.charsets import text_codec as _text_codec
from readme_metrics.har.percent import escape_undecoded

__all__ = [
    "FORM", "JSON_START", "PROBED_TEXT", "content_type", "decode", "decode_field",
    "form_codec", "is_textual", "rarest", "sendable", "wide_form_codec", "wide_text",
]

#: The essence of a form body's Content-Type.
FORM = "application/x-www-form-urlencoded"
#: Text that may start a JSON document (an object or an array, blanks first).
JSON_START = re.compile(r"\s*[\[{]")

# Characters by how often bodies (JSON, HTML, prose) hold them, the most common first; any
# other is rarer still. Looking for a word (a key, a denied name) in a large text, its
# rarest characters are looked for first, one at a time: a single character is found at
# memchr speed (0.8 us in 100 KB), a word at 10 to 65 us, and a text lacking one of its
# characters cannot hold it.
_COMMON_CHARACTERS = (' etaoinsrhldcumfpgwybvkxjqz"0123456789,:.{}-[]/=_'
                      "ETAOINSRHLDCUMFPGWYBVKXJQZ")
#: Texts this long or longer are worth a look for a word's rarest characters first.
PROBED_TEXT = 1024


def rarest(word: str, count: int = 2) -> tuple[str, ...]:
    """The ``count`` distinct characters of ``word`` least often in bodies."""
    def rank(character: str) -> tuple[int, str]:
        found = _COMMON_CHARACTERS.find(character)
        return (-(len(_COMMON_CHARACTERS) if found < 0 else found), character)

    return tuple(sorted(set(word), key=rank)[:count])


@lru_cache(maxsize=256)
def content_type(value: Optional[str]) -> tuple[str, Optional[str]]:
    """(lower-case essence, charset or None) of a Content-Type; cached per value."""
    if not value:
        return "", None
    essence, _, params = value.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset":
            charset = val.strip().strip("\"'").lower() or None
    return essence.strip().lower(), charset



# Types whose bodies are text even when their charset is not declared or is wrong.
_TEXT_PREFIXES = ("text/",)
_TEXT_MARKERS = ("json", "xml", "javascript", "ecmascript", "yaml", "csv", "graphql")

# Byte order marks, longest first (the UTF-32-LE mark starts like the UTF-16-LE one).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_BOM_STARTS = frozenset(bom[:1] for bom, _ in _BOMS)


@lru_cache(maxsize=256)
def is_textual(essence: str) -> bool:
    """True for the types whose bodies are text (text/*, JSON, XML, JavaScript ...)."""
    return essence.startswith(_TEXT_PREFIXES) or any(m in essence for m in _TEXT_MARKERS)


def _bom(head: bytes) -> Optional[str]:
    """The codec a byte order mark at the start of a body names (it wins over headers)."""
    if head[:1] not in _BOM_STARTS:
        return None
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec
    return None


def _nul_pattern(head: bytes) -> Optional[str]:
    """UTF-16/32 without a mark, told apart by where ASCII text has NULs (as RFC 4627
    tells JSON encodings apart; it holds for any text starting with two ASCII characters).
    """
    if len(head) < 4 or 0 not in head:
        return None
    return _NUL_PATTERNS.get(tuple(byte == 0 for byte in head[:4]))


#: The C0 control bytes that text does not hold, as file(1) reads text: NUL, the controls
#: before the tab, and those after the carriage return but ESC (terminal colours). A body
#: of a type that is not text with one of them is binary data (SPEC 4: base64).
_BINARY_BYTE = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")

# What text in UTF-16/32 that only its bytes say it is in (no charset, or one they
# contradict) does not hold: a control no text holds (binary data read two bytes at a
# time: a protobuf's "\x08\x00", little-endian integers).
_WIDE_BINARY = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f]")
# A unit of two printable ASCII bytes (U+6472 for "rd" in UTF-16-LE): in bytes that are
# UTF-8 as a whole, it is ASCII read two bytes at a time, after a start in UTF-16 (mixed
# encodings), which werkzeug, Django and Starlette read as ASCII: the caller's key among
# it went out as CJK text spelling its bytes, unmasked. (CJK text and kana in UTF-16 hold
# such units too, mostly beside a byte that is no UTF-8; but not always: "山田" is
# b"q\\0u" in UTF-16-LE, "漢字" b'"oW[', and a Japanese name in text otherwise ASCII,
# read as UTF-8 NUL-spaced, let the caller's key out. So bytes all ASCII are ASCII read so
# only where such units run as long as a key (_ASCII_PAIR_RUN: 8 bytes, four CJK characters
# each of them such a unit, about 2 in 100 four-character words).)
_ASCII_PAIR_CLASS = "[" + "".join(f"{chr(high << 8 | 0x20)}-{chr(high << 8 | 0x7E)}"
                                   for high in range(0x20, 0x7F)) + "]"
# (Compiled on first use, a UTF-16 body: 95 ranges, 1 ms of every import; import1.)
_ASCII_PAIR = lazy_compile(_ASCII_PAIR_CLASS)
_ASCII_PAIR_RUN = lazy_compile(f"{_ASCII_PAIR_CLASS}{{4}}")


def wide_text(text: str, data: bytes, codec: str, truncated: bool = False) -> bool:
    """Whether ``text``, ``data`` read in ``codec`` (UTF-16/32) by its bytes alone (a byte
    order mark, the NUL pattern), is text in it: no control no text holds, and no ASCII
    read two bytes at a time (:data:`_ASCII_PAIR` in UTF-16 whose bytes after a mark are
    UTF-8; ``truncated``: they may end in a character cut short), unless those bytes are
    all ASCII and no four such units run together (:data:`_ASCII_PAIR_RUN`): CJK text in
    UTF-16 among ASCII, not ASCII read two bytes at a time."""
    if _WIDE_BINARY.search(text) is not None:
        return False
    if not codec.startswith("utf-16") or _ASCII_PAIR.search(text) is None:
        return True
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        data = data[2:]
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=not truncated)
    except UnicodeDecodeError:
        return True
    return data.isascii() and _ASCII_PAIR_RUN.search(text) is None


_NUL_PATTERNS: dict[tuple[bool, ...], str] = {
    (True, True, True, False): "utf-32-be", (False, True, True, True): "utf-32-le",
    (True, False, True, False): "utf-16-be", (False, True, False, True): "utf-16-le",
}


def _decode_with(body: bytes, codec: str, truncated: bool) -> Optional[str]:
    try:
        if truncated:
            text = codecs.getincrementaldecoder(codec)().decode(body, final=False)
        else:
            text = body.decode(codec)
        if codec != "utf-8":
            # utf-7, unicode_escape and friends can yield lone surrogates, which could
            # not be sent as UTF-8 JSON: such a decoding is not text we can record.
            text.encode("utf-8")
        return text
    except (UnicodeError, LookupError, ValueError, TypeError):
        return None


def decode(
    body: bytes, essence: str, charset: Optional[str], truncated: bool
) -> tuple[Optional[str], str]:
    """(body as text or None when it is binary, the codec that decoded it).

    In order: a byte order mark; the declared charset; the NUL pattern of UTF-16/32 (how
    RFC 4627 tells JSON encodings apart); UTF-8; and, for a textual type, ISO 8859-1,
    HTTP's historical default for text, which decodes any bytes (a latin-1 JSON body
    without a charset is read as such, so the deny list still finds its keys), but not
    bytes holding a control no text holds (:data:`_BINARY_BYTE`): binary data. A
    truncated body may end in the middle of a multi-byte character: the incremental
    decoder then drops that partial tail instead of calling the whole body binary.
    A body whose type does not say it is text (octet-stream, an image, protobuf, or no
    type at all, unless a byte order mark or the NUL pattern says UTF-16/32), whose
    charset is none in which text is NUL-spaced (UTF-16/32 say text), and that holds a
    control byte no text holds (:data:`_BINARY_BYTE`) is binary, though bytes below
    0x80 all decode as UTF-8: ``b"\\x00\\x01\\x02\\x03"`` is no text.
    """
    head = body[:4]
    if not is_textual(essence) and _BINARY_BYTE.search(body) is not None and (
            essence or (_bom(head) is None and _nul_pattern(head) is None)) and (
            not charset or _ascii_is_ascii(_text_codec(charset))):
        # (A charset in which text is NUL-spaced, UTF-16/32, says the body is such text:
        # an "Export to Excel" answer of application/vnd.ms-excel; charset=utf-16le.)
        return None, ""
    if (head[:1] not in _BOM_STARTS and 0 not in head
            and (not charset or _text_codec(charset) == "utf-8")):
        # The common case, decided at C speed: a body that starts with no byte order
        # mark and no NUL pattern is tried as UTF-8 first (ASCII included, in the same
        # pass). Had it been cut short, the incremental decoder tried below for it would
        # read the same text from any whole UTF-8 body.
        try:
            return body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            if not truncated:  # UTF-8 was the only codec to try
                return _latin1_if_textual(body, essence)
    textual = not essence or is_textual(essence)
    declared = _text_codec(charset) if charset else None
    nul: Optional[str] = None
    if declared is not None and (
            not _ascii_is_ascii(declared) if "json" in essence
            else (textual or declared.startswith(_WIDE))
            and not _alphanumerics_are_ascii(declared)):
        # RFC 8259 (11) defines no charset for JSON: its recipients read it by its bytes,
        # as json.loads(bytes) does in Flask, Django and Starlette (a byte order mark, the
        # NUL pattern, else UTF-8). A charset in which its ASCII is no ASCII (UTF-16,
        # EBCDIC, UTF-7) comes after that: a UTF-8 body declared UTF-16 was logged as CJK
        # text spelling its bytes, the caller's key among them. So for any text in a
        # charset where letters and digits are not themselves (UTF-16/32, EBCDIC; UTF-7
        # keeps them), as werkzeug reads it (get_data(as_text=True): UTF-8). A body
        # really in it has a mark or the NUL pattern, or is no UTF-8: still read in it.
        # So for a body of any type declared UTF-16/32 (a form, octet-stream): UTF-16-BE
        # declared "utf-16" was read little-endian, its keys byte-swapped (U+7000 for
        # "p"), named by no list.
        candidates: tuple[Optional[str], ...] = (json.detect_encoding(body), declared,
                                                 "utf-8")
    else:
        # The NUL pattern before the declared charset too: UTF-16/32 text declared UTF-8
        # or latin-1 decodes in it NUL-spaced (its keys named by no list); ASCII text
        # holds no NUL. Only for text in UTF-16/32 (wide_text), then the declared
        # charset, UTF-8: ASCII after a UTF-16 start read so was CJK text spelling its
        # bytes (the caller's key unmasked), a NUL-separated list in UTF-8 too.
        nul = _nul_pattern(head) if textual else None
        candidates = (_bom(head) if textual else None, nul, declared, "utf-8")
    tried = []
    for codec in candidates:
        if codec is not None and codec not in tried:
            tried.append(codec)
            text = _decode_with(body, codec, truncated)
            if text is not None and (
                    codec != nul or wide_text(text, body, codec, truncated)):
                return text, codec
    return _latin1_if_textual(body, essence)


# windows-1252 as the WHATWG Encoding standard reads it (the label "iso-8859-1" and
# undeclared Western text in every browser): the bytes 0x80-0x9F are the characters
# below, where ISO 8859-1 has C1 controls no text holds; the five bytes windows-1252
# leaves undefined stay those controls, so each byte is still one character, and the
# text gives back the bytes received.
_C1_AS_1252 = {
    byte: (bytes([byte]).decode("cp1252") if byte not in b"\x81\x8d\x8f\x90\x9d" else chr(byte))
    for byte in range(0x80, 0xA0)
}
_C1 = re.compile(rb"[\x80-\x9f]")


def _latin1_if_textual(body: bytes, essence: str) -> tuple[Optional[str], str]:
    """What :func:`decode` gives when no codec it tried could read ``body``: ISO 8859-1
    for a text type, its bytes 0x80-0x9F as windows-1252 (see :data:`_C1_AS_1252`: a
    Windows client's curly quotes and dashes, “ for 0x93, not U+0093), unless a control
    byte no text holds says it is binary data under that type (a zip or protobuf sent as
    JSON: latin-1 decodes any bytes, and read so it went out as text a dashboard shows
    otherwise than it was received; SPEC 4: base64).
    """
    if is_textual(essence) and _BINARY_BYTE.search(body) is None:
        text = body.decode("latin-1")
        if _C1.search(body) is None:
            return text, "latin-1"
        return text.translate(_C1_AS_1252), "windows-1252"
    return None, ""


def sendable(text: str) -> str:
    """``text`` without lone surrogates (a part's charset=utf-7 can make them)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def decode_field(data: bytes, charset: Optional[str]) -> str:
    """A form field's bytes (a multipart part's) as text in its declared ``charset``, UTF-8
    if none or unknown: each byte that does not decode kept percent-encoded, as a
    urlencoded form keeps it (:func:`escape_undecoded`), and a lone surrogate a codec made
    (UTF-7's ``+2AA-``) as "?" (:func:`sendable`)."""
    if not charset and data.isascii() and 0 not in data[:4]:
        return data.decode("ascii")  # no mark, no NUL pattern: UTF-8 that is ASCII
    codec = _text_codec(charset) if charset else "utf-8"
    declared_wide = codec != "utf-8" and not _alphanumerics_are_ascii(codec)
    if declared_wide or (_bom(data[:4]) or _nul_pattern(data[:4]) or "").startswith(_WIDE):
        # werkzeug (Flask), Django and Starlette read a field in UTF-8 (the request's
        # charset), not in its part's: a UTF-8 field declared UTF-16 (or EBCDIC) read in
        # it was CJK text spelling its bytes, the caller's key among them. Read by its
        # bytes first, as decode() reads such a body; then in the declared charset. So is
        # a field in UTF-16/32 (its mark, its NUL pattern) with no charset, or one where
        # ASCII is itself (latin-1): read so it was NUL-spaced text, in which the
        # caller's key went unmasked. (Told by its bytes alone, only when it is text in
        # that codec: wide_text.)
        found = json.detect_encoding(data)
        whole, rest = data, b""
        try:
            text: Optional[str] = data.decode(found)
        except UnicodeDecodeError as error:
            # The last field of a body cut at max_body_bytes may end in a unit's first
            # bytes (truncated data): its whole units, then those bytes as undecoded.
            text = None
            if found != "utf-8" and error.end == len(data) and error.start > 0:
                whole, rest = data[:error.start], data[error.start:]
                try:
                    text = whole.decode(found)
                except UnicodeError:
                    text = None
        except (UnicodeError, LookupError):
            text = None
        if text is not None and (declared_wide or wide_text(text, whole, found, bool(rest))):
            return sendable(text + escape_undecoded(rest.decode("utf-8", "surrogateescape")))
    try:
        text = data.decode(codec, "surrogateescape")
    except (UnicodeError, LookupError, ValueError, TypeError):
        # A byte below 0x80 that does not decode (UTF-7, UTF-16) cannot be escaped so.
        text = data.decode("utf-8", "surrogateescape")
    return sendable(escape_undecoded(text))
