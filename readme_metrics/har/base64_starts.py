"""Where an archive's base64 may start in a text: the magics :mod:`.base64_runs` reads
a run from (hostile35, hostile38).

* A zip's, a gzip's, a bzip2's or a zstd frame's magic as base64 (``UEsDB``, ``H4sI``,
  ``Qlpo``, ``KLUv``), wherever it is: at a value's start, after a blank, and after
  base64 characters too (``backup_UEsDB...``, ``backup-UEsDB...``: ``_`` and ``-`` are
  the URL-safe alphabet's; ``eHl6UEsDB...``, base64 of ``xyz`` and then a zip, which
  ``unzip`` reads: each went out as written before hostile38).
* A zip's local header after one or two bytes in the same base64 quantum (``BLAw``,
  ``QSwME``: base64 of ``x`` or ``xy`` and then a zip; every offset of a zip in base64
  is one of these three). A gzip, bzip2 or zstd file after other bytes is read by no
  tool as it is (``gunzip`` wants its magic first; a body so is not read either).
* A zlib stream's two header bytes (``eJ``: ``zlib.compress``'s default, as Python,
  PHP's ``gzcompress`` and Django's signed values write it; ``eN``, level 9's; ``eA``,
  levels 0 and 1's, and ``eF``, 2 to 5's, since hostile41: a client picks its level;
  raw deflate is not read: docs/BODIES.md) at a run's start only (no base64 character
  before it but a prefix's ``_`` or ``-``: ``backup_eJ...``, review130; the same rule
  in bytes, :data:`MID_RUN_BYTES`): two characters any base64 holds once in 4,096.
  Since hostile46 every window's too (``CB`` ... ``aN``: the 32 pairs, :data:`ZLIB`).
* A zip's, gzip's, bzip2's or zstd's magic split by a mark, in groups of two or three
  characters (``UE sD``, ``UEs D``: :data:`SPLIT_SOURCE`, hostile46).
* Those magics percent-encoded, any character of them (``%55EsDB``, ``U%45sDB``: a
  form's value or a JSON string encoded whole); a zlib magic's in a query's or a form's
  value (``%65J...``: the app decodes it to ``eJ...``, and it is read so).

Each start is checked by the bytes its first quanta decode to (:func:`kind_at`; a
zlib stream's deflate data must inflate too) before a run is read from it, the escapes
it may be written with read first (:func:`.base64_escapes.unescaped`, importable here).
"""

from __future__ import annotations

import binascii
from collections.abc import Iterator
from heapq import merge
from typing import Any, AnyStr
from zlib import decompressobj
from zlib import error as ZlibError

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.base64_escapes import unescaped

__all__ = ["ALPHABET", "MAGICS", "MARK_SOURCE", "MID_RUN", "MID_RUN_BYTES", "NEEDLES",
           "SPLIT_HEADS", "SPLIT_SOURCE", "ZLIB", "ZLIB_START",
           "archive_encoded_in", "escaped_magic_in", "kind_at", "split_start_in", "split_starts_in",
           "starts", "unescaped", "zlib_pair_in", "zlib_start_in"]

#: The characters of both alphabets: one before a zlib magic puts it mid-run.
ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")

#: The characters before a zlib magic that put it mid-run (``_`` and ``-`` of the
#: URL-safe alphabet end a prefix as often: ``backup_eJ...``, review130): the one rule
#: of a text's runs and of bytes' (:mod:`.key_shapes`: ``MID_RUN_BYTES``, the same
#: table; hostile41: the bytes' took ``_`` and ``-`` for mid-run); and ``%``: a pair
#: after it is a percent escape's hex digits (``%CB``, ``%CF``: two of the 32 pairs,
#: hostile46; a form of random bytes found one in 128 escapes).
MID_RUN = ALPHABET - frozenset("_-") | frozenset("%")
MID_RUN_BYTES = "".join(sorted(MID_RUN)).encode("ascii")

#: The base64 of a zip's local header (``PK\3\4``), a gzip member's magic (``1f 8b 08``),
#: bzip2's (``BZh``), a zstd frame's (``28 b5 2f fd``), each at a quantum's start (its
#: first characters in the URL-safe alphabet too: ``KLUv_``).
#: (A zip's as its first quantum, ``UEsD``: its fifth character, ``B``, after a blank or
#: a ``.`` in base64 grouped by four, ``UEsD BBQA ...``, hostile41; :func:`kind_at`
#: checks the header's fourth byte.)
MAGICS = ("UEsD", "H4sI", "Qlpo", "KLUv")
#: A zip's local header one and two bytes into a quantum: the characters only its bytes
#: give, how many characters before them the quantum starts, the bytes before it.
_SHIFTED = (("BLAw", 2, 1), ("QSwME", 3, 2))
#: The character just before each (its bits the header's first and the byte's before):
#: one of these or no zip there.
_BEFORE = {"BLAw": frozenset("FVl1"), "QSwME": frozenset("BFJNRVZdhlptx159")}
#: What :func:`~.base64_archives.archive_in` searches a text for, as ``in`` does.
NEEDLES = MAGICS + tuple(needle for needle, _, _ in _SHIFTED)


