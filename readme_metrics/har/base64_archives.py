"""A zip, gzip, bzip2 or zstd file written as base64 in a JSON string
(``{"file": "UEsDB..."}``, a data URL ``data:application/zip;base64,...``), read by the
denylist as a binary body is (hostile33).

Such a string went out as written: one ``base64 -d | unzip`` away from the ``.env`` it
held. Its bytes are now decoded (the standard or URL-safe alphabet, padded or not, lines
wrapped or not: :func:`~.transfer_coding.file_transfer_decoded`, as a multipart file's
``Content-Transfer-Encoding: base64`` is) and checked as binary data is
(:meth:`~readme_metrics.har.redaction.Redactor.shapes_key_in`: a zip's entries inflated,
from the process's budget), and so is what they hold compressed
(:func:`~.body_compressed.holds`, each layer to :data:`MOST_DECODED` bytes): a string
that spells a denied key so, or that cannot be read whole within those bounds, is hidden
(``[REDACTED n]``), the rest of the document kept. Only strings that start like such a
file are decoded (its magic's base64: ``UEsDB``, ``H4sI``, ``Qlpo``, ``KLUv/``), so a
document of other strings costs four searches of its text (:func:`archive_in`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.body_compressed import budgeted_holds
from readme_metrics.har.transfer_coding import file_transfer_decoded
from readme_metrics.har.zip_entries import MOST_INFLATED

if TYPE_CHECKING:
    from readme_metrics.har.redaction import Redactor

__all__ = ["MAGICS", "MOST_DECODED", "MOST_NESTED", "archive_encoded_in", "archive_in",
           "archived_key"]

#: Bytes each layer a decoded string holds compressed is read to (a zip's own bound).
MOST_DECODED = MOST_INFLATED

#: Base64 archives read one inside another (a zip's entry holding the base64 of a zip
#: whose entry holds one ...; hostile37), at most: one past them is not read (hidden).
MOST_NESTED = 3

#: The base64 of a zip's local header (``PK\3\4``), a gzip member's magic (``1f 8b 08``),
#: bzip2's (``BZh``), a zstd frame's (``28 b5 2f fd``), at a string's start, a data URL's
#: base64 after its header; in the URL-safe alphabet too (``KLUv_``).
_STARTS = ("UEsDB", "H4sI", "Qlpo", "KLUv/", "KLUv_")
#: What a JSON text holding such a string holds, at a string's start or after a data
#: URL's header: four substrings, each found as ``in`` finds one (a regex for the
#: string's start cost 5 times as much, on a loaded machine 53 ms a MiB of JSON).
MAGICS = ("UEsDB", "H4sI", "Qlpo", "KLUv")


def archive_in(text: str) -> bool:
    """Whether a JSON ``text`` may hold a string that :func:`archived_key` decodes."""
    return any(needle in text for needle in MAGICS)


def _encoded(character: str) -> str:
    """A pattern of ``character`` percent-encoded (its hex in either case)."""
    high, low = divmod(ord(character), 16)
    return f"%{high:X}{low:X}" if low < 10 else f"%{high:X}[{low:X}{low:x}]"


def _spelled(character: str) -> str:
    """A pattern of ``character`` as written or percent-encoded."""
    return f"(?:{character}|{_encoded(character)})"


#: A magic's first character percent-encoded (``%55``: ``U``; hostile37): what a
#: form's or a query's value holding one so (``%55EsDB...``, the value encoded whole,
#: read ``UEsDB...`` by the app) holds. One search of the text, as fast as
#: :func:`archive_in`'s four (2 ms a MiB of a form of encoded prose, where a search
#: for any character encoded, ``UE%73DB``, took 8: not looked for).
_ENCODED_FIRST = lazy_compile("%(?:55|48|51|4[Bb])")
#: One of :data:`MAGICS`, its first character percent-encoded, each other as written
#: or encoded.
_ENCODED_MAGIC = lazy_compile("|".join(
    _encoded(magic[0]) + "".join(map(_spelled, magic[1:]))
    for magic in MAGICS))


def archive_encoded_in(text: str, exact: bool = False) -> bool:
    """Whether a form's or a query's raw ``text`` may hold one of the magics, its first
    character percent-encoded (:data:`_ENCODED_FIRST`); ``exact``, whether it does (a
    value's: the magic's pattern searched)."""
    if "%" not in text or _ENCODED_FIRST.search(text) is None:
        return False
    return not exact or _ENCODED_MAGIC.search(text) is not None


def archived_key(redactor: Redactor, value: str, depth: int = 0, nested: int = 0) -> bool:
    """Whether the JSON string ``value`` is base64 of a zip, gzip, bzip2 or zstd file
    (a data URL's too) whose bytes, or a layer they hold compressed, spell a name the
    denylist denies in a key's shape, or cannot be read whole (see the module).
    ``depth``, ``nested``: the zips and base64 archives ``value`` was read inside
    (:func:`~.key_shapes.archives_in`): its bytes are read one base64 archive deeper,
    and past :data:`MOST_NESTED` not read (True: hidden unread)."""
    written = value
    if written[:5].lower() == "data:":  # (RFC 2397: DATA:...;BASE64, as browsers read it)
        comma = written.find(",", 0, 256)
        if comma < 0 or not written[:comma].lower().endswith(";base64"):
            return False
        written = written[comma + 1:]
    if not written.startswith(_STARTS) or not written.isascii():
        return False
    data = file_transfer_decoded(written.encode("ascii"), "base64")
    if data[:4] == written[:4].encode("ascii"):  # (no base64: as written)
        return False
    nested += 1
    if nested > MOST_NESTED:
        return True
    return redactor.shapes_key_in(data, depth, nested) or budgeted_holds(
        data, lambda layer: redactor.shapes_key_in(layer, depth, nested), MOST_DECODED)
