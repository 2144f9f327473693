"""The caller's key base64-encoded inside a text: a JSON string or a text body holding
``base64("user:" + key)`` (a Basic credential a client sends in a field, an echo of its
Authorization header), in the standard or the URL-safe alphabet, padded or not. Wherever
the key's bytes stand in the encoded data, the characters that spell them are known but
for their alignment (three) and the alphabet (two): six texts, looked for with ``str``
searches. A run of base64 holding one is decoded, its key bytes become its mask's, and it
is encoded again as it was written. A pure function of the text, the key and its mask.
"""

from __future__ import annotations

import binascii
import re
from base64 import b64decode, b64encode
from functools import lru_cache

from readme_metrics.masking import utf8

__all__ = ["masked_base64_runs"]

_TO_URLSAFE = str.maketrans("+/", "-_")
# A run of base64 in either alphabet, its padding included.
_RUN = re.compile(r"[A-Za-z0-9+/\-_]+=*")


@lru_cache(maxsize=64)
def _needles(key: str) -> tuple[str, ...]:
    """The characters that spell the ``key``'s UTF-8 bytes in base64 data at each of the
    three alignments, in the standard and the URL-safe alphabet (those holding no bit of
    a byte before or after it)."""
    data = utf8(key)
    out = []
    for lead in range(3):
        encoded = b64encode(b"\0" * lead + data).decode("ascii")
        first = -(-8 * lead // 6)  # the first character holding none of the lead's bits
        last = 8 * (lead + len(data)) // 6  # past the last holding only the key's
        needle = encoded[first:last]
        out += [needle, needle.translate(_TO_URLSAFE)]
    return tuple(dict.fromkeys(out))


def masked_base64_runs(text: str, key: str, masked: str) -> str:
    """``text`` with each run of base64 spelling the (long) ``key``'s bytes written
    again with ``masked``'s bytes there; a run that does not decode so (its start
    glued to other letters) becomes ``masked`` itself. ``text`` itself when none
    does."""
    needles = [needle for needle in _needles(key) if needle in text]
    if not needles:
        return text
    out: list[str] = []
    kept = 0
    for run in _RUN.finditer(text):
        found = run.group(0)
        if not any(needle in found for needle in needles):
            continue
        out += [text[kept:run.start()], _masked_run(found, key, masked)]
        kept = run.end()
    if not out:
        return text
    out.append(text[kept:])
    return "".join(out)


def _masked_run(run: str, key: str, masked: str) -> str:
    """One run of base64 holding the key's spelling, with its bytes masked (see
    :func:`masked_base64_runs`)."""
    urlsafe = "-" in run or "_" in run
    body = run.rstrip("=")
    padded = len(body) != len(run)
    spelled = utf8(key)
    for skip in range(4):  # (the run may start with letters that are no part of it)
        data_text = body[skip:]
        if urlsafe:
            data_text = data_text.replace("-", "+").replace("_", "/")
        try:
            data = b64decode(data_text + "=" * (-len(data_text) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        if spelled not in data:
            continue
        encoded = b64encode(data.replace(spelled, utf8(masked))).decode("ascii")
        if urlsafe:
            encoded = encoded.translate(_TO_URLSAFE)
        if not padded:
            encoded = encoded.rstrip("=")
        return body[:skip] + encoded
    return masked
