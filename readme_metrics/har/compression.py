"""Undo a body's ``Content-Encoding`` (gzip, deflate; br and zstd when a module for them
is installed: :mod:`~readme_metrics.har.coding_engines`) before it is recorded (issue 14.2).

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

from readme_metrics.har.coding_engines import MODULES, Engine, engine, too_old

__all__ = ["GZIP", "MOST_CODINGS", "MOST_MEMBERS", "ZLIB", "Corrupt", "Decoded", "decompress",
           "missing_decoder", "names_no_coding", "undeclared", "undo"]

# wbits: 16 + 15 reads a gzip member; 15 a zlib stream ("deflate" as the RFC means it);
# -15 a raw deflate stream (what some servers send as "deflate").
GZIP, ZLIB, _RAW = 31, 15, -15
_IDENTITY = frozenset({"", "identity"})
#: Most codings of one Content-Encoding undone. Each may inflate to ``limit``, and the
#: header is the client's: "gzip, gzip, ..." over a body gzipped as often (each layer
#: the next one plus padding that inflates to ``limit``) had a 256 KiB request cost the
#: worker a thousand inflations of 256 KiB, about 0.4 s of CPU per log. Clients and
#: servers apply one coding, two at most; a body with more is recorded as unreadable.
MOST_CODINGS = 4
#: Most gzip members or zstd frames of one coding undone: each next one is read from a
#: copy of the rest of the body (the decoder's ``unused_data``), so a body of empty ones
#: (20 bytes a gzip member, 8 a skippable zstd frame) cost time in the square of its
#: length: 256 KiB of skippable frames took 0.6 s of the worker's CPU, 1 MiB 5 s.
#: Compressors write one (Flask-Compress, starlette-compress: one frame, flushed by
#: blocks); past this many, the body is recorded as far as they go, cut short.
MOST_MEMBERS = 64
#: Content codings that compress or encrypt: IANA's registry, and ones used outside it. A
#: body in one that cannot be undone is unreadable, whatever its bytes.
_CODINGS = frozenset({
    "gzip", "x-gzip", "deflate", "br", "zstd", "compress", "x-compress", "aes128gcm",
    "exi", "pack200-gzip", "dcb", "dcz", "xz", "lzma", "bzip2", "x-bzip2", "lz4", "snappy",
})


@dataclass(frozen=True)
class Decoded:
    """A body with its content codings undone."""

    body: bytes
    #: The codings undone, as written in the header (for the HAR comment).
    codings: str
    #: True when the output stopped at the bound or the compressed stream was incomplete.
    truncated: bool
    #: The codings found inside the declared ones and undone too (see
    #: :func:`undeclared`), innermost last: "" for none.
    inside: str = ""


class Corrupt(Exception):
    """The data is no stream of its coding."""


def _zlib_engine(wbits: int) -> Engine:
    return Engine(lambda: zlib.decompressobj(wbits), zlib.error, members=wbits == GZIP)


_ZLIB_ENGINES = {wbits: _zlib_engine(wbits) for wbits in (GZIP, ZLIB, _RAW)}


def _inflate(data: bytes, coder: Engine, limit: int) -> tuple[bytes, bool]:
    """(at most ``limit`` bytes of output, truncated?); raises Corrupt if corrupt."""
    out: list[bytes] = []
    left = limit
    for _ in range(MOST_MEMBERS):
        decoder = coder.new()
        try:
            chunk = decoder.decompress(data, left) if left > 0 else b""
        except coder.error:
            if not out:
                raise Corrupt from None
            return b"".join(out), False  # trailing garbage after a complete member

        out.append(chunk)
        left -= len(chunk)
        if not decoder.eof:
            # Either the bound stopped it (input left over) or the stream is cut short.
            return b"".join(out), True
        data = decoder.unused_data
        # Concatenated gzip members (RFC 1952) and zstd frames are one body; anything
        # else after the end of a stream is trailing garbage that is not part of it.
        if not coder.members or not data:
            return b"".join(out), False
        if left <= 0:
            return b"".join(out), True
    return b"".join(out), True  # more members than MOST_MEMBERS: the rest is not read


def undo(coding: str, data: bytes, limit: int) -> tuple[bytes, bool]:
    """(``data`` with one ``coding`` undone, to ``limit`` bytes; truncated?); raises
    :class:`Corrupt` if it is no stream of it, ValueError for a coding with no decoder."""
    if coding in ("gzip", "x-gzip"):
        return _inflate(data, _ZLIB_ENGINES[GZIP], limit)
    if coding == "deflate":
        try:
            return _inflate(data, _ZLIB_ENGINES[ZLIB], limit)
        except Corrupt:
            return _inflate(data, _ZLIB_ENGINES[_RAW], limit)
    coder = engine(coding)
    if coder is None:
        raise ValueError(coding)
    return _inflate(data, coder, limit)


def decompress(body: bytes, header: Optional[str], limit: int) -> Optional[Decoded]:
    """``body`` with the codings of a Content-Encoding ``header`` undone.

    Returns a :class:`Decoded` with the body unchanged when there is no coding (or only
    ``identity``), and None when a coding is unknown (br or zstd without a module for it,
    compress, ...), there are more than :data:`MOST_CODINGS`, or the data is corrupt: the
    caller cannot read such a body.
    """
    codings = [c.strip().lower() for c in (header or "").split(",")]
    codings = [c for c in codings if c not in _IDENTITY]
    if not codings or not body:
        return Decoded(body, ", ".join(codings), False)
    if len(codings) > MOST_CODINGS:
        return None
    truncated = False
    inside: list[str] = []
    try:
        # Codings are listed in the order they were applied: undo the last one first.
        for coding in reversed(codings):
            body, cut = undo(coding, body, limit)
            truncated = truncated or cut
        # A body compressed again inside (gzip of gzip, declared once): its base64 showed
        # what the lists hide to anyone who decompressed it twice (forms23). Undone as a
        # declared coding is, within the same bounds: MOST_CODINGS in all, each to
        # ``limit``; one still compressed past them is unreadable.
        while (found := undeclared(body)) is not None:
            if len(codings) + len(inside) >= MOST_CODINGS:
                return None
            body, cut = undo(found, body, limit)
            truncated = truncated or cut
            inside.append(found)
    except (Corrupt, ValueError):
        return None
    return Decoded(body, ", ".join(codings), truncated, ", ".join(inside))


#: The first bytes of a gzip member (its magic and the deflate method) and of a zstd frame.
_GZIP_MAGIC = b"\x1f\x8b\x08"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def undeclared(body: bytes) -> Optional[str]:
    """The coding a decoded ``body`` is still in, told by its first bytes: gzip, or zstd
    when a module reads it (one with no module: unreadable, as a declared one is); None
    for any other body (a zlib or brotli stream has no magic that data could not
    start with by chance)."""
    if body.startswith(_GZIP_MAGIC):
        return "gzip"
    if body.startswith(_ZSTD_MAGIC):
        return "zstd"
    return None


def missing_decoder(header: str) -> Optional[str]:
    """What to install to read a body whose Content-Encoding ``header`` lists br or zstd
    and no module for it is installed (None otherwise), for the HAR comment."""
    codings = {c.strip().lower() for c in header.split(",")}
    wanted = [MODULES[c] + (" 1.2 or newer" if too_old(c) else "")
              for c in sorted(codings & MODULES.keys()) if engine(c) is None]
    return f"install {' and '.join(wanted)} to record such bodies" if wanted else None


def names_no_coding(header: str, body: bytes) -> bool:
    """Whether a Content-Encoding ``header`` that cannot be undone names no coding that
    compresses or encrypts (``utf-8``, ``none``, ``binary``: a charset or a word put
    there by mistake, which clients such as requests ignore) and ``body`` is UTF-8 text
    with no control but whitespace: then the body is the text as sent."""
    tokens = {c.split(";")[0].strip().lower() for c in header.split(",")}
    if tokens & _CODINGS:
        return False
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not any(c < " " and c not in "\t\n\r" or c == "\x7f" for c in text)
