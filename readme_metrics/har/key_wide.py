"""The caller's key in UTF-16 and UTF-32 bytes: how a body in a wide encoding spells the key
and its mask (see :meth:`~readme_metrics.har.credentials.CallerKey.base64`). Moved from
:mod:`readme_metrics.har.credentials`, as is.
"""

from __future__ import annotations

from functools import lru_cache

_WIDE_CODECS = ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")


@lru_cache(maxsize=64)
def wide_forms(key: str, masked: str) -> tuple[bool, tuple[tuple[bytes, bytes], ...]]:
    """(whether ``key`` and ``masked`` are within latin-1; the (key, mask) pairs of bytes
    that spell them in UTF-16 and UTF-32). Within latin-1, both byte orders in one pair
    per width: the little-endian bytes without their last NULs, which the big-endian ones
    hold too, one NUL run earlier (``k\0e\0y`` in ``k\0e\0y\0`` and ``\0k\0e\0y``),
    such a text's every high byte being NUL. Beyond it (a key "ключ-...", whose mask ends
    with its last four characters), one pair per encoding, whose high bytes are not NUL;
    none for a key with lone surrogates (no UTF-16)."""
    try:
        key.encode("latin-1")
        masked.encode("latin-1")
    except UnicodeEncodeError:
        try:
            return False, tuple((key.encode(codec), masked.encode(codec))
                                for codec in _WIDE_CODECS)
        except UnicodeEncodeError:
            return False, ()
    return True, ((key.encode("utf-16-le")[:-1], masked.encode("utf-16-le")[:-1]),
                  (key.encode("utf-32-le")[:-3], masked.encode("utf-32-le")[:-3]))


def wide_masked(data: bytes, wide: tuple[tuple[bytes, bytes], ...]) -> bytes:
    """``data`` with the key in UTF-16/32 replaced by its mask in the same encoding (the
    very same object when it holds none); ``wide``: the pairs :func:`wide_forms` gives."""
    for spelled, mask_spelled in wide:
        if spelled in data:
            data = data.replace(spelled, mask_spelled)
    return data


# The byte order marks a UTF-16/32 text may start with, by codec (little/big-endian).
_MARKS = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff",
          "utf-32-le": b"\xff\xfe\x00\x00", "utf-32-be": b"\x00\x00\xfe\xff"}


@lru_cache(maxsize=64)
def wide_whole(key: str, masked: str) -> dict[bytes, bytes]:
    """The bytes of ``key`` alone in UTF-16 and UTF-32 (either byte order, with or without
    its byte order mark) -> ``masked`` in the same bytes: a short key is masked where a
    whole value is it, and a binary body (a Windows client's octet-stream) is one value.
    Empty for a key with lone surrogates (no UTF-16)."""
    whole = {}
    for codec, mark in _MARKS.items():
        try:
            spelled, mask_spelled = key.encode(codec), masked.encode(codec)
        except UnicodeEncodeError:
            return {}
        whole[spelled] = mask_spelled
        whole[mark + spelled] = mark + mask_spelled
    return whole
