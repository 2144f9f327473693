"""Header names lowered once: the cache every loop over a log's headers reads.

Every log compares a dozen or two header names against a few known ones, several times
over (masking, cookies, content types): the names repeat from one log to the next, so
each distinct one is lowered once. Bounded: random names cannot grow it; past the bound
they are simply lowered every time. Read inline (``LOWERED.get(name) or lower(name)``)
in the loops over headers (:mod:`~readme_metrics.har.headers`,
:mod:`~readme_metrics.har.cookies`): a call per header costs more than the lookup itself.
"""

from __future__ import annotations

from typing import Optional

__all__ = ["LOWERED", "LOWER_MAX", "header", "lower"]

#: Header name -> its lower-case form (see the module's docstring).
LOWERED: dict[str, str] = {}
#: How many names ``LOWERED`` holds at most (and headers.py's tables of names).
LOWER_MAX = 2048


def lower(name: str) -> str:
    """``name.lower()``, cached for the header names that repeat from log to log."""
    lowered = LOWERED.get(name)
    if lowered is None:
        lowered = name.lower()
        if len(LOWERED) < LOWER_MAX:
            LOWERED[name] = lowered
    return lowered


def header(pairs: list[tuple[str, str]], name: str) -> Optional[str]:
    """First value of header ``name`` (lower-case), or None."""
    lowered = LOWERED.get
    for key, value in pairs:
        # The cache lookup is inlined in the loops over headers: a call per header costs
        # more than the lookup itself.
        if (lowered(key) or lower(key)) == name:
            return value
    return None
