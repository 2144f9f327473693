"""The caller's key in a binary body or a file part, base64 in the log: its UTF-8 bytes
and, for a long key, its UTF-16/32 ones (:mod:`readme_metrics.har.key_wide`) masked.
A pure function of the data, the key and its mask; moved from
:mod:`readme_metrics.har.credentials`, as is.
"""

from __future__ import annotations

from base64 import b64decode, b64encode

from readme_metrics.har.key_wide import wide_forms, wide_masked, wide_whole
from readme_metrics.masking import utf8


def masked_base64(encoded: str, key: str, masked: str, inside: bool) -> str:
    """Base64 data (a binary body, a file part) with the ``key``'s UTF-8 bytes (and a long
    one's UTF-16/32: ``inside``) as its ``masked`` ones."""
    try:
        data = b64decode(encoded, validate=True)
    except ValueError:
        return encoded
    spelled = utf8(key)
    if data == spelled:
        data = masked.encode()
    elif not inside:
        # A short key: a whole body (a file part) that is it, in UTF-16/32 too (at most
        # 4 bytes a character and a mark: one dict lookup, for small data only).
        if not 2 * len(key) <= len(data) <= 4 * len(key) + 4:
            return encoded
        whole = wide_whole(key, masked).get(data)
        if whole is None:
            return encoded
        data = whole
    else:
        found = data.replace(spelled, masked.encode()) if spelled in data else data
        latin, wide = wide_forms(key, masked)
        if wide and (b"\x00" in found or not latin):
            # A string in UTF-16/32 (a Windows client's): the denylist reads such
            # NUL-spaced names too (Redactor.mentions_key_in).
            found = wide_masked(found, wide)
        if found is data:
            return encoded
        data = found
    return b64encode(data).decode("ascii")
