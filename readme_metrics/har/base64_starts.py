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
* Those magics percent-encoded, any character of them (``%55EsDB``, ``U%45sDB``: a
  form's value or a JSON string encoded whole); a zlib magic's in a query's or a form's
  value (``%65J...``: the app decodes it to ``eJ...``, and it is read so).

Each start is checked by the bytes its first quanta decode to (:func:`kind_at`) before
a run is read from it.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterator
from heapq import merge

from readme_metrics._lazy_re import lazy_compile

__all__ = ["ALPHABET", "MAGICS", "MID_RUN", "MID_RUN_BYTES", "NEEDLES", "ZLIB",
           "archive_encoded_in", "escaped_magic_in", "kind_at", "starts", "unescaped",
           "zlib_start_in"]

#: The characters of both alphabets: one before a zlib magic puts it mid-run.
ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")

#: The characters before a zlib magic that put it mid-run (``_`` and ``-`` of the
#: URL-safe alphabet end a prefix as often: ``backup_eJ...``, review130): the one rule
#: of a text's runs and of bytes' (:mod:`.key_shapes`: ``MID_RUN_BYTES``, the same
#: table; hostile41: the bytes' took ``_`` and ``-`` for mid-run).
MID_RUN = ALPHABET - frozenset("_-")
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
#: A zlib header's base64 (``78 9c``, ``78 da``; levels 0 and 1's ``78 01``, ``eAE`` to
#: ``eAH``, and 2 to 5's ``78 5e``, ``eF4`` to ``eF7``, since hostile41), read at a run's
#: start (:func:`kind_at` checks the header's two bytes).
ZLIB = ("eJ", "eN", "eA", "eF")

#: Each kind's first bytes (bzip2's level after them: a digit).
_ZIP, _GZIP, _BZIP2, _ZSTD = b"PK\3\4", b"\x1f\x8b\x08", b"BZh", b"\x28\xb5\x2f\xfd"


def _encoded(character: str) -> str:
    """A pattern of ``character`` percent-encoded (its hex in either case)."""
    high, low = divmod(ord(character), 16)
    return f"%{high:X}{low:X}" if low < 10 else f"%{high:X}[{low:X}{low:x}]"


#: A character of a magic percent-encoded (``%55EsDB``: the first, hostile37;
#: ``U%45sDB``, a later one, hostile38; a zlib magic's, ``%65J``, ``e%4A``, ``%65A``,
#: hostile41: a query's or a form's value the app decodes to ``eJ...``): one search of
#: the text (2 ms a MiB of a form of encoded prose; thirteen of ``U%``, ``UE%`` ...
#: took 23).
_ENCODED_ANY = lazy_compile("%(?:34|4[1-9A-Ca-cEe]|5[15]|6[5CcFf]|7[036])")
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


def zlib_start_in(text: str) -> bool:
    """Whether ``text`` holds a zlib magic where no base64 character comes before it."""
    return any(True for magic in ZLIB for _ in _zlib_starts(text, magic))


def _zlib_starts(text: str, magic: str) -> Iterator[tuple[int, int, bool]]:
    at = text.find(magic)
    while at >= 0:
        if at == 0 or text[at - 1] not in MID_RUN:
            yield at, 0, True
        at = text.find(magic, at + 2)


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
                 *(_shifted(text, *shifted) for shifted in _SHIFTED),
                 *(_zlib_starts(text, magic) for magic in ZLIB), _encoded_found(text))


def kind_at(text: str, start: int, skip: int, zlib: bool) -> bool:
    """Whether the run at ``start`` decodes, ``skip`` bytes in, to an archive's first
    bytes (a zlib header's for a ``zlib`` magic): its first quanta decoded."""
    head = text[start:start + 12]
    if head.isalnum():
        return _kind(head, skip, zlib)
    head = "".join(unescaped(text[start:start + 40]).translate(_MARKS).split())
    # (The URL-safe alphabet's "-" and "_", or marks between groups, which b64decode
    # skips: either reading; hostile44.)
    return _kind(head[:12].replace("-", "+").replace("_", "/"), skip, zlib) or (
        ("-" in head or "_" in head) and _kind(
            head.replace("-", "").replace("_", "")[:12], skip, zlib))


#: The marks between groups of base64 (:data:`.base64_runs._GROUP_MARKS`) as blanks.
_MARKS = str.maketrans(".,:;|!#$*@^~", " " * 12)


def _kind(head: str, skip: int, zlib: bool) -> bool:
    """:func:`kind_at` of a run's first characters ``head`` (its marks dropped)."""
    try:
        data = binascii.a2b_base64(head[:len(head) // 4 * 4])[skip:]
    except (binascii.Error, ValueError):
        return False
    if zlib:
        return (len(data) > 2 and data[0] & 0x0F == 8 and data[0] >> 4 <= 7
                and not data[1] & 0x20 and (data[0] << 8 | data[1]) % 31 == 0)
    return data.startswith((_ZIP, _GZIP, _ZSTD)) or (
        data.startswith(_BZIP2) and data[3:4].isdigit())


#: The JSON escapes a run holds (.NET's and Gson's defaults), what each stands for.
_JSON_ESCAPES = tuple((f"\\u00{code}", chr(int(code, 16))) for code in (
    "2B", "2b", "2F", "2f", "3D", "3d"))


#: HTML's character references a run holds (mustache.js writes ``/`` and ``=`` so, Go's
#: html/template ``+``, ESAPI all three; review130; HTML5's names, hostile44), what each
#: stands for.
_REFERENCES = tuple((reference, character) for character, references in (
    ("+", ("&#43;", "&#x2B;", "&#x2b;", "&#X2B;", "&#X2b;", "&plus;")),
    ("/", ("&#47;", "&#x2F;", "&#x2f;", "&#X2F;", "&#X2f;", "&sol;")),
    ("=", ("&#61;", "&#x3D;", "&#x3d;", "&#X3D;", "&#X3d;", "&equals;")))
    for reference in references)
#: A numeric reference's leading zeros (``&#0043;``, ``&#x002F;``: any count, as XML and
#: HTML read them; hostile44), dropped before :data:`_REFERENCES` are read.
_PADDED_REFERENCE = lazy_compile(r"&#([xX]?)0+(?=[1-9A-Fa-f][0-9A-Fa-f]?;)")


def unescaped(run: str) -> str:
    """``run`` with the escapes a run holds read: JSON's ``\\/``, ``\\u002B`` ... and
    escaped line breaks (a JSON file's string as written inside an archive), HTML's
    ``&#43;``, ``&#x2F;``, ``&#0043;``, ``&plus;`` ..., percent-encoding (each at C's
    speed: ``unquote`` took 0.6 s a MiB of them)."""
    if "\\" in run:
        run = run.replace("\\/", "/").replace("\\r", "").replace("\\n", "")
        if "\\\n" in run or "\\\r" in run:  # (a YAML double-quoted scalar's
            # escaped break, LF or CRLF; review133)
            run = run.replace("\\\r\n", "").replace("\\\n", "")
        if "\\u00" in run:
            for escape, character in _JSON_ESCAPES:
                run = run.replace(escape, character)
    if "&" in run:
        if "&#0" in run or "&#x0" in run or "&#X0" in run:
            run = _PADDED_REFERENCE.sub(r"&#\1", run)
        for reference, character in _REFERENCES:
            run = run.replace(reference, character)
    if "%" in run:
        # (quoted-printable's decoder reads "=XX": each "=" written so first.)
        run = binascii.a2b_qp(run.replace("=", "=3D").replace("%", "=").encode(
            "latin-1", "replace")).decode("latin-1")
    return run
