"""A zip's compressed entries, inflated for the check of binary data
(:func:`~.key_shapes.shapes_key_in`; moved from :mod:`.key_formats`, hostile31).

A zip entry deflated (``zip``'s and every library's default) has its text compressed: a
zipped ``.env``'s ``PASSWORD=...`` went out as base64, which ``unzip`` reads (hostile29).
Each entry of method 8 is inflated here (raw deflate, from its local header), its text
the reading :func:`~.key_shapes.shapes_key_in` checks, as a gzip upload's layer is read
(:mod:`.body_compressed`). Bounded and linear: :data:`MOST_INFLATED` bytes of output in
all a body (a zip bomb costs no more; one whose entries are not all read to their end
within it is hidden whole unread, hostile33), each entry's first :data:`HEAD` bytes before any
entry's rest (a ``.env`` after a 5 MiB log is read; review121), each entry's input read
once (its size from its header, else fed in pieces that double, to its stream's end); an
encrypted entry is not read; a corrupt one as far as it inflates. An entry of bzip2 or
LZMA (methods 12 and 14) whose header gives its size is unpacked the same way
(review121); one whose sizes come after it, or an entry in a method not read here
(Deflate64, zstd, xz ...: :data:`_UNREAD`), hides the body (hostile33).
An entry that is a gzip file (``.gz``, ``.tgz``: stored, as ``zip`` stores
what it cannot shrink, or deflated) is gunzipped too, within the same bound (hostile31:
its ``.env`` went out unread), layer by layer as a body is (a gzip of a gzip, a zlib
stream, a zstd frame: review123; a bzip2 file: hostile33); one still compressed past four
layers hides the body.

Over time, the bytes inflated are taken from the process's budget
(:mod:`.inflation_budget`): a body to inflate while it is spent is not read, and
:func:`inflated_entries` says so (None): the body is hidden whole.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any, Optional

from readme_metrics.har import inflation_budget
from readme_metrics.har.body_compressed import layers, salvaged, starts_compressed
from readme_metrics.har.inflation_budget import Bucket

__all__ = ["HEAD", "MOST_INFLATED", "compressed_entry", "inflated_entries"]

#: Bytes a zip's compressed entries are inflated to, in all, a body.
MOST_INFLATED = 4 << 20

#: Bytes of each entry read before the rest of any (review121).
HEAD = 16 << 10

#: The first piece of an entry whose size its header does not give (a data descriptor).
_FIRST_PIECE = 512
_LAST_PIECE = 1 << 16

_RAW = -15


#: What comes before each entry's text: a word's edge that is no length (a blank after a
#: blank; a lone ``\n`` after a PNG's last byte was Avro's length of ``token``).
_APART = b"\n\n"


def inflated_entries(data: bytes) -> Optional[bytes]:
    """The text of ``data``'s zip entries compressed, each after :data:`_APART`, to
    :data:`MOST_INFLATED` bytes in all; ``b""`` when there is none; None when one is
    compressed and the process's budget (:mod:`.inflation_budget`) is spent, an entry
    still compressed past four layers (review123), or the entries are not all read to
    their end (hostile33: the bound reached, an entry of bzip2 or LZMA whose sizes come
    after it, a method not read: :data:`_UNREAD`): not read (hidden whole).
    Each entry's first :data:`HEAD` bytes are read before any entry's rest (review121:
    4 MiB of a log or of PNGs deflated spent the bound, and a ``.env`` after them went
    out unread), then the rest of each, in order, to the bound, then each entry that is
    a compressed file undone, to the bound. (Each entry starts 4 bytes past the one before
    it at least, and its input is read once: linear.)"""
    out: list[bytes] = []
    rests: list[tuple[int, _Rest]] = []
    gzips: list[Any] = []  # (an entry's text or stored data, that is a gzip file)
    left = MOST_INFLATED
    budget: Optional[Bucket] = None
    text: Optional[bytes] = b""
    unread = False
    view = memoryview(data)
    found = data.find(b"PK\3\4")
    while found >= 0 and found + 30 <= len(data) and left > 0:
        flags, method = struct.unpack_from("<HH", data, found + 6)
        size = struct.unpack_from("<I", data, found + 18)[0]
        named, extra = struct.unpack_from("<HH", data, found + 26)
        start = found + 30 + named + extra
        end = start
        stored = method == 0 and starts_compressed(data[start:start + 6])
        gave = stored  # (whether it gave an entry's data: see below)
        if budget is None and _to_inflate(flags, method, start, data, stored):
            budget = inflation_budget.BUDGET
            if not budget.open():
                return None
        if method == 8 and not flags & 1 and start < len(data):
            head = min(left, HEAD)
            if size and not flags & 8 and start + size <= len(data):
                end = start + size
                text, rest = _inflated(view[start:end], head)
            else:
                decoder = zlib.decompressobj(_RAW)
                text, end = _streamed(view, start, head, decoder)
                rest = None if decoder.eof or len(text) < head else (decoder, view, end)
            if rest is not None:
                rests.append((len(out), rest))
            out.append(text)
            left -= len(text)
            gave = bool(text)
        elif method in (12, 14) and not flags & 9 and size:
            end = min(start + size, len(data))  # (a body cut short: as far as it goes)
            text, rest = _unpacked(method, view[start:end], min(left, HEAD))
            if rest is not None:
                rests.append((len(out), rest))
            out.append(text)
            left -= len(text)
            gave = bool(text)
        elif not flags & 1 and (method in (12, 14) and flags & 8 or method in _UNREAD):
            # (Compressed, not encrypted, not read: its sizes after it, or a method
            # zlib, bz2 and lzma do not read; hostile33: its .env went out unread.)
            unread = True
            break
        elif stored and not flags & 9:
            # (Its size, else to the next entry's header: entries read apart, linear.)
            end = start + size if size and not flags & 8 else data.find(b"PK\3\4", start)
            end = len(data) if end < 0 else min(end, len(data))
            gzips.append(view[start:end])
        # (A header that gave no text is looked past from its own 4 bytes on: a bogus
        # one before the real, "PK\3\4" and then a zip as unzip reads it, read its
        # fields from the real one's and jumped past it; hostile38.)
        found = data.find(b"PK\3\4", max(found + 4, end) if gave else found + 4)
    for index, rest in rests:
        if left <= 0:
            break
        more = _rest(rest, len(out[index]), left)
        out[index] += more
        left -= len(more)
    gzips += [text for text in out if starts_compressed(text[:6])]
    for gzipped in gzips:
        if left <= 0:
            break
        text = _uncompressed(bytes(gzipped), left)
        if text is None:  # (still compressed past four layers: hidden unread)
            break
        out.append(text)
        left -= len(text)
    if budget is not None:
        budget.spend(MOST_INFLATED - left)
    if text is None or unread or left <= 0:
        # (Not read whole: the bound reached, what follows unread; hostile33: a .env
        # after 300 entries of 20 KB went out in base64 that unzip reads.)
        return None
    return b"".join(_APART + text for text in out)


#: Compression methods of entries that other tools read and this module does not:
#: shrink, reduce, implode, Deflate64 (Windows' for large files), PKWARE's imploding,
#: IBM's TERSE and LZ77, zstd, MP3, xz, JPEG, WavPack, PPMd.
_UNREAD = frozenset({1, 2, 3, 4, 5, 6, 9, 10, 18, 19, 93, 94, 95, 96, 97, 98})


def _to_inflate(flags: int, method: int, start: int, data: bytes, stored: bool) -> bool:
    """Whether the entry whose data starts at ``start`` is one to inflate: not encrypted,
    deflated, bzip2, LZMA, ``stored`` a compressed file, or in a method not read
    (:data:`_UNREAD`: the zip is then hidden unread)."""
    return not flags & 1 and start < len(data) and (
        method in (8, 12, 14) or stored or method in _UNREAD)


def compressed_entry(data: bytes) -> bool:
    """Whether ``data`` holds a zip entry :func:`inflated_entries` would inflate (a zip
    past the depth read, hidden whole unread: review123); past
    :data:`_MOST_HEADERS` entries' headers, taken to."""
    found = data.find(b"PK\3\4")
    for _ in range(_MOST_HEADERS):
        if found < 0 or found + 30 > len(data):
            return False
        flags, method = struct.unpack_from("<HH", data, found + 6)
        named, extra = struct.unpack_from("<HH", data, found + 26)
        start = found + 30 + named + extra
        if _to_inflate(flags, method, start, data,
                       method == 0 and starts_compressed(data[start:start + 6])):
            return True
        found = data.find(b"PK\3\4", found + 4)
    return True


