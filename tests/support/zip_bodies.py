"""Zip and tar bodies the tests build in memory, for the readers of archives in a body
(har/zip_entries.py, har/inflation_budget.py): hostile29, hostile31, hostile33,
review121, review123, review126."""

from __future__ import annotations

import io
import tarfile
import zipfile
from typing import Any

#: Every entry's time stamp: a zip written with the clock's time (``writestr`` of a
#: name) has different bytes, and a different base64, every two seconds, and a test
#: reading that base64 (a ``+`` in a query is a space; a denied needle by chance) passed
#: or failed with the clock (CI of e8ce505d failed hostile37's prose-zip guard so).
STAMP = (2026, 1, 2, 3, 4, 6)


def entry(name: str, archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    """``name`` as an entry of ``archive`` written at :data:`STAMP`, compressed as the
    archive's default (``writestr`` of a bare ZipInfo would store it)."""
    info = zipfile.ZipInfo(name, date_time=STAMP)
    info.compress_type = archive.compression
    return info


class _Unseekable(io.RawIOBase):
    """A stream with no seek, writing to ``buffer``."""

    def __init__(self, buffer: io.BytesIO) -> None:
        super().__init__()
        self._buffer = buffer

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return self._buffer.write(data)


def zip_of(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED,
           streamed: bool = False) -> bytes:
    """A zip of ``entries`` (name: data, in order), each compressed by ``method``;
    ``streamed``, written to a stream with no seek (each entry's sizes in a data
    descriptor after it)."""
    buffer = io.BytesIO()
    target: Any = _Unseekable(buffer) if streamed else buffer
    with zipfile.ZipFile(target, "w", method) as archive:
        for name, data in entries.items():
            archive.writestr(entry(name, archive), data)
    return buffer.getvalue()


def nested_zip(inner: bytes, depth: int, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """``inner`` as the one entry of a zip, ``depth`` times over (``level0.zip`` the
    innermost)."""
    for level in range(depth):
        inner = zip_of({f"level{level}.zip": inner}, method)
    return inner


def tgz_of(name: str, data: bytes) -> bytes:
    """A gzipped tar of one file, ``name`` holding ``data``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
