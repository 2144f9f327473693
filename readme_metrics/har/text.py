"""Turn captured body bytes into text: Content-Type parsing and charsets (SPEC section 4).

Pure functions, cached per distinct header value (the values repeat from log to log).
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache
from typing import Callable, Optional

__all__ = [
    "FORM", "PROBED_TEXT", "content_type", "decode", "decode_component", "is_textual",
    "parse_query", "rarest", "sendable", "url_pairs",
]

#: The essence of a form body's Content-Type.
FORM = "application/x-www-form-urlencoded"

_PERCENT_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")

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


@lru_cache(maxsize=64)
def _text_codec(charset: Optional[str]) -> str:
    """The text codec for a declared charset; UTF-8 if none, unknown or not text."""
    if charset:
        try:
            info = codecs.lookup(charset)
        except LookupError:
            return "utf-8"
        # base64, rot13 and friends are codecs too, but not text encodings.
        if getattr(info, "_is_text_encoding", True):
            return info.name
    return "utf-8"


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
    without a charset is read as such, so the deny list still finds its keys). A
    truncated body may end in the middle of a multi-byte character: the incremental
    decoder then drops that partial tail instead of calling the whole body binary.
    """
    head = body[:4]
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
    candidates = (
        _bom(head) if textual else None,
        _text_codec(charset) if charset else None,
        _nul_pattern(head) if textual else None,
        "utf-8",
    )
    tried = []
    for codec in candidates:
        if codec is not None and codec not in tried:
            tried.append(codec)
            text = _decode_with(body, codec, truncated)
            if text is not None:
                return text, codec
    return _latin1_if_textual(body, essence)


def _latin1_if_textual(body: bytes, essence: str) -> tuple[Optional[str], str]:
    """What :func:`decode` gives when no codec it tried could read ``body``."""
    if is_textual(essence):
        return body.decode("latin-1"), "latin-1"
    return None, ""


def sendable(text: str) -> str:
    """``text`` without lone surrogates (a part's charset=utf-7 can make them)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def url_pairs(url: str, change: Callable[[str], str]) -> str:
    """``url`` with ``change`` applied to its query, and to its fragment when that holds
    ``k=v`` pairs (after a ``?`` in it, if it has one: ``#/cb?k=v``), where OAuth's
    implicit flow returns its token. Any other fragment is kept as it is."""
    rest, hash_mark, fragment = url.partition("#")
    base, question, query = rest.partition("?")
    if query:
        query = change(query)
    route, question_in, pairs = fragment.partition("?")
    if not question_in:
        route, pairs = "", fragment
    if "=" in pairs:
        fragment = route + question_in + change(pairs)
    return base + question + query + hash_mark + fragment


def parse_query(raw: str) -> list[tuple[str, str]]:
    """Decoded (name, value) pairs in order; repeats and blank values kept."""
    pairs = []
    for chunk in raw.split("&"):
        if chunk:
            name, _, value = chunk.partition("=")
            pairs.append((decode_component(name), decode_component(value)))
    return pairs


def _decode_run(match: re.Match[str]) -> str:
    """Decode one run of %XX escapes as UTF-8, keeping undecodable escapes as written."""
    escapes = match.group(0)
    data = bytes.fromhex(escapes.replace("%", ""))
    out: list[str] = []
    start = 0
    while start < len(data):
        try:
            out.append(data[start:].decode("utf-8"))
            break
        except UnicodeDecodeError as exc:
            # exc positions are relative to data[start:]; each byte is 3 escape characters.
            bad_start, bad_end = start + exc.start, start + exc.end
            out.append(data[start:bad_start].decode("utf-8"))
            out.append(escapes[3 * bad_start:3 * bad_end])
            start = bad_end
    return "".join(out)


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
    return _PERCENT_RUN.sub(_decode_run, text)
