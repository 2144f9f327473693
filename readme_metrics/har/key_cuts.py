"""The caller's key at the end of a body cut short (at max_body_bytes, or where the client
stopped): its first characters there, as is or JSON-escaped, are the mask's (a key cut
there went out in clear up to the cut). Pure functions of the text or bytes, the key and
its mask; moved from :mod:`readme_metrics.har.credentials`, as is.
"""

from __future__ import annotations

import json
import re
from base64 import b64decode, b64encode

from readme_metrics.har.key_spellings import json_decoded, json_spelling
from readme_metrics.masking import utf8

#: The fewest first characters of a long key masked at the end of a body cut short.
MIN_CUT_KEY = 4


def cut_text(text: str, comment: str, key: str, masked: str, inside: bool) -> str:
    """A body's text cut short (``comment``: at max_body_bytes, or where the client
    stopped), its last characters the first ones of a long key: they are the mask's
    (a key cut there went out in clear up to the cut). ``key``: the caller's, ``masked``
    its mask, ``inside``: whether it is long enough to be masked inside a value."""
    if not inside or not ("truncated" in comment or "incomplete" in comment):
        return text
    if text.endswith(masked):  # the key's mask ends it: its last characters
        return text
    for size in range(len(key) - 1, MIN_CUT_KEY - 1, -1):
        if text.endswith(key[:size]):
            return text[:-size] + masked
    # JSON may spell it with escapes (each character up to 12: a surrogate pair)
    tail = text[-12 * len(key):]
    return cut_escaped(text, tail, key, masked) if "\\" in tail else text


def cut_escaped(text: str, tail: str, key: str, masked: str) -> str:
    """:func:`cut_text` for a ``tail`` of ``text`` whose JSON escapes may spell the key's
    first characters (rare: the patterns are made only once the decoded tail ends so)."""
    decoded = json_decoded(tail, key)
    sizes = [size for size in range(len(key) - 1, MIN_CUT_KEY - 1, -1)
             if decoded.endswith(key[:size])]
    for size in sizes:
        found = re.search(json_spelling(key[:size]) + r"\Z", tail)
        if found is not None:
            start = len(text) - len(tail) + found.start()
            return text[:start] + json.dumps(masked, ensure_ascii=False)[1:-1]
    return text


def cut_data(data: bytes, comment: str, key: str, masked: str, inside: bool) -> bytes:
    """:func:`cut_text` for the bytes of a binary body cut short (its base64 text)."""
    if not inside or not ("truncated" in comment or "incomplete" in comment):
        return data
    spelled = utf8(key)
    if data.endswith(masked.encode()):  # the key's mask ends it (see cut_text)
        return data
    for size in range(len(spelled) - 1, MIN_CUT_KEY - 1, -1):
        if data.endswith(spelled[:size]):
            return data[:-size] + masked.encode()
    return data


def cut_base64(encoded: str, comment: str, key: str, masked: str, inside: bool) -> str:
    """:func:`cut_data` for base64 ``encoded`` data."""
    try:
        data = b64decode(encoded, validate=True)
    except ValueError:
        return encoded
    cut = cut_data(data, comment, key, masked, inside)
    return encoded if cut is data else b64encode(cut).decode("ascii")
