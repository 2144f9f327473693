"""Undo a body's ``Content-Encoding`` (gzip, deflate) before it is recorded (issue 14.2).

A compressed body would otherwise go out as base64, with whatever the deny list should
have hidden readable by anyone who gunzips it. Decompression is bounded: at most
``limit`` bytes come out of each coding, whatever the ratio (a zip bomb costs the output
bound, no more), at most :data:`MOST_CODINGS` codings are undone, and a stream cut short
(a truncated capture) yields what it holds.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Optional

__all__ = ["MOST_CODINGS", "Decoded", "decompress"]

# wbits: 16 + 15 reads a gzip member; 15 a zlib stream ("deflate" as the RFC means it);
# -15 a raw deflate stream (what some servers send as "deflate").
_GZIP, _ZLIB, _RAW = 31, 15, -15
_IDENTITY = frozenset({"", "identity"})
#: Most codings of one Content-Encoding undone. Each may inflate to ``limit``, and the
#: header is the client's: "gzip, gzip, ..." over a body gzipped as often (each layer
#: the next one plus padding that inflates to ``limit``) had a 256 KiB request cost the
#: worker a thousand inflations of 256 KiB, about 0.4 s of CPU per log. Clients and
#: servers apply one coding, two at most; a body with more is recorded as unreadable.
MOST_CODINGS = 4


@dataclass(frozen=True)
class Decoded:
    """A body with its content codings undone."""

    body: bytes
    #: The codings undone, as written in the header (for the HAR comment).
    codings: str
    #: True when the output stopped at the bound or the compressed stream was incomplete.
    truncated: bool


def _inflate(data: bytes, wbits: int, limit: int) -> tuple[bytes, bool]:
    """(at most ``limit`` bytes of output, truncated?); raises zlib.error if corrupt."""
    out: list[bytes] = []
    left = limit
    while True:
        engine = zlib.decompressobj(wbits)
        try:
            chunk = engine.decompress(data, left) if left > 0 else b""
        except zlib.error:
            if not out:
                raise
            return b"".join(out), False  # trailing garbage after a complete member

        out.append(chunk)
        left -= len(chunk)
        if not engine.eof:
            # Either the bound stopped it (input left over) or the stream is cut short.
            return b"".join(out), True
        data = engine.unused_data
        # Concatenated gzip members are one body (RFC 1952); anything else after the
        # end of a zlib/raw stream is trailing garbage that is not part of it.
        if wbits != _GZIP or not data:
            return b"".join(out), False
        if left <= 0:
            return b"".join(out), True


def _undo(coding: str, data: bytes, limit: int) -> tuple[bytes, bool]:
    if coding in ("gzip", "x-gzip"):
        return _inflate(data, _GZIP, limit)
    if coding == "deflate":
        try:
            return _inflate(data, _ZLIB, limit)
        except zlib.error:
            return _inflate(data, _RAW, limit)
    raise ValueError(coding)


def decompress(body: bytes, header: Optional[str], limit: int) -> Optional[Decoded]:
    """``body`` with the codings of a Content-Encoding ``header`` undone.

    Returns a :class:`Decoded` with the body unchanged when there is no coding (or only
    ``identity``), and None when a coding is unknown (br, zstd, ...), there are more
    than :data:`MOST_CODINGS`, or the data is corrupt: the caller cannot read such a body.
    """
    codings = [c.strip().lower() for c in (header or "").split(",")]
    codings = [c for c in codings if c not in _IDENTITY]
    if not codings or not body:
        return Decoded(body, ", ".join(codings), False)
    if len(codings) > MOST_CODINGS:
        return None
    truncated = False
    try:
        # Codings are listed in the order they were applied: undo the last one first.
        for coding in reversed(codings):
            body, cut = _undo(coding, body, limit)
            truncated = truncated or cut
    except (zlib.error, ValueError):
        return None
    return Decoded(body, ", ".join(codings), truncated)
