"""A declared charset's codec: Python's own text codecs only, and whether a form fits it.

Moved from :mod:`readme_metrics.har.text`, as is; :func:`text_codec` reads a charset
:func:`readme_metrics.har.text.content_type` found.
"""

from __future__ import annotations

import codecs
import encodings
import encodings.aliases
import pkgutil
from functools import lru_cache
from typing import Optional

__all__ = ["ALPHANUMERICS", "ASCII_BYTES", "NOT_FORM_CHARSETS", "WIDE",
           "alphanumerics_are_ascii", "ascii_is_ascii", "form_codec", "known_charset",
           "known_charsets", "text_codec", "wide_form_codec"]


# The charset names Python's own codecs answer to (their modules and aliases, as the
# encodings package normalises a name): a name outside them is unknown without asking
# codecs.lookup, which remembers every name it did not find for the process's life (the
# encodings package caches its misses), so a client sending a new charset each request
# grew the process without bound. Codecs a program registers itself are not looked up.
# Listed on the first charset looked up (on the delivery worker), not at import: listing
# the encodings package's modules takes about 6 ms.
@lru_cache(maxsize=1)
def known_charsets() -> frozenset[str]:
    return frozenset(
        {*encodings.aliases.aliases, *encodings.aliases.aliases.values(),
         *(module.name for module in pkgutil.iter_modules(encodings.__path__))})


def known_charset(charset: str) -> bool:
    name, known = encodings.normalize_encoding(charset), known_charsets()
    return name in known or name.replace(".", "_") in known


@lru_cache(maxsize=64)
def text_codec(charset: Optional[str]) -> str:
    """The text codec for a declared charset; UTF-8 if none, unknown or not text."""
    if charset and known_charset(charset):
        try:
            info = codecs.lookup(charset)
        except LookupError:
            return "utf-8"
        # base64, rot13 and friends are codecs too, but not text encodings.
        if getattr(info, "_is_text_encoding", True):
            return info.name
    return "utf-8"


# Codecs under which ASCII bytes read as ASCII that are still no charset a form is written
# in: Python's escape transforms (raw_unicode_escape reads "\\u0041" as "A"), ISO 2022's
# shifts (after an escape, ASCII bytes are other characters) and charmap (no table).
NOT_FORM_CHARSETS = ("raw-unicode-escape", "iso2022", "charmap")
ASCII_BYTES = bytes(range(128))


@lru_cache(maxsize=64)
def form_codec(charset: Optional[str]) -> Optional[str]:
    """The codec of a form's declared charset when it is not UTF-8 and a form can be
    written in it, else None (read as UTF-8).

    A form's ``&``, ``=``, ``%`` and ``+`` are ASCII bytes: only a text encoding under
    which every ASCII byte is that character, both ways, qualifies (latin-1, windows-1252,
    Shift_JIS ...; not UTF-7, where ``+`` starts a run, UTF-16, EBCDIC, base64 or rot13).
    """
    codec = text_codec(charset) if charset else "utf-8"
    if codec == "utf-8" or codec.startswith(NOT_FORM_CHARSETS):
        return None
    return codec if ascii_is_ascii(codec) else None


@lru_cache(maxsize=64)
def wide_form_codec(charset: Optional[str]) -> Optional[str]:
    """The codec of a form's declared charset when it is UTF-16 or UTF-32 (its ASCII
    NUL-spaced, so no :func:`form_codec`), else None."""
    codec = text_codec(charset) if charset else "utf-8"
    return codec if codec.startswith(WIDE) else None


@lru_cache(maxsize=64)
def ascii_is_ascii(codec: str) -> bool:
    """Whether every ASCII byte is that character in ``codec``, both ways."""
    try:
        return (ASCII_BYTES.decode(codec) == ASCII_BYTES.decode("ascii")
                and ASCII_BYTES.decode("ascii").encode(codec) == ASCII_BYTES)
    except (UnicodeError, LookupError, ValueError, TypeError):
        return False


ALPHANUMERICS = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"


@lru_cache(maxsize=64)
def alphanumerics_are_ascii(codec: str) -> bool:
    """Whether ASCII letters, digits, "-" and "_" (what API keys are made of) are those
    characters in ``codec``: not in UTF-16/32 or EBCDIC, where UTF-8 text read in it
    spells its bytes otherwise."""
    try:
        return ALPHANUMERICS.decode(codec) == ALPHANUMERICS.decode("ascii")
    except (UnicodeError, LookupError, ValueError, TypeError):
        return False


# The codecs of UTF-16/32, whose ASCII is NUL-spaced.
WIDE = ("utf-16", "utf-32")
