"""A denied name in a key's shape inside bytes that are no text (binary data), for
:meth:`Redactor.shapes_key_in <readme_metrics.har.redaction.Redactor.shapes_key_in>`.

Binary data is hidden whole so that a denied key's VALUE never leaves in clear inside
bytes the lists cannot parse: JSON, a form, a query, YAML, an ``.env``, XML or a CSV
inside a zip entry stored, a tar, a log, a PDF, as written, escaped, percent-encoded,
NUL-spaced (UTF-16/32). Until binary2 the name anywhere in the bytes, in any case and
inside a longer word, was enough: with ``key`` denied, 9 of 40 random 1 MiB uploads, a
zip holding ``monkey.png`` and any tar of docs saying ``keyboard`` were hidden whole.

Where a name in one reading stands in a key's shape is :mod:`.key_places`' (moved there,
as is); here, the readings of the bytes it is looked for in.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Callable

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.base64_runs import runs_held
from readme_metrics.har.base64_starts import (
    ALPHABET,
    MID_RUN_BYTES,
    NEEDLES,
    SPLIT_HEADS,
    SPLIT_SOURCE,
    ZLIB,
    split_starts_in,
)
from readme_metrics.har.json_escapes import (
    ESCAPE_READINGS,
    QUERY_ESCAPES,
    decoded_once,
    letters_decoded,
)
from readme_metrics.har.key_ebcdic import ebcdic_reading
from readme_metrics.har.key_formats import bplist_keyed
from readme_metrics.har.key_places import MOST_PLACES, shaped
from readme_metrics.har.percent import decode_component
from readme_metrics.har.utf8_names import folded_utf8
from readme_metrics.har.zip_entries import compressed_entry, inflated_entries

if TYPE_CHECKING:
    from readme_metrics.har.redaction import Redactor

__all__ = ["MOST_PLACES", "archives_in", "shaped", "shapes_key_in"]

#: Zips read one inside another's deflated entry (a .docx in a zip), at most.
_MOST_ZIPS = 2


def shapes_key_in(redactor: Redactor, data: bytes, depth: int = 0, nested: int = 0) -> bool:
    """Whether binary ``data`` holds a name ``redactor``'s denylist names in a key's
    shape (see the module), in the readings
    :meth:`~readme_metrics.har.redaction.Redactor.mentions_key_in` has: its bytes
    lower-cased (``ß`` as ``ss``, the UTF-8 characters folding to ASCII folded), NULs
    kept and left out (UTF-16/32), a name holding ``/`` as a JSON pointer writes it, and
    through its JSON escapes (a name beyond ASCII: its UTF-8 reading too); a binary
    plist's strings, and a zip's compressed entries inflated (:mod:`.zip_entries`; a zip
    in such an entry too, ``depth`` the zips read around it); True for a zip to inflate
    while the process's budget is spent (:mod:`.inflation_budget`: hidden unread), or
    one with entries to inflate past the depth read (review123); and a zip, gzip,
    bzip2 or zstd file as base64 in them, read so (:func:`archives_in`, ``nested`` the
    base64 archives decoded around ``data``; hostile37). With an allowlist, True: binary
    data is no key/value data it could keep."""
    if not redactor.active:
        return False
    if redactor.has_allow:
        return True
    if data.startswith(b"bplist") and bplist_keyed(redactor, data):
        return True
    if b"PK\3\4" in data:
        if depth >= _MOST_ZIPS and compressed_entry(data):
            return True  # (a zip past the depth read: hidden unread, review123)
        inflated = inflated_entries(data) if depth < _MOST_ZIPS else b""
        if inflated is None:  # (the process's budget spent: hidden unread, hostile31)
            return True
        if inflated and shapes_key_in(redactor, inflated, depth + 1, nested):
            return True
        data = _entries_apart(data)
    if redactor.denies_beyond_ascii:
        if _text_shaped(redactor, folded_utf8(data).decode("latin-1"), True) or (
                redactor.needles.raw_probe is not None
                and redactor.needles.raw_probe.search(data) is not None
                and _text_shaped(redactor, data.decode("utf-8", "replace"), False)) or (
                ebcdic_shaped(redactor, data)):
            return True
    elif _bytes_shaped(redactor, data) or ebcdic_shaped(redactor, data):
        return True
    return archives_in(redactor, data, depth, nested)


#: An archive's magic in base64 (:data:`.base64_starts.NEEDLES`), in bytes; the four at
#: a quantum's start NUL-spaced too (UTF-16 text: NULs after or before each character,
#: either byte order; hostile38), looked for in data a sixteenth NULs or more (random
#: bytes hold one in 256: not searched four more times).
_MAGICS = tuple(magic.encode("ascii") for magic in NEEDLES)
_WIDE = tuple(b"\0".join(bytes([byte]) for byte in magic) for magic in _MAGICS[:4])
#: A zlib stream's magic in base64 (:data:`.base64_starts.ZLIB`, every window's), and
#: the alphabets'
#: bytes: such a run starts after none of :data:`.base64_starts.MID_RUN_BYTES` (a
#: prefix's ``_`` or ``-`` ends it: ``backup_eJ...``, as in a text) and holds 16 of
#: them at least.
_ZLIB = tuple(magic.encode("ascii") for magic in ZLIB)
#: Their first characters, each one search (a layer of 4 MiB of NULs holds none: not
#: searched 32 times; a pattern's search of random bytes took 30 times as long as these).
_ZLIB_FIRSTS = tuple(sorted({magic[:1] for magic in _ZLIB}))
_ALPHABET = "".join(sorted(ALPHABET)).encode("ascii")
#: Those and the marks parting base64 in groups (``eJxL Ox...``, ``eJxL%20Ox...``:
#: base64_runs reads it).
_GROUPED = _ALPHABET + b" .\t,:;|%"
#: A magic split by a mark (``UE sD``: :data:`.base64_starts.SPLIT_SOURCE`), in bytes.
_SPLIT = lazy_compile(SPLIT_SOURCE.encode("ascii"))
_SPLIT_HEADS = tuple(head.encode("ascii") for head in SPLIT_HEADS)


def _zlib_run_in(data: bytes) -> bool:
    """Whether ``data`` holds a zlib magic's base64 starting a run long enough to read
    (random bytes hold one of the 32 pairs 512 times a MiB: each is no run), where a
    text's run starts (:func:`~.base64_starts.zlib_start_in`'s rule)."""
    if not any(first in data for first in _ZLIB_FIRSTS):
        return False
    for magic in _ZLIB:
        at = data.find(magic)
        while at >= 0:
            if (at == 0 or data[at - 1] not in MID_RUN_BYTES) and len(
                    data[at:at + 16]) == 16 and not data[at:at + 16].translate(None, _GROUPED):
                return True
            at = data.find(magic, at + 2)
    return False


def archives_in(redactor: Redactor, data: bytes, depth: int = 0, nested: int = 0) -> bool:
    """Whether ``data`` (a zip's entries inflated, a layer decompressed, binary data as
    sent) holds a zip, gzip, bzip2, zstd or zlib file as base64 (in a JSON, a text, a
    form inside them; in UTF-16 text too) that :func:`~.base64_runs.runs_held` reads
    as spelling a denied key, or cannot read whole (hostile37: review127's ``.env`` in a
    base64 zip in a zipped JSON went out readable, unpacked twice). The run's bytes are
    read at ``nested + 1`` (zips at ``depth``: the zips inflated around them count to
    the zips' own bound); past :data:`~.base64_archives.MOST_NESTED` any run hides the
    data unread (a gzip quine's base64 inside itself would be read forever). Eight
    searches of ``data`` when it holds no magic (4 ms a MiB of random bytes, 2 before
    hostile38's four)."""
    if not redactor.has_deny:
        return False
    # (The magics found here, in the bytes, are found in their text: it is read
    # without archive_held's search for them again.)
    # (A magic's first two characters first: a magic, or one split by a mark, holds
    # them; the shifted ones after.)
    if (any(head in data for head in _SPLIT_HEADS) and (
            any(magic in data for magic in _MAGICS[:4]) or split_starts_in(
                data, _SPLIT_HEADS, _SPLIT))
            or any(magic in data for magic in _MAGICS[4:]) or _zlib_run_in(data)) and runs_held(
            redactor, data.decode("latin-1"), depth, nested):
        return True
    return data.count(b"\0") * 16 >= len(data) > 0 and any(
        magic in data for magic in _WIDE) and runs_held(
        redactor, data.translate(None, b"\0").decode("latin-1"), depth, nested)


def ebcdic_shaped(redactor: Redactor, data: bytes) -> bool:
    """Whether ``data`` read as EBCDIC (:mod:`.key_ebcdic`: a mainframe client's text no
    header declares so; hostile34) holds a denied name in a key's shape, escapes unread."""
    if not redactor.has_deny:
        return False
    if redactor.denies_beyond_ascii:
        return _text_shaped(redactor, ebcdic_reading(data).decode("latin-1"), True)
    return _bytes_shaped(redactor, ebcdic_reading(data), ebcdic=True)


def _bytes_shaped(redactor: Redactor, data: bytes, ebcdic: bool = False) -> bool:
    """:func:`shapes_key_in`'s readings of ``data`` for ASCII names (``ebcdic``: the
    latin-1 bytes of an EBCDIC reading, no UTF-8 in them, their escapes unread)."""
    if not ebcdic:
        data = folded_utf8(data)
    folded = data.lower()
    if b"\xdf" in folded:
        folded = folded.replace(b"\xdf", b"ss")
    plain = folded.translate(None, b"\0") if b"\0" in folded else folded
    if (any(needle in plain for needle in redactor.needles.in_bytes)
            or redactor.needles.pointed and b"~" in plain) and _readings_shaped(
                redactor, folded.decode("latin-1"), True):
        return True
    if ebcdic or b"\\" not in data:
        return False
    if b"\0" in data:
        data = data.translate(None, b"\0")
    return redactor.needles.byte_probe.search(data) is not None and _escapes_shaped(
        data.decode("latin-1"), lambda reading: _readings_shaped(
            redactor, reading.casefold(), False))


def _entries_apart(data: bytes) -> bytes:
    """``data`` with two line ends before each zip entry's data (after its local header's
    file name and extra field): a file stored (``zip`` stores a small ``.env`` as it
    is) starts right after its name, ``creds.envPASSWORD=``, one word read so."""
    pieces, at, found = [], 0, data.find(b"PK\3\4")
    for _ in range(MOST_PLACES):
        if found < 0 or found + 30 > len(data):
            break
        named, extra = struct.unpack_from("<HH", data, found + 26)
        start = found + 30 + named + extra
        if start > len(data):
            break
        pieces.append(data[at:start])
        at = start
        found = data.find(b"PK\3\4", max(found + 4, start))
    # (Two line ends: one after an extra field's binary byte is a length, 10, before a
    # 5-character name; hostile29.)
    return b"\n\n".join([*pieces, data[at:]]) if pieces else data


def _readings_shaped(redactor: Redactor, reading: str, framed: bool) -> bool:
    """:func:`shaped` for a lower-cased ``reading``, NULs kept and left out, and as a
    JSON pointer writes a name holding "/" (``client~1secret``)."""
    needles = redactor.needles.names
    if shaped(reading, needles, framed) or "\0" in reading and shaped(
            reading.replace("\0", ""), needles):
        return True
    if not (redactor.needles.pointed and "~" in reading):
        return False
    pointed = reading.replace("\0", "").replace("~1", "/").replace("~0", "~")
    return shaped(pointed, needles)


def _text_shaped(redactor: Redactor, text: str, framed: bool) -> bool:
    """For a denylist naming a name beyond ASCII: ``text`` (bytes read as latin-1 or
    UTF-8) as written and through its escapes, percent-decoded there as
    :meth:`~readme_metrics.har.redaction.Redactor.mentions_key` reads it."""
    if _readings_shaped(redactor, text.casefold(), framed):
        return True
    if "\\" not in text:
        return False
    text = text.replace("\0", "")
    if redactor.needles.escape_probe.search(text) is None and not (
            "%" in text and QUERY_ESCAPES.search(text) is not None):
        return False
    return _escapes_shaped(text, lambda reading: _decoded_shaped(redactor, reading))


def _escapes_shaped(text: str, found: Callable[[str], bool]) -> bool:
    """:func:`~readme_metrics.har.json_escapes.spells` with ``found`` (a key's shape)
    asked, at each reading, of the text with its letters' escapes decoded too
    (``"pa\\u0073sword\\"x": 1``: decoded whole, the name's quotes would be gone)."""
    for _ in range(ESCAPE_READINGS):
        if "\\" not in text:
            return False
        letters = letters_decoded(text)
        if letters != text and found(letters):
            return True
        decoded = decoded_once(text)
        if decoded == text:
            return False
        if found(decoded):
            return True
        text = decoded
    # (Still escaped past that many readings: taken to spell one, as spells takes it.)
    return "\\" in text and decoded_once(text) != text


def _decoded_shaped(redactor: Redactor, reading: str) -> bool:
    """A reading through escapes, and percent-decoded until nothing changes (a link's
    ``pass%77ord=``), at most as often as the redactor decodes a name."""
    from readme_metrics.har.redaction import MAX_DECODINGS

    for _ in range(MAX_DECODINGS):
        if _readings_shaped(redactor, reading.casefold(), False):
            return True
        if "%" not in reading:
            return False
        decoded = decode_component(reading)
        if decoded == reading:
            return False
        reading = decoded
    return True