#: Entries' headers :func:`compressed_entry` looks at.
_MOST_HEADERS = 16384


def _uncompressed(data: bytes, left: int) -> Optional[bytes]:
    """A compressed file in an entry (gzip, zlib, zstd: ``creds.env.gz``, ``.tgz``,
    ``.gz.gz``, ``.z``) undone layer by layer as a body is
    (:func:`~.body_compressed.layers`), to ``left`` bytes, a corrupt one as far as
    gunzip prints it (hostile31); None when still compressed past four layers
    (review123: a gzip of a gzip, a zlib stream went out unread)."""
    text = data
    for layer in layers(data, left):
        text = layer
    return None if starts_compressed(text[:6]) else text


#: What is left of an entry past its head: (its decoder, its data, where that is read
#: to) for an entry of unknown size; (its decoder, the input it has not taken, the
#: entry's data) for one of known size.
_Rest = tuple[Any, memoryview, Any]


def _inflated(entry: memoryview, head: int) -> tuple[bytes, Optional[_Rest]]:
    """(an entry of known size inflated to ``head`` bytes (a corrupt one as far as it
    inflates), what is left of it or None)."""
    decoder = zlib.decompressobj(_RAW)
    try:
        text = decoder.decompress(entry, head)
    except zlib.error:
        return salvaged(bytes(entry), _RAW, head), None
    if decoder.eof or len(text) < head:
        return text, None
    return text, (decoder, memoryview(decoder.unconsumed_tail), entry)


