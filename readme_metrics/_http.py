"""Pieces of HTTP syntax (RFC 9110) that more than one module checks input against."""

from __future__ import annotations

import re

__all__ = ["TOKEN", "is_token"]

# RFC 9110 section 5.6.2 token: what a method or a header field name may be made of.
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")


def is_token(text: str) -> bool:
    """True when ``text`` is a whole RFC 9110 token (a method or header name)."""
    return TOKEN.match(text) is not None