def _zlib_magics() -> tuple[str, ...]:
    """The first two base64 characters of every zlib header: deflate, no preset
    dictionary, its check passed, each window (``CMF`` ``08`` to ``78``: 256 B to 32
    KiB) and level (``FLEVEL`` 0 to 3)."""
    return tuple(sorted({
        binascii.b2a_base64(bytes((cmf, flg, 0)))[:2].decode("ascii")
        for cmf in range(0x08, 0x80, 0x10) for flg in range(256)
        if not flg & 0x20 and (cmf << 8 | flg) % 31 == 0}))


#: A zlib header's base64, read at a run's start (:func:`kind_at` checks the header's
#: two bytes): ``78 9c`` and ``78 da`` (``eJ``, ``eN``); levels 0 and 1's ``78 01``
#: (``eA``), 2 to 5's ``78 5e`` (``eF``; hostile41); and the smaller windows' (``wbits``
#: 8 to 14: ``08`` to ``68``, ``CB`` ... ``aN``, hostile46: ``zlib.compressobj(wbits=9)``
#: and embedded encoders' streams went out as written). 32 pairs, one search
#: (:data:`ZLIB_START`).
ZLIB = _zlib_magics()
#: :data:`ZLIB` as one pattern (its pairs' first characters are never a second's: no
#: two overlap), a search of the text in C.
_ZLIB_PATTERN = "|".join(f"{first}[{''.join(sorted(m[1] for m in ZLIB if m[0] == first))}]"
                        for first in sorted({m[0] for m in ZLIB}))
ZLIB_START = lazy_compile(_ZLIB_PATTERN)
#: Each pair's second character (``A`` ``B`` ``E`` ``F`` ``I`` ``J`` ``M`` ``N``, none a
#: first's) and the first characters before it that make a pair (:func:`zlib_pair_in`).
_ZLIB_SECONDS = tuple((second, frozenset(m[0] for m in ZLIB if m[1] == second))
                      for second in sorted({m[1] for m in ZLIB}))
_SECONDS = tuple(second for second, _ in _ZLIB_SECONDS)

#: A mark between groups of base64, one to eight (:mod:`.base64_runs` reads them):
#: blanks, a tab, ``.``, ``,``, ``:``, ``;``, ``|``, ``!#$*@^~`` (review136), each
#: percent-encoded too (``%20``, ``%0A``: a URL's value in a text; hostile46), and
#: ``+``, a form's blank (a run's own character: its line holds it before a mark is
#: looked for).
MARK_SOURCE = (r"(?:[ .\t,:;|+!#$*@^~]|%(?:20|09|0[AaDd]|2[CcEe]|3[AaBb]|7[Cc])"
               r"|(?<=[ \t])[-_]{1,4}(?=[ \t])){1,8}")
#: A magic of :data:`MAGICS` split by a mark, in groups of two or three characters
#: (``UE sD BB QA ...``, ``UEs DBB QAA ...``: ``b64decode`` reads them; hostile46), and
#: the two characters each starts with (searched first).
SPLIT_SOURCE = "|".join(f"{magic[:2]}(?:{MARK_SOURCE}{magic[2:]}|{magic[2]}{MARK_SOURCE}{magic[3]})"
                        for magic in MAGICS)
SPLIT_HEADS = tuple(magic[:2] for magic in MAGICS)
_SPLIT = lazy_compile(SPLIT_SOURCE)

#: Each kind's first bytes (bzip2's level after them: a digit).
_ZIP, _GZIP, _BZIP2, _ZSTD = b"PK\3\4", b"\x1f\x8b\x08", b"BZh", b"\x28\xb5\x2f\xfd"


def _encoded(character: str) -> str:
    """A pattern of ``character`` percent-encoded (its hex in either case)."""
    high, low = divmod(ord(character), 16)
    return f"%{high:X}{low:X}" if low < 10 else f"%{high:X}[{low:X}{low:x}]"


