"""Formats whose keys :mod:`.key_shapes`' readings of the bytes miss, for the check of
binary data (hostile29): a zip's deflated entries, a binary plist's strings, a pickle of
protocol 0 (which is text).

* A zip entry deflated (``zip``'s and every library's default) has its text compressed:
  a zipped ``.env``'s ``PASSWORD=...`` went out as base64, which ``unzip`` reads. Each
  entry of method 8 is inflated here (raw deflate, from its local header), its text the
  reading :func:`~.key_shapes.shapes_key_in` checks, as a gzip upload's layer is read
  (:mod:`.body_compressed`). Bounded and linear: :data:`MOST_INFLATED` bytes of output
  in all (a zip bomb costs no more), each entry's first :data:`HEAD` bytes before any
  entry's rest (a ``.env`` after a 5 MiB log is read; review121), each entry's input
  read once (its size from its header, else fed in pieces that double, to its
  stream's end); an encrypted entry is not read; a corrupt one as far as it inflates.
  An entry of bzip2 or LZMA (methods 12 and 14) whose header gives its size is
  unpacked the same way (review121).
* A binary plist (``bplist00``) writes an ASCII string as ``0x50 | length`` then its
  bytes (``Xpassword``: a letter glued to the name), or ``0x5F``, an integer's marker and
  the length for 15 characters or more.
* A pickle of protocol 0 (Python 2's default, ``pickle.dumps(d, 0)``) is printable
  text: it is read as text, whose ``Vpassword`` and ``S'password'`` lines are no pair.
  A body that :mod:`pickletools` walks whole to its ``STOP`` (opcodes read, no object
  built) is a pickle; a string in it that the denylist names is a key's. At most
  :data:`MOST_OPS` opcodes are walked (1 us each); past them the rest's ``V`` and ``S``
  lines are its strings.
"""

from __future__ import annotations

import pickletools
import re
import struct
import zlib
from functools import lru_cache
from itertools import islice
from typing import TYPE_CHECKING, Any, Optional

from readme_metrics.har.body_compressed import salvaged

if TYPE_CHECKING:
    from readme_metrics.har.redaction import Redactor

__all__ = ["HEAD", "MOST_INFLATED", "MOST_OPS", "bplist_keyed", "inflated_entries", "pickle_keyed"]

#: Bytes a zip's deflated entries are inflated to, in all.
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


def inflated_entries(data: bytes) -> bytes:
    """The text of ``data``'s zip entries deflated, each after :data:`_APART`, to
    :data:`MOST_INFLATED` bytes in all; ``b""`` when there is none. Each entry's first
    :data:`HEAD` bytes are read before any entry's rest (review121: 4 MiB of a log or of
    PNGs deflated spent the bound, and a ``.env`` after them went out unread), then the
    rest of each, in order, to the bound. (Each entry starts 4 bytes past the one before
    it at least, and its input is read once: linear.)"""
    out: list[bytes] = []
    rests: list[tuple[int, _Rest]] = []
    left = MOST_INFLATED
    view = memoryview(data)
    found = data.find(b"PK\3\4")
    while found >= 0 and found + 30 <= len(data) and left > 0:
        flags, method = struct.unpack_from("<HH", data, found + 6)
        size = struct.unpack_from("<I", data, found + 18)[0]
        named, extra = struct.unpack_from("<HH", data, found + 26)
        start = found + 30 + named + extra
        end = start
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
        elif method in (12, 14) and not flags & 9 and size and start + size <= len(data):
            end = start + size
            text, rest = _unpacked(method, view[start:end], min(left, HEAD))
            if rest is not None:
                rests.append((len(out), rest))
            out.append(text)
            left -= len(text)
        found = data.find(b"PK\3\4", max(found + 4, end))
    for index, rest in rests:
        if left <= 0:
            break
        more = _rest(rest, len(out[index]), left)
        out[index] += more
        left -= len(more)
    return b"".join(_APART + text for text in out)


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


def bplist_keyed(redactor: Redactor, data: bytes) -> bool:
    """Whether binary plist ``data`` holds a string the denylist names (any case)."""
    return _bplist_strings(redactor._needles).search(data) is not None


@lru_cache(maxsize=64)
def _bplist_strings(needles: tuple[str, ...]) -> re.Pattern[bytes]:
    """An ASCII string of a binary plist that is one of ``needles``: its marker (exact),
    then the name in any case."""
    shapes = []
    for needle in needles:
        if not needle.isascii() or not needle:
            continue
        length = len(needle)
        if length < 15:
            marker = bytes([0x50 | length])
        elif length < 256:
            marker = b"\x5f\x10" + bytes([length])
        else:
            marker = b"\x5f\x11" + struct.pack(">H", length)
        shapes.append(re.escape(marker) + b"(?i:" + re.escape(needle.encode()) + b")")
    return re.compile(b"|".join(shapes) if shapes else b"(?!)")


def pickle_keyed(redactor: Redactor, text: str) -> bool:
    """Whether ``text`` is a pickle of protocol 0 holding a string the denylist names:
    walked whole to its ``STOP``, or to its last line (one cut short at
    ``max_body_bytes``, its last opcode's line cut)."""
    from readme_metrics.har.redaction_cut import denied_key

    if "\n" not in text or text[:1] not in _PICKLE_STARTS:
        return False
    data = text.encode("latin-1", "replace")
    strings: list[str] = []
    last = ops = 0
    try:
        for _, argument, at in islice(pickletools.genops(data), MOST_OPS):
            ops, last = ops + 1, at or 0
            if isinstance(argument, str):
                strings.append(argument)
    except (ValueError, UnicodeError, struct.error, IndexError):
        if ops < 2 or data.count(b"\n", last) > 1:
            return False  # (no pickle: text whose first lines read as opcodes)
    if ops == MOST_OPS:  # (the rest's strings as its lines write them: V..., S'...')
        lines = (line.lstrip(_NO_ARGUMENT) for line in text[last:].split("\n"))
        strings += [line[1:].strip("'\"") for line in lines if line[:1] in ("V", "S")]
    return any(denied_key(redactor, string) for string in strings)


#: Opcodes of a protocol-0 pickle walked (:func:`pickletools.genops` takes 1 us each: a
#: MiB of ``(((...`` cost 1 s of the worker's time a body, review121); past them the rest's
#: ``V`` and ``S`` lines are its strings.
MOST_OPS = 1 << 15

#: Protocol 0's opcodes with no argument, which a line may start with before a string's
#: (``sVpassword``: a SETITEM, then the next key).
_NO_ARGUMENT = "(.012N]}abdelostuR"

#: What a protocol-0 pickle starts with: a MARK, a dict, a list, a global, a string...
_PICKLE_STARTS = frozenset("(cdlSVIFLN]}")
