"""A zip, gzip, bzip2, zstd or zlib file written as base64 in a text (a JSON string
``{"file": "UEsDB..."}``, a data URL ``data:application/zip;base64,...``, a form's
value ...), read by the denylist as a binary body is (hostile33, hostile38).

Such a string went out as written: one ``base64 -d | unzip`` away from the ``.env`` it
held. Its bytes are now decoded (the standard or URL-safe alphabet, padded or not, lines
wrapped or not: :func:`~.transfer_coding.file_transfer_decoded`, as a multipart file's
``Content-Transfer-Encoding: base64`` is) and checked as binary data is
(:meth:`~readme_metrics.har.redaction.Redactor.shapes_key_in`: a zip's entries inflated,
from the process's budget), and so is what they hold compressed
(:func:`~.body_compressed.holds`, each layer to :data:`MOST_DECODED` bytes): bytes that
spell a denied key so, or that cannot be read whole within those bounds, are hidden
(``[REDACTED n]``). Where such base64 starts in a text is :mod:`.base64_starts`' (its
magics: ``UEsDB``, ``H4sI``, ``Qlpo``, ``KLUv``, a zip's after a byte or two, zlib's
``eJ`` ...); a text holding none costs :func:`archive_in`'s searches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from readme_metrics.har.base64_starts import (
    MAGICS,
    SPLIT_HEADS,
    ZLIB_START,
    archive_encoded_in,
    escaped_magic_in,
    split_start_in,
    zlib_start_in,
)
from readme_metrics.har.body_compressed import budgeted_holds
from readme_metrics.har.zip_entries import MOST_INFLATED

if TYPE_CHECKING:
    from readme_metrics.har.redaction import Redactor

__all__ = ["MAGICS", "MOST_DECODED", "MOST_NESTED", "archive_encoded_in", "archive_in",
           "archive_read", "compressed_read"]

#: Bytes each layer a decoded string holds compressed is read to (a zip's own bound).
MOST_DECODED = MOST_INFLATED

#: Base64 archives read one inside another (a zip's entry holding the base64 of a zip
#: whose entry holds one ...; hostile37), at most: one past them is not read (hidden).
MOST_NESTED = 3


def archive_in(text: str) -> bool:
    """Whether a ``text`` (a JSON text, a form, a value) may hold a run of base64 that
    :func:`archive_read` reads: one of :data:`~.base64_starts.NEEDLES` in it (six
    searches: a magic's first two characters first, and the magic or the magic split
    by a mark, ``UE sD``, hostile46), a zlib stream's start (``eJ`` ... after no base64
    character: one pattern's search, :data:`~.base64_starts.ZLIB_START`), a magic
    percent-encoded (``%55EsDB``, ``U%45sDB``) or JSON-escaped (``\\u0055EsDB``)."""
    # (map of the str's own __contains__: no Python call a needle; this runs for every
    # form pair and JSON string, hostile11's bound of calls a KiB)
    contains = text.__contains__
    return (any(map(contains, SPLIT_HEADS)) and (
                any(map(contains, MAGICS)) or split_start_in(text))
            or "BLAw" in text or "QSwME" in text
            or ZLIB_START.search(text) is not None and zlib_start_in(text)
            or "%" in text and archive_encoded_in(text)
            or "\\u" in text and escaped_magic_in(text))


def archive_read(redactor: Redactor, data: bytes, depth: int = 0, nested: int = 0) -> bool:
    """Whether ``data``, the bytes a run of base64 decodes to from an archive's magic,
    spell a name the denylist denies in a key's shape, or what they hold compressed
    does, or cannot be read whole (see the module). ``depth``, ``nested``: the zips and
    base64 archives ``data`` was read inside (:func:`~.key_shapes.archives_in`): its
    bytes are read one base64 archive deeper, and past :data:`MOST_NESTED` not read
    (True: hidden unread)."""
    nested += 1
    if nested > MOST_NESTED:
        return True
    return redactor.shapes_key_in(data, depth, nested) or compressed_read(
        redactor, data, depth, nested - 1)


def compressed_read(redactor: Redactor, data: bytes, depth: int = 0, nested: int = 0) -> bool:
    """:func:`archive_read` of what ``data`` holds compressed only (a gzip, bzip2, zstd
    or zlib stream at its start; its layers from the inflation budget): for a stream
    inside bytes already read as they are (:mod:`.base64_runs`' later magics)."""
    nested += 1
    if nested > MOST_NESTED:
        return True
    return budgeted_holds(
        data, lambda layer: redactor.shapes_key_in(layer, depth, nested), MOST_DECODED)
