"""A HAR entry's ``startedDateTime`` and ``timings`` from the capture's clock readings."""

from __future__ import annotations

import math
import time
from typing import Any

from readme_metrics.har.cookies import MAX_EPOCH

__all__ = ["started", "timings"]

# The last second formatted, as (seconds, "YYYY-MM-DDTHH:MM:SS"): logs built together
# mostly started within the same second, and strftime costs more than the rest of the
# entry's timing fields. One tuple, replaced whole, so concurrent senders never see a
# torn pair.
_LAST_SECOND: tuple[int, str] = (-1, "")
# The tail of a start time, ".000Z" to ".999Z", by its milliseconds: formatted once.
_MILLIS = tuple(f".{millis:03d}Z" for millis in range(1000))


def started(epoch: float) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``, e.g. ``2026-11-21T10:31:43.123Z``."""
    global _LAST_SECOND
    try:
        # (A float, the capture's clock reading, needs no float() call.)
        total_ms = math.floor((epoch if epoch.__class__ is float else float(epoch)) * 1000)
        seconds, millis = divmod(total_ms, 1000)
        if not 0 <= seconds <= MAX_EPOCH:
            raise ValueError(epoch)
    except (TypeError, ValueError, OverflowError):
        # An impossible start time must not lose the log: record when it was built.
        seconds, millis = divmod(math.floor(time.time() * 1000), 1000)
    last = _LAST_SECOND
    if last[0] == seconds:
        prefix = last[1]
    else:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        _LAST_SECOND = (seconds, prefix)
    return prefix + _MILLIS[millis]


def _microseconds(seconds: Any) -> int:
    """Seconds as whole microseconds: non-negative, 0 for anything not a finite number."""
    try:
        value = float(seconds) * 1e6
    except (TypeError, ValueError, OverflowError):
        return 0
    if not math.isfinite(value) or value <= 0.0:
        return 0
    return round(value)


_INFINITY = math.inf
# How far timings() looks for a receive time whose sum with wait is exact (1 ms), in the
# order it tries them: 0, +1, -1, +2, -2 ... microseconds.
_MAX_SHIFT_US = 1000
_SHIFTS = (0, *(step for size in range(1, _MAX_SHIFT_US + 1) for step in (size, -size)))


def timings(wait: Any, duration: Any) -> tuple[float, float, float]:
    """HAR (time, wait, receive) in milliseconds with 3 decimals, from seconds.

    Computed in whole microseconds and divided once, so each figure is the float closest
    to its 3-decimal value (``2.051``, never ``2.0509999999999997``). ``time`` must also
    be exactly what a reader gets by adding the timings (``send + wait + receive``), and
    the float sum of two such figures is not always the float of their 3-decimal sum: in
    that case ``receive`` moves by the fewest microseconds that make the two agree
    (almost always one, a few dozen at most), far below any timing's accuracy.
    """
    if wait.__class__ is float and duration.__class__ is float:
        # The capture's clock readings: _microseconds without its call and conversions
        # (a NaN or an infinity fails the comparison as isfinite() does).
        wait_us = wait * 1e6
        wait_us = round(wait_us) if 0.0 < wait_us < _INFINITY else 0
        receive_us = (duration - wait) * 1e6
        receive_us = round(receive_us) if 0.0 < receive_us < _INFINITY else 0
    else:
        wait_us = _microseconds(wait)
        try:
            receive_us = _microseconds(duration - wait)
        except TypeError:
            receive_us = 0
    wait_ms = wait_us / 1000
    total = (wait_us + receive_us) / 1000
    if wait_ms + receive_us / 1000 == total:  # three times in four
        return total, wait_ms, receive_us / 1000
    for shift in _SHIFTS:
        candidate = receive_us + shift
        total = (wait_us + candidate) / 1000
        if candidate >= 0 and wait_ms + candidate / 1000 == total:
            return total, wait_ms, candidate / 1000
    return (wait_us + receive_us) / 1000, wait_ms, receive_us / 1000
