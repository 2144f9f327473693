"""What a redacted value becomes in a log (SPEC section 6): ``"[REDACTED n]"`` for a string
of length n, ``"[REDACTED]"`` otherwise, and the same percent-encoded as a query or a form
writes it. Moved from :mod:`readme_metrics.har.redaction` (which exports both), as is.
"""

from __future__ import annotations

import re

from readme_metrics._lazy_re import lazy_compile

#: A value redacted already (:func:`redacted`'s text): not redacted or masked again.
REDACTED_MARK = re.compile(r"\[REDACTED(?: \d+)?\]")

#: A hidden value's mark, as written, percent- or form-encoded (its length aside: a mark
#: hidden again is a longer one). Moved from :mod:`readme_metrics.har.body_redaction`.
MARKS = lazy_compile(r"(?:\[|%5B)REDACTED(?:(?: |%20|\+)\d+)?(?:\]|%5D)")


def redacted(value: object) -> str:
    """The replacement of a redacted value: ``"[REDACTED n]"`` for a str of length n."""
    if isinstance(value, str):
        return f"[REDACTED {len(value)}]"
    return "[REDACTED]"


def escaped_redacted(value: str) -> str:
    """``quote(redacted(value), safe="")``, the replacement of a redacted value as a query
    or form writes it (``%5BREDACTED%205%5D``), without quote's Python work: a form of
    denied pairs wrote each one so."""
    return f"%5BREDACTED%20{len(value)}%5D"