#: A character of a magic percent-encoded (``%55EsDB``: the first, hostile37;
#: ``U%45sDB``, a later one, hostile38; a zlib magic's, ``%65J``, ``e%4A``, ``%65A``,
#: hostile41: a query's or a form's value the app decodes to ``eJ...``; every window's
#: pair, ``%53%49k...``, hostile46): one search of
#: the text (2 ms a MiB of a form of encoded prose; thirteen of ``U%``, ``UE%`` ...
#: took 23).
_ENCODED_ANY = lazy_compile("%(?:34|4[1-9A-Fa-f]|5[1357]|6[15CcFf]|7[036])")
#: One of :data:`MAGICS`, each character as written or percent-encoded.
_ENCODED_MAGIC = lazy_compile("|".join(
    "".join(f"(?:{character}|{_encoded(character)})" for character in magic)
    for magic in MAGICS))


def archive_encoded_in(text: str, exact: bool = False) -> bool:
    """Whether ``text`` may hold one of the magics, a character of it percent-encoded
    (:data:`_ENCODED_ANY`); ``exact``, whether it does (the magic's pattern searched)."""
    if "%" not in text or _ENCODED_ANY.search(text) is None:
        return False
    return not exact or _ENCODED_MAGIC.search(text) is not None


#: One of :data:`MAGICS`, a character of it JSON-escaped (``\u0055EsDB``: a JSON text's
#: string the app reads ``UEsDB...``; hostile38), the text's start being found first.
_ESCAPED_MAGIC = lazy_compile("|".join(
    "".join(f"(?:{character}|\\\\u00{ord(character):02x}|\\\\u00{ord(character):02X})"
            for character in magic) for magic in MAGICS))


def escaped_magic_in(text: str) -> bool:
    """Whether a JSON ``text`` holds a magic with a character JSON-escaped."""
    return "\\u00" in text and _ESCAPED_MAGIC.search(text) is not None


def zlib_pair_in(text: str) -> bool:
    """Whether ``text`` holds one of :data:`ZLIB`'s pairs anywhere (``ZLIB_START.search``'s
    answer): each pair's second character found (eight finds in C; capitals a text of
    headers or JSON holds few), the character before it looked at, and past
    :data:`_FEW_HEADS` of them (base64, capitals) the pattern searched (cpu28: the pattern's search
    alone took ~100 Ir a character, its first characters ``a`` and ``e`` in most words:
    +40k Ir a small GET with a denylist, ~10M a POST's 100 KB answer)."""
    if not any(map(text.__contains__, _SECONDS)):  # (memchr each: most texts)
        return False
    most = _FEW_HEADS  # (not more a 4 KiB: each find counts the text's length in
    # tests/support/work_count.py, and a text of "A=1" lines would read quadratic)
    for second, firsts in _ZLIB_SECONDS:
        # str.partition (one argument: no tuple parsed, as find's start needs; cpu33)
        # from the occurrence on: the character before each occurrence is the last of
        # the text before it (the first character of the text has none).
        before, found, rest = text.partition(second)
        while found:
            if before[-1:] in firsts:
                return True
            if before:
                most -= 1
                if most < 0:
                    return ZLIB_START.search(text) is not None
            before, found, rest = rest.partition(second)
            if found and not before:  # right after the one before: that character
                before = second
    return False


def zlib_start_in(text: str) -> bool:
    """Whether ``text`` holds a zlib magic where no base64 character comes before it."""
    return next(_zlib_starts(text), None) is not None


def _zlib_starts(text: str) -> Iterator[tuple[int, int, bool]]:
    for match in ZLIB_START.finditer(text):
        at = match.start()
        if at == 0 or text[at - 1] not in MID_RUN:
            yield at, 0, True


#: Occurrences of the magics' first two characters tried one by one (and one a 4 KiB of
#: the text: random bytes hold 64 a MiB): past them, the pattern is searched instead (in
#: C: a text of ``QUEUE`` took a Python loop an occurrence; the pattern's search of
#: random bytes, 30 times as long as a search of the four).
_FEW_HEADS = 16


def split_starts_in(text: AnyStr, heads: tuple[AnyStr, ...], split: Any) -> list[int]:
    """Where, in order, ``text`` (a str, or bytes with ``heads`` and ``split`` of bytes)
    holds a magic split by a mark (``split``: :data:`SPLIT_SOURCE` compiled)."""
    most = _FEW_HEADS + len(text) // 4096
    found = []
    for head in heads:
        at = text.find(head)
        while at >= 0:
            most -= 1
            if most < 0:
                return [match.start() for match in split.finditer(text)]
            if split.match(text, at) is not None:
                found.append(at)
            at = text.find(head, at + 2)
    return sorted(found)


def split_start_in(text: str) -> bool:
    """Whether ``text`` holds a magic split by a mark (:data:`SPLIT_SOURCE`)."""
    return bool(split_starts_in(text, SPLIT_HEADS, _SPLIT))


