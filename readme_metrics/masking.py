"""The one-way mask used for group ids, credentials and cookies (SPEC section 4).

``mask(value) = "sha512-" + base64(sha512(value)) + "?" + value[-4:]``: the dashboard can
group calls by the same caller and show the last four characters for recognition, while
the secret itself never leaves the process.

A value may hold lone surrogates (a grouping function that read a header's bytes with
``errors="surrogateescape"``): they have no UTF-8, so :func:`utf8` says which bytes such
a value stands for, and the four characters shown write each one as U+FFFD, as any UTF-8
reader would show it (a log holding a lone surrogate is JSON that servers read
differently, or refuse).
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache
from urllib.parse import quote, quote_plus

__all__ = ["CACHED_LENGTH", "is_masked", "kept_mask", "mask", "url_quoted", "utf8"]

# Lone surrogates, and those of them surrogateescape cannot encode (it makes \udc80 to
# \udcff of the bytes 0x80 to 0xff it could not decode, and knows no other).
_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_ESCAPED_BYTE = re.compile("([\ud800-\udc7f\udd00-\udfff]+)")


def utf8(value: str) -> bytes:
    """``value`` as UTF-8, never raising: a lone surrogate \\udc80 to \\udcff as the byte
    surrogateescape decoded it from (``b"\\x80"``), any other as its own three bytes."""
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        pieces = _NOT_ESCAPED_BYTE.split(value)  # text, surrogates, text, ...
        return b"".join(piece.encode("utf-8", "surrogatepass" if index % 2 else
                                     "surrogateescape") for index, piece in enumerate(pieces))


def url_quoted(value: str, safe: str = "", plus: bool = False) -> str:
    """``quote(value, safe)`` (``quote_plus`` with ``plus``) of any str, never raising: a
    lone surrogate as the bytes :func:`utf8` says it stands for. quote() itself encodes
    strict UTF-8, and raised UnicodeEncodeError there: the log was lost (review142)."""
    return (quote_plus if plus else quote)(utf8(value), safe=safe)


#: The longest value whose mask :func:`mask` keeps (its last 4096, each with the value
#: it masks): an API key, a session cookie, most bearer tokens. A longer one (a body's
#: credential value, up to max_body_bytes) is masked again each time, so the cache holds
#: at most 4096 x 2048 characters (secrets16: 4096 values of any length before, a
#: gigabyte and more of them kept in memory for 1 MB values).
CACHED_LENGTH = 2048


def mask(value: str) -> str:
    """Return the SPEC mask of ``value`` (stable, so equal inputs group together)."""
    return kept_mask(value) if len(value) <= CACHED_LENGTH else _mask(value)


def _mask(value: str) -> str:
    """:func:`mask`, not kept."""
    digest = hashlib.sha512(utf8(value)).digest()
    tail = value[-4:]
    if not tail.isascii():
        tail = _SURROGATE.sub("\ufffd", tail)
    return "sha512-" + base64.b64encode(digest).decode("ascii") + "?" + tail


#: :func:`mask` of a value of :data:`CACHED_LENGTH` characters or fewer, kept: for the
#: hot paths (a log's cookies and credential headers), which test the length inline
#: rather than pay :func:`mask`'s call.
kept_mask = lru_cache(maxsize=4096)(_mask)


def is_masked(value: str) -> bool:
    """True when ``value`` already has the shape of :func:`mask` output."""
    return value.startswith("sha512-") and len(value) >= 95 and value[95:96] == "?"
