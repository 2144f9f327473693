"""A denied name spelled in UTF-8 inside a body kept as bytes (binary data), for
:meth:`Redactor.mentions_key_in <readme_metrics.har.redaction.Redactor.mentions_key_in>`.

Binary data is read as its bytes (latin-1): an ASCII name as written or through JSON
escapes. A name spelled with a character beyond ASCII in UTF-8 (``paſsword``, the
Kelvin sign in ``api_Key``, ``STRAẞE``; ``パスワード`` itself) is no such reading: it was
hidden before binary1 only when the body held a ``\\u`` anywhere (any was a hit), and
went out in base64 once only real escapes counted (review112). :func:`folded_utf8`
folds the characters that case-fold to ASCII in the bytes themselves (found at memory
speed); :func:`raw_probe` tells whether bytes could hold a name beyond ASCII in UTF-8,
before they are decoded.
"""

from __future__ import annotations

import re
from typing import Iterable, Optional

from readme_metrics._lazy_re import lazy_compile
from readme_metrics.har.json_escapes import FOLDING_TO_ASCII

__all__ = ["folded_utf8", "raw_probe"]

_FOLDS = {chr(code).encode("utf-8"): chr(code).casefold().encode("utf-8")
          for code in FOLDING_TO_ASCII}
_FOLDING = lazy_compile(b"|".join(re.escape(spelled) for spelled in _FOLDS))


def folded_utf8(data: bytes) -> bytes:
    """``data`` with each character in UTF-8 that case-folds to text holding ASCII
    (``ſ`` to ``s``, ``ﬁ`` to ``fi``, ``ǰ`` to ``j`` and its caron) as it folds: an
    ASCII name spelled with one is then in the bytes, lower-cased."""
    if _FOLDING.search(data) is None:  # (random bytes: a few in 64 KiB)
        return data
    folded, count = _FOLDING.subn(_folded, data, count=_FEW)
    if count < _FEW:
        return folded
    # Many (a body of them): each one held replaced at C speed, a pass each in 256 KiB
    # costing about 1 ms, where a call a match took 160 ms in 256 KiB of "ſ".
    for spelled, fold in _FOLDS.items():
        data = data.replace(spelled, fold)
    return data


# Matches folded one call each up to this count, and in passes of bytes.replace past it.
_FEW = 256


def _folded(spelled: re.Match[bytes]) -> bytes:
    return _FOLDS[spelled.group()]


def raw_probe(needles: Iterable[str]) -> Optional[re.Pattern[bytes]]:
    """A pattern of the UTF-8 bytes of the characters beyond ASCII that ``needles`` (the
    denied names, folded) hold, in each case (``п``, ``П``; ``σ``, ``Σ``, ``ς``): bytes
    holding none spell no such name in UTF-8 that their escapes do not (their latin-1
    reading's business). None when every needle is ASCII."""
    variants: set[str] = set()
    for character in "".join(needles):
        if character.isascii():
            continue
        for variant in (character, character.upper(), character.lower(),
                        character.title(), character.casefold()):
            if len(variant) == 1:
                variants.add(variant)
        if character == "σ":
            variants.add("ς")
    if not variants:
        return None
    return re.compile(b"|".join(re.escape(v.encode("utf-8")) for v in sorted(variants)))