def _split_starts(text: str) -> Iterator[tuple[int, int, bool]]:
    for at in split_starts_in(text, SPLIT_HEADS, _SPLIT):
        yield at, 0, False


def _found(text: str, magic: str) -> Iterator[tuple[int, int, bool]]:
    at = text.find(magic)
    while at >= 0:
        yield at, 0, False
        at = text.find(magic, at + 4)


def _shifted(text: str, needle: str, back: int, skip: int) -> Iterator[tuple[int, int, bool]]:
    before = _BEFORE[needle]
    at = text.find(needle, back)
    while at >= 0:
        if text[at - 1] in before and all(
                character in ALPHABET for character in text[at - back:at - 1]):
            yield at - back, skip, False
        at = text.find(needle, at + 4)


def _encoded_found(text: str) -> Iterator[tuple[int, int, bool]]:
    if "%" in text and archive_encoded_in(text):
        for match in _ENCODED_MAGIC.finditer(text):
            if "%" in match.group():
                yield match.start(), 0, False


def starts(text: str) -> Iterator[tuple[int, int, bool]]:
    """Each place a run may start in ``text``, in order: (where its first quantum
    starts, the bytes to drop before the magic, whether it is a zlib magic's). Found
    as they are asked for (a text of a MiB of magics holds no list of them)."""
    return merge(*(_found(text, magic) for magic in MAGICS),
                 _split_starts(text),
                 *(_shifted(text, *shifted) for shifted in _SHIFTED),
                 _zlib_starts(text), _encoded_found(text))


def kind_at(text: str, start: int, skip: int, zlib: bool) -> bool:
    """Whether the run at ``start`` decodes, ``skip`` bytes in, to an archive's first
    bytes (a zlib header's for a ``zlib`` magic, and deflate data its first bytes
    inflate from): its first :data:`_HEAD` characters decoded."""
    head = text[start:start + _HEAD]
    if head.isalnum():
        return _kind(head, skip, zlib)
    head = _head(text, start)
    # (The URL-safe alphabet's "-" and "_", or marks between groups, which b64decode
    # skips: either reading; hostile44.)
    return _kind(head[:_HEAD].replace("-", "+").replace("_", "/"), skip, zlib) or (
        ("-" in head or "_" in head) and _kind(
            head.replace("-", "").replace("_", "")[:_HEAD], skip, zlib))


#: The characters of a run :func:`kind_at` decodes: 18 bytes, a zlib header and 16 of
#: deflate data, which 98% of random bytes after a header fail to inflate (9 bytes,
#: 81%): a start of the 32 pairs in random base64 is rarely read (hostile46).
_HEAD = 24


#: What is left of an escape a window cut (``&#x000``, ``%2``, ``\u00``) at its end.
_CUT = lazy_compile(r"(?:&[#\w]*|%[0-9A-Fa-f]?|\\(?:u[0-9A-Fa-f]{0,3}|\r)?)\Z")
#: Anything but base64 and its padding: the marks between groups, blanks, breaks.
_NOT_BASE64 = lazy_compile(r"[^A-Za-z0-9+/=_-]+")


def _head(text: str, start: int) -> str:
    """The base64 characters of the run at ``start`` (:data:`_HEAD` at least when it
    has them), its escapes read, its marks and blanks dropped: from 64 characters of
    the text, twice as many until they hold them (hostile46: ``&#x0002F;`` is nine
    characters for one, and 40 held four before; a window grows over the characters of
    this run alone, and of the few starts before its last: linear)."""
    window = 64
    while True:
        head = _NOT_BASE64.sub("", _CUT.sub("", unescaped(text[start:start + window])))
        if len(head) >= _HEAD or start + window >= len(text):
            return head
        window *= 2


def _kind(head: str, skip: int, zlib: bool) -> bool:
    """:func:`kind_at` of a run's first characters ``head`` (its marks dropped)."""
    try:
        data = binascii.a2b_base64(head[:len(head) // 4 * 4])[skip:]
    except (binascii.Error, ValueError):
        return False
    if zlib:
        if not (len(data) > 2 and data[0] & 0x0F == 8 and data[0] >> 4 <= 7
                and not data[1] & 0x20 and (data[0] << 8 | data[1]) % 31 == 0):
            return False
        try:
            # (18 bytes inflate to 19 KiB at most.)
            decompressobj().decompress(data)
        except ZlibError:
            return False
        return True
    return data.startswith((_ZIP, _GZIP, _ZSTD)) or (
        data.startswith(_BZIP2) and data[3:4].isdigit())
