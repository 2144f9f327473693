"""A Set-Cookie ``Expires`` date read as RFC 6265 (5.1.1) reads it, as browsers do.

Not as an email date (``email.utils.parsedate_tz``): that applied a zone or offset
(``+0200``, ``PST``), which the cookie algorithm ignores (a cookie date is UTC), rolled
an hour 25 or a day 32 over into the next day or month, which it refuses, took the
two-digit year 69 for 1969 (2069 here) and gave up on any other layout, where the
algorithm picks the time, day, month and year out of the tokens in any order
(``Wed Oct 21 07:28:00 2015``, ``21-Oct-15 07:28:00``).
"""

from __future__ import annotations

import calendar
import datetime
import re
from typing import Optional

__all__ = ["cookie_date"]

# Tokens are the runs of non-delimiters; a delimiter is %x09 / %x20-2F / %x3B-40 /
# %x5B-60 / %x7B-7E, so ":" and letters and digits (and controls, %x7F-FF) are kept.
_TOKEN = re.compile(r"[^\x09\x20-\x2f\x3b-\x40\x5b-\x60\x7b-\x7e]+")
# Each production is digits followed by nothing or a non-digit and anything.
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[^0-9].*)?\Z", re.DOTALL)
_DAY = re.compile(r"([0-9]{1,2})(?:[^0-9].*)?\Z", re.DOTALL)
_YEAR = re.compile(r"([0-9]{2,4})(?:[^0-9].*)?\Z", re.DOTALL)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
           "dec")


def cookie_date(text: str) -> Optional[int]:
    """The epoch seconds (UTC) of a cookie date, or None where RFC 6265 fails to parse it
    (a field missing, or out of range: a day past 31, an hour past 23, a year before
    1601, a date no calendar has such as 30 February)."""
    time: Optional[tuple[int, int, int]] = None
    day = month = year = None
    for token in _TOKEN.findall(text):
        if time is None and (found := _TIME.match(token)):
            time = (int(found.group(1)), int(found.group(2)), int(found.group(3)))
        elif day is None and (found := _DAY.match(token)):
            day = int(found.group(1))
        elif month is None and token[:3].lower() in _MONTHS:
            month = _MONTHS.index(token[:3].lower()) + 1
        elif year is None and (found := _YEAR.match(token)):
            year = int(found.group(1))
    if time is None or day is None or month is None or year is None:
        return None
    if 70 <= year <= 99:
        year += 1900
    elif 0 <= year <= 69:
        year += 2000
    hour, minute, second = time
    if not 1 <= day <= 31 or year < 1601 or hour > 23 or minute > 59 or second > 59:
        return None
    try:
        moment = datetime.datetime(year, month, day, hour, minute, second)
    except ValueError:  # 30 February, 31 April
        return None
    return calendar.timegm(moment.timetuple())
