"""What a binary body holds compressed under no coding declared for it, read only for
the lists' check of binary data (:mod:`.body_text`).

A gzip upload sent as ``application/gzip``, ``application/octet-stream`` or with no type
(no Content-Encoding), or a zlib stream inside a declared gzip, is recorded as base64 of
its compressed bytes, which a reader gets back with one command (``base64 -d | gunzip``):
a body whose readings here spell a listed key is redacted whole, as binary data spelling
one is; any other is recorded as it was sent.

A coding is told by its first bytes: a gzip member's magic, a zstd frame's (read when a
module for zstd is installed), a zlib header (two bytes whose check one random body in
about 840 passes: reading such a body costs inflating it to its first corrupt byte, and
it is redacted only if what comes out spells a listed key). Brotli has no first bytes of
its own (about 4% of random 64 KiB bodies read as brotli without error): not looked for.
Bounded as a declared coding is: at most :data:`~.compression.MOST_CODINGS` layers, each
to ``limit`` bytes of output; a body that holds more (a layer reaching the bound, a fifth
layer) cannot be checked, and is redacted whole too. A gzip or zlib stream that turns
out corrupt (a checksum that does not match, a byte no stream holds) gives what it
decoded before that byte, as gunzip prints it; a corrupt zstd frame gives nothing.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from typing import Optional

from readme_metrics.har import inflation_budget
from readme_metrics.har.compression import GZIP, MOST_CODINGS, ZLIB, Corrupt, undeclared, undo

__all__ = ["budgeted_holds", "holds", "layers", "salvaged", "starts_compressed"]

#: Input fed to the decoder of a corrupt stream at a time; the piece holding the corrupt
#: byte is fed again a byte at a time, from a copy of the decoder made before it.
_STEP = 4096


def _told(data: bytes) -> Optional[str]:
    """The coding ``data`` starts like: gzip, zstd, or deflate (a zlib header: deflate's
    method, a window of at most 32 KiB, no preset dictionary, its check), else None."""
    found = undeclared(data)
    if found is not None:
        return found
    if data[:3] == b"BZh" and data[3:4] in _BZIP2_LEVELS and data[4:6] in _BZIP2_BLOCKS:
        return "bzip2"
    if (len(data) > 2 and data[0] & 0x0F == 8 and data[0] >> 4 <= 7 and not data[1] & 0x20
            and (data[0] << 8 | data[1]) % 31 == 0):
        return "deflate"
    return None


def starts_compressed(data: bytes) -> bool:
    """Whether ``data`` starts like a gzip member, a zstd frame or a zlib stream (its
    first 6 bytes tell)."""
    return _told(data) is not None


def holds(body: bytes, found: Callable[[bytes], bool], limit: int, whole: bool = True,
          tally: Optional[list[int]] = None) -> bool:
    """Whether a layer ``body`` holds compressed is ``found`` (spells a listed key),
    or, ``whole``, cannot be checked whole: a layer that reaches ``limit`` bytes (more
    may follow, which a reader of the recorded bytes would get), or one still compressed
    past :data:`~.compression.MOST_CODINGS`. False for a body that starts like no
    compressed stream. ``tally``: each layer's length appended to it, as decoded."""
    data = body
    for data in layers(body, limit):
        if tally is not None:
            tally.append(len(data))
        if whole and len(data) >= limit or found(data):
            return True
    return whole and _told(data) is not None


def budgeted_holds(body: bytes, found: Callable[[bytes], bool], limit: int) -> bool:
    """:func:`holds`, the bytes its layers decode to taken from the process's budget
    (:mod:`.inflation_budget`) as a zip's entries are: True (hidden unread) for a
    ``body`` that starts compressed while the budget is spent. For the readings that
    come many to a body: a JSON document's base64 archives, a multipart's files
    (review126: each 64-byte bzip2 bomb decoded to the 4 MiB bound, 37 ms of the
    worker's time, unbudgeted: 15,000 of them to a MiB of JSON)."""
    if _told(body) is None:
        return False
    bucket = inflation_budget.BUDGET
    if not bucket.open():
        return True
    tally: list[int] = []
    try:
        return holds(body, found, limit, tally=tally)
    finally:
        bucket.spend(sum(tally))


