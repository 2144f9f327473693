"""Find a secret in what the collector received, however it is spelled there.

A redaction test sends a value under a key the lists hide, then asks :func:`found` where
the posted batches still spell it: the raw bytes, and every JSON string (keys too, JSON
escapes decoded) read as is, percent-decoded once and twice, "+" as a space or not, in
any case.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, unquote, unquote_plus

__all__ = ["found", "found_unmasked", "strings"]


def strings(value: Any) -> list[str]:
    """Every string (keys too) in a parsed JSON value."""
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in [key, *strings(item)]]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return [value] if isinstance(value, str) else []


def _spellings(text: str) -> set[str]:
    """``text`` lower-cased, and as it reads percent-decoded once and twice."""
    out = {text.lower()}
    for _ in range(2):
        out |= {d.lower() for spelled in list(out) for d in (unquote(spelled),
                                                             unquote_plus(spelled))}
    return out


def found(bodies: list[bytes], secret: str) -> list[str]:
    """Where the posted batches ``bodies`` spell ``secret``: "raw bytes" for a batch
    holding it as is, and each JSON string that spells it."""
    lowered = secret.lower()
    hits = ["raw bytes" for body in bodies if lowered.encode() in body.lower()]
    for body in bodies:
        hits += [s for s in strings(json.loads(body))
                 if any(lowered in spelled for spelled in _spellings(s))]
    return hits


# What stands where a mask was taken out (see found_unmasked): in no key the tests use.
_GAP = "\x01"


def found_unmasked(bodies: list[bytes], secret: str, masked: str) -> list[str]:
    """:func:`found` with every spelling of ``masked`` (the secret's mask, which ends with
    its last four characters: a short key in full) taken out of the batches first."""
    spellings = {masked, quote(masked, safe=""), quote(quote(masked, safe=""), safe=""),
                 quote(masked, safe="").lower()}
    spellings |= {json.dumps(s, ensure_ascii=a)[1:-1] for s in set(spellings)
                  for a in (True, False)}
    cleared = []
    for body in bodies:
        text = body.decode("utf-8", "surrogatepass")
        for spelling in sorted(spellings, key=len, reverse=True):
            text = text.replace(spelling, _GAP)
        document = json.loads(text, strict=False)
        cleared.append(json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    return found(cleared, secret)
