"""Zip and tar bodies the tests build in memory, for the readers of archives in a body
(har/zip_entries.py, har/inflation_budget.py): hostile29, hostile31, hostile33,
review121, review123, review126."""

from __future__ import annotations

import io
import tarfile
import zipfile
from typing import Any


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
            archive.writestr(name, data)
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
