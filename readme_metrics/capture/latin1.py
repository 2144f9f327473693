"""WSGI strings are latin-1: header values turned back into the text or the bytes they were.

PEP 3333 gives every header and the request target as the latin-1 decoding of the bytes
received; :func:`header_text` recovers UTF-8 text when that is what a client sent, and
:func:`wsgi_bytes` the bytes themselves (to percent-encode them into a URL).
"""

from __future__ import annotations

__all__ = ["header_text", "wsgi_bytes"]


def header_text(value: str) -> str:
    """Header strings are latin-1 decoded bytes; recover UTF-8 text when that is what it was."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def wsgi_bytes(value: str) -> bytes:
    """The bytes behind a WSGI string (latin-1 by PEP 3333; UTF-8 if a server broke it)."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace")
