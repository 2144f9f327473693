"""Time the process did not run: a freeze (SIGSTOP/SIGCONT, ``docker pause``, a Lambda
freeze, a laptop's sleep), which is no time the Metrics API took.

On Linux the monotonic clock runs on while a process is stopped: a POST the API answered
in 0.3 s, read once the process went on 2 s later, looked like an answer in 2.3 s, later
than ``timeout``, and the library said to raise ``README_TIMEOUT`` and doubled the bound of
every POST (blackbox9). No clock tells a freeze by itself (the CPU-time clocks stop then,
but also while a thread waits for the API), so the watchdog thread's own lateness does:
while a POST is in flight it wakes at least every :data:`TICK` seconds, and one that woke
more than :data:`STALL_MIN` seconds later than it asked was not run meanwhile, nor was
any thread of the process (or the GIL was held that long: no time of the API's either).
A thread that reads an answer before the watchdog thread runs again notices the same
lateness (:func:`noticed`). A clock moved forward in a test is no freeze: it moves no
thread's wake-up.

The watchdog owns the state here and calls these with its lock held.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Optional

#: How often the watchdog thread wakes while a POST is in flight, at least: the part of
#: a freeze before its first missed wake-up is not seen (at most this long).
TICK = 0.1
#: Lateness of the watchdog thread's wake-up that is taken for a freeze (a loaded machine
#: wakes it a few milliseconds late, tens at worst).
STALL_MIN = 0.25

#: When the watchdog thread asked to be woken (monotonic time), while it waits.
expected = math.inf
#: The freezes seen lately, (began, ended) in monotonic time, oldest first.
_seen: deque[tuple[float, float]] = deque(maxlen=16)


def waiting(until: float) -> None:
    """The watchdog thread waits until the monotonic time ``until`` (inf: no POST in
    flight, nothing to see)."""
    global expected
    expected = until


def noticed(now: float) -> Optional[tuple[float, float]]:
    """At ``now``: the freeze the watchdog thread's lateness shows, if any (recorded, and
    its wake-up taken as due from ``now`` on: not seen twice)."""
    global expected
    if now - expected <= STALL_MIN:
        return None
    stall = (expected, now)
    _seen.append(stall)
    expected = now
    return stall


def within(began: float, now: float) -> float:
    """Seconds of freezes between ``began`` and ``now``."""
    lost = 0.0
    for start, end in reversed(_seen):
        if end <= began:
            break
        lost += max(0.0, min(end, now) - max(start, began))
    return lost


def clear() -> None:
    """A forked child: the parent's freezes are not its own."""
    waiting(math.inf)
    _seen.clear()
