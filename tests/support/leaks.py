"""Find a secret in what the collector received, however it is spelled there.

A redaction test sends a value under a key the lists hide, then asks :func:`found` where
the posted batches still spell it: the raw bytes, and every JSON string (keys too, JSON
escapes decoded) read as is, percent-decoded once and twice, "+" as a space or not, in
any case.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote, unquote_plus

__all__ = ["found", "strings"]


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
