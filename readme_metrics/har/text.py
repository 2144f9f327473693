"""Turn captured body bytes into text: Content-Type parsing and charsets (SPEC section 4).

Pure functions, cached per distinct header value (the values repeat from log to log).
"""

from __future__ import annotations

import codecs
from functools import lru_cache
from typing import Optional

from readme_metrics.har.redaction import decode_component

__all__ = ["content_type", "decode", "parse_query", "sendable"]


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


def decode(body: bytes, charset: Optional[str], truncated: bool) -> Optional[str]:
    """Body as text, or None when it is binary.

    A truncated body may end in the middle of a multi-byte character: the incremental
    decoder then drops that partial tail instead of calling the whole body binary.
    """
    codec = _text_codec(charset)
    try:
        if truncated:
            text = codecs.getincrementaldecoder(codec)().decode(body, final=False)
        else:
            text = body.decode(codec)
        if codec != "utf-8":
            # utf-7, unicode_escape and friends can yield lone surrogates, which could
            # not be sent as UTF-8 JSON: such a body is not text we can record.
            text.encode("utf-8")
        return text
    except (UnicodeError, LookupError, ValueError, TypeError):
        if codec != "utf-8":
            return decode(body, None, truncated)
        return None


def sendable(text: str) -> str:
    """``text`` without lone surrogates (a part's charset=utf-7 can make them)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def parse_query(raw: str) -> list[tuple[str, str]]:
    """Decoded (name, value) pairs in order; repeats and blank values kept."""
    pairs = []
    for chunk in raw.split("&"):
        if chunk:
            name, _, value = chunk.partition("=")
            pairs.append((decode_component(name), decode_component(value)))
    return pairs
