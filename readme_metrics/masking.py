"""The one-way mask used for group ids, credentials and cookies (SPEC section 4).

``mask(value) = "sha512-" + base64(sha512(value)) + "?" + value[-4:]``: the dashboard can
group calls by the same caller and show the last four characters for recognition, while
the secret itself never leaves the process.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache


@lru_cache(maxsize=4096)
def mask(value: str) -> str:
    """Return the SPEC mask of ``value`` (stable, so equal inputs group together)."""
    digest = hashlib.sha512(value.encode("utf-8", "surrogateescape")).digest()
    return "sha512-" + base64.b64encode(digest).decode("ascii") + "?" + value[-4:]


def is_masked(value: str) -> bool:
    """True when ``value`` already has the shape of :func:`mask` output."""
    return value.startswith("sha512-") and len(value) >= 95 and value[95:96] == "?"