def layers(body: bytes, limit: int) -> Iterator[bytes]:
    """Each layer ``body`` holds compressed, undone in turn (gzip, zstd, zlib, as their
    first bytes tell), each to ``limit`` bytes, at most :data:`~.compression.MOST_CODINGS`
    of them (the last still compressed when :func:`starts_compressed` says so); nothing
    for a body that starts like no compressed stream. A corrupt gzip or zlib stream gives
    what it decodes before its first corrupt byte, a corrupt zstd frame nothing."""
    data = body
    for _ in range(MOST_CODINGS):
        coding = _told(data)
        if coding is None:
            return
        if coding == "bzip2":
            data = _bunzipped(data, limit)
            yield data
            continue
        try:
            data = undo(coding, data, limit)[0]
        except (Corrupt, ValueError):
            data = b"" if coding == "zstd" else salvaged(
                data, GZIP if coding == "gzip" else ZLIB, limit)
        yield data


#: bzip2's levels (its block size), and the first bytes of a block or of the end of an
#: empty stream, after ``BZh`` and the level (``BZh91AY&SY``).
_BZIP2_LEVELS = frozenset(bytes((digit,)) for digit in b"123456789")
_BZIP2_BLOCKS = frozenset({b"1A", b"\x17r"})


def _bunzipped(data: bytes, limit: int) -> bytes:
    """A bzip2 file (``.bz2``, ``application/x-bzip2``; streams one after another, as
    pbzip2 writes, one file) to ``limit`` bytes, a corrupt one as far as its blocks
    decode (hostile33: never read before). Fed a piece of :data:`_STEP` bytes at a time
    (``BZ2Decompressor`` copies the input it has not taken: the whole body, each call, had
    it been fed whole), each call's output bounded: memory the output and bzip2's own
    buffers (a block, 900 KB at most, about 3.6 MB to decode it), whatever the ratio."""
    import bz2

    out: list[bytes] = []
    left = limit
    decoder = bz2.BZ2Decompressor()
    at = 0
    while left > 0:
        if decoder.eof:  # (a stream ended: another may follow)
            rest = decoder.unused_data + data[at:at + _STEP]
            if not rest.startswith(b"BZh"):
                break
            decoder, at = bz2.BZ2Decompressor(), at + _STEP
            piece = rest
        elif decoder.needs_input:
            if at >= len(data):
                break  # (cut short: what it holds)
            piece, at = data[at:at + _STEP], at + _STEP
        else:
            piece = b""  # (output held back by the bound of the call before)
        try:
            chunk = decoder.decompress(piece, left)
        except (OSError, EOFError, ValueError):
            break
        if not chunk and not piece:
            break  # (no progress: never expected, never looped on)
        out.append(chunk)
        left -= len(chunk)
    return b"".join(out)


def salvaged(data: bytes, wbits: int, limit: int) -> bytes:
    """What a corrupt gzip member or zlib stream decodes to before its first corrupt
    byte, to ``limit`` bytes."""
    decoder = zlib.decompressobj(wbits)
    out: list[bytes] = []
    left = limit
    for at in range(0, len(data), _STEP):
        piece = data[at:at + _STEP]
        before = decoder.copy()
        try:
            chunk = decoder.decompress(piece, left)
        except zlib.error:
            out.append(_bytewise(before, piece, left))
            break
        out.append(chunk)
        left -= len(chunk)
        if left <= 0 or decoder.eof:
            break
    return b"".join(out)


def _bytewise(decoder: zlib._Decompress, piece: bytes, left: int) -> bytes:
    """``piece`` fed to ``decoder`` a byte at a time, to the first it cannot take, to
    ``left`` bytes (one byte of deflate data gives 2 KiB at most: no bound is asked of
    each call, which would allocate one)."""
    out = bytearray()
    for byte in piece:
        try:
            out += decoder.decompress(bytes((byte,)))
        except zlib.error:
            break
        if len(out) >= left:
            break
    return bytes(out[:left])
