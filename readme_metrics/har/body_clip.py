"""A recorded body's size and its bound, ``max_body_bytes`` (SPEC section 5), for
:mod:`.bodies`: the comment that says a body was cut short, and by how much.
"""

from __future__ import annotations

from typing import Optional

__all__ = ["body_size", "clip"]


def body_size(size: int, captured: bytes) -> int:
    """The real body size; never below what was captured, -1 only when unknown."""
    if size < -1 or (size != -1 and size < len(captured)):
        return len(captured)
    return size


def clip(body: bytes, size: int, max_body_bytes: int) -> tuple[bytes, Optional[str], bool]:
    """(body within max_body_bytes, truncation comment, truncated?)."""
    total = size
    if max_body_bytes >= 0 and len(body) > max_body_bytes:
        # The capture should have truncated already; guard the bound here too.
        total = max(size, len(body))
        body = body[:max_body_bytes]
    if total > len(body):
        return body, f"truncated to {len(body)} of {total} bytes", True
    if total < 0 <= max_body_bytes <= len(body):
        # A body of unknown length (chunked, its rest unread by the app) recorded up to
        # the limit: the capture stopped there, with more of it maybe to come.
        return body, f"truncated to {len(body)} bytes of a body of unknown length", True
    return body, None, False
