"""The decoders of ``br`` and ``zstd`` bodies, when a module that bounds its output is
installed (none is a dependency).

Brotli is what Flask-Compress and starlette-compress send browsers by default (both
depend on the ``brotli`` module), zstd is in Python 3.14's stdlib. Each coding's module is
chosen once, on the first body in it: ``brotli`` or ``brotlicffi`` if its
``Decompressor.process`` takes ``output_buffer_limit`` (brotli 1.2; an older one could
only inflate a bomb whole, so it is not used); ``compression.zstd`` (3.14),
``backports.zstd`` (its backport) or ``zstandard``. A zstd frame may ask for a window of
up to 8 MiB (RFC 9659's limit for HTTP, what browsers decode): a frame asking for more
is unreadable, so a tiny frame header cannot make the worker allocate 128 MiB.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from typing import Any, Callable, Optional

__all__ = ["MODULES", "Engine", "brotli", "engine", "stdlib_zstd", "too_old", "zstandard"]

#: The package to install to read each coding (the comment of a body that is unreadable).
MODULES = {"br": "brotli", "zstd": "zstandard"}
# RFC 9659 section 3: a zstd content coding's window is at most 8 MiB.
_ZSTD_WINDOW_LOG = 23


@dataclass(frozen=True)
class Engine:
    """How to undo one coding: ``new()`` gives a decoder shaped like zlib's
    ``decompressobj`` (``decompress(data, max_length)``, ``eof``, ``unused_data``)."""

    new: Callable[[], Any]
    #: What the decoder raises on corrupt data.
    error: type[Exception]
    #: Whether data after the end of a stream is another stream of the same body
    #: (gzip members, zstd frames) rather than trailing garbage.
    members: bool


class _Brotli:
    """A brotli ``Decompressor`` read as zlib's ``decompressobj``."""

    unused_data = b""

    def __init__(self, module: Any) -> None:
        self._decoder = module.Decompressor()
        self._cut = False

    def decompress(self, data: bytes, max_length: int) -> bytes:
        # The buffer stops growing past the limit, one block beyond it at most.
        out: bytes = self._decoder.process(data, output_buffer_limit=max_length)
        self._cut = len(out) > max_length or not self._decoder.is_finished()
        return out[:max_length]

    @property
    def eof(self) -> bool:
        return not self._cut


class _Zstandard:
    """The ``zstandard`` package's reader read as zlib's ``decompressobj`` (it has no
    decompressobj with an output bound). Its frames are read across, so it is one
    stream; a stream cut short is not told from a whole one."""

    unused_data = b""

    def __init__(self, module: Any) -> None:
        self._module = module
        self.eof = False

    def decompress(self, data: bytes, max_length: int) -> bytes:
        decoder = self._module.ZstdDecompressor(max_window_size=1 << _ZSTD_WINDOW_LOG)
        reader = decoder.stream_reader(data, read_across_frames=True)
        out: list[bytes] = []
        left = max_length
        while left > 0:
            chunk = reader.read(left)
            if not chunk:
                break
            out.append(chunk)
            left -= len(chunk)
        self.eof = left > 0 or not reader.read(1)
        return b"".join(out)


def _module(*names: str) -> Any:
    for name in names:
        try:
            return importlib.import_module(name)
        except Exception:  # absent, or broken on this platform: as absent
            continue
    return None


def _brotli() -> Optional[Engine]:
    for name in ("brotli", "brotlicffi"):
        module = _module(name)
        coder = brotli(module) if module is not None else None
        if coder is not None:
            return coder
    return None


@functools.cache
def too_old(coding: str) -> bool:
    """Whether a module for ``coding`` is installed but cannot bound its output (brotli
    before 1.2), so that the comment of an unreadable body asks for a newer one. Asks
    the modules themselves, not ``engine("br") is None``: the golden corpus stubs
    :func:`engine` to read br as with no module installed, and must say "install brotli"
    whatever this machine has."""
    modules = [_module(name) for name in ("brotli", "brotlicffi")] if coding == "br" else []
    found = [module for module in modules if module is not None]
    return bool(found) and all(brotli(module) is None for module in found)


def brotli(module: Any) -> Optional[Engine]:
    """br by ``brotli`` or ``brotlicffi`` (``module``), None if it cannot bound its
    output."""
    try:
        module.Decompressor().process(b"", output_buffer_limit=1)
    except Exception:  # too old to bound its output (TypeError), or broken: not used
        return None
    return Engine(functools.partial(_Brotli, module), module.error, members=False)


def _zstd() -> Optional[Engine]:
    module = _module("compression.zstd", "backports.zstd")
    if module is not None:
        return stdlib_zstd(module)
    module = _module("zstandard")
    return zstandard(module) if module is not None else None


def stdlib_zstd(module: Any) -> Engine:
    """zstd by ``compression.zstd`` or ``backports.zstd`` (``module``)."""
    options = {module.DecompressionParameter.window_log_max: _ZSTD_WINDOW_LOG}
    return Engine(functools.partial(module.ZstdDecompressor, options=options),
                  module.ZstdError, members=True)


def zstandard(module: Any) -> Engine:
    """zstd by the ``zstandard`` package (``module``)."""
    return Engine(functools.partial(_Zstandard, module), module.ZstdError, members=False)


_FINDERS = {"br": _brotli, "zstd": _zstd}


@functools.cache
def engine(coding: str) -> Optional[Engine]:
    """The :class:`Engine` of ``br`` or ``zstd``, None when no module for it is installed
    (or for any other coding)."""
    finder = _FINDERS.get(coding)
    return finder() if finder is not None else None