def _rest(rest: _Rest, read: int, left: int) -> bytes:
    """What is left of an entry past the ``read`` bytes of its head, to ``left``."""
    decoder, data, where = rest
    if where is None:  # (bzip2, LZMA: the input is the decoder's already)
        try:
            return bytes(decoder.decompress(b"", left))
        except _UNPACKING:
            return b""
    if isinstance(where, int):
        return _streamed(data, where, left, decoder)[0]
    try:
        return bytes(decoder.decompress(data, left))
    except zlib.error:
        return salvaged(bytes(where), _RAW, read + left)[read:]


def _unpacked(method: int, entry: memoryview, head: int) -> tuple[bytes, Optional[_Rest]]:
    """(an entry compressed with bzip2 (method 12) or LZMA (14: its version, its
    properties' size and the properties, then raw LZMA1) unpacked to ``head`` bytes,
    what is left of it or None); ``b""`` where the module is missing or the data is
    corrupt from its start (review121: such an entry's ``.env`` went out unread)."""
    try:
        if method == 12:
            import bz2

            decoder: Any = bz2.BZ2Decompressor()
        else:
            import lzma

            sized = struct.unpack_from("<H", entry, 2)[0]
            props = bytes(entry[4:4 + sized])
            packed, dictionary = props[0], struct.unpack_from("<I", props, 1)[0]
            decoder = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[{
                "id": lzma.FILTER_LZMA1, "lc": packed % 9, "lp": packed // 9 % 5,
                "pb": packed // 45, "dict_size": dictionary}])
            entry = entry[4 + sized:]
        text = decoder.decompress(entry, head)
    except _UNPACKING:
        return b"", None
    if decoder.eof or len(text) < head:
        return text, None
    return text, (decoder, memoryview(b""), None)


#: What bzip2's and LZMA's decoders raise on data they cannot read: bz2's OSError,
#: lzma's LZMAError (no common base but Exception), bad properties' ValueError or
#: struct.error, and ImportError on a Python built without either module.
_UNPACKING = (Exception,)


def _streamed(view: memoryview, start: int, left: int,
              decoder: Any) -> tuple[bytes, int]:
    """(an entry of unknown size inflated to ``left`` bytes, where its stream ends or
    was read to), fed to ``decoder`` in pieces that double: the input read once, the
    copy zlib keeps of what is left of a piece at most the size of what came before."""
    out: list[bytes] = []
    at, piece = start, _FIRST_PIECE
    while at < len(view) and left > 0:
        chunk = view[at:at + piece]
        try:
            text = decoder.decompress(chunk, left)
        except zlib.error:
            break
        out.append(text)
        left -= len(text)
        if decoder.eof:
            return b"".join(out), at + len(chunk) - len(decoder.unused_data)
        at += len(chunk) - len(decoder.unconsumed_tail)
        piece = min(piece * 2, _LAST_PIECE)
    return b"".join(out), at

