"""One log's header values read as texts for a URL's password, within a budget.

The text readers (:func:`.text_userinfo.userinfo_hidden_in`) bound their work in one
text (:data:`.userinfo_starts.MOST_FOUND` URLs found, then its rest hidden unread:
hostile61), but a log's headers are many texts, each read with a cap of its own: 100
Referer values of 8,000 characters of ``h%3A%2F%2Fx%40`` (within gunicorn's limits of
100 fields of 8,190 bytes) cost 2,882 Python and C calls a KiB, about 0.6 s of CPU with
the GIL held, where a body's worst case costs 150 (review152: hostile61 read such
values, a URL header's wholly percent-encoded or escaped, an authority header's ``%40``;
with a denylist, every header's since hostile52). One log's header values that may
hold a URL's password (an ``@`` and a scheme's ``:`` in some spelling) are read as texts
for :data:`MOST_READ` characters at most, together; past them such a value is hidden
whole, ``[REDACTED n]`` (fail closed: no password sent).
"""

from __future__ import annotations

from typing import Callable, Optional

from readme_metrics.har.redaction_marks import redacted
from readme_metrics.har.text_userinfo import may_hold_at, userinfo_hidden_in

__all__ = ["MOST_READ", "hidden_within", "read_within", "spent"]

#: The characters of one log's header values read as texts at most (a header set that
#: a client sends is about 1 KiB; h11, under uvicorn and hypercorn, takes 16 KiB in all).
MOST_READ = 16 * 1024


def hidden_within(value: str, left: list[int],
                  read: Callable[[str], str] = userinfo_hidden_in,
                  past: Callable[[str], str] = redacted) -> str:
    """``value`` read as a text (``read``: :func:`.text_userinfo.userinfo_hidden_in`),
    counted against ``left`` (a one-item list, ``[MOST_READ]`` for one log's headers) if
    a reader may find a URL in it; hidden whole, ``[REDACTED n]``, once that is spent
    (or as ``past`` hides it: a Set-Cookie's value alone, :mod:`.cookies`)."""
    if may_hold_at(value) and (
            ":" in value or "3A" in value or "3a" in value):  # (a scheme's "://")
        return read_within(value, left, read, past)
    return read(value)


def read_within(value: str, left: list[int], read: Callable[[str], str],
                past: Callable[[str], str] = redacted) -> str:
    """``read(value)`` counted against ``left`` as :func:`hidden_within` counts a text;
    ``value`` hidden whole, ``[REDACTED n]``, once that is spent. An authority header's
    userinfos (:func:`.header_urls.masked_authority`: a call or more for each ``@``; 100
    X-Forwarded-Host values of 8,000 characters of ``x:y@z,`` cost ~4,950 calls a KiB,
    of ``@`` ~0.4 s of CPU; hostile64) read within one log's budget so."""
    return past(value) if spent(value, left) else read(value)


def spent(value: str, left: Optional[list[int]]) -> bool:
    """Whether one log's budget ``left`` (None: none) is spent before ``value`` (then
    left at 0); else ``value`` counted against it. The one charge of the budget: the
    readers here, and :mod:`.header_urls`' that read a value more than once within one
    charge."""
    if left is None:
        return False
    if len(value) > left[0]:
        left[0] = 0
        return True
    left[0] -= len(value)
    return False
