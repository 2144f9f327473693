"""When the next POST may go while others are in flight: pure functions of the times.

Two waits, each a function of the clock's reading, a few numbers the
:class:`~readme_metrics.delivery.batcher.Batcher` keeps and the ``sent_at`` of the POSTs
in flight (0.0: a batch still being encoded, no POST begun): the spacing of POSTs of new
logs over the API's round trip (:func:`post_wait`), and, while the API is taken for down,
how long the probe in flight holds the next one back (:func:`probe_wait`). Nothing here
keeps state or reads a clock, so the fake clock of a test is the only one there is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Optional

from readme_metrics.delivery.limits import PROBE_OVERLAP_CAP

if TYPE_CHECKING:
    from readme_metrics.delivery.queue import Batch


def post_wait(now: float, last_cut: float, post_s: float, max_senders: int,
              answered_began: float, in_flight: Iterable[Batch]) -> float:
    """Seconds the next POST of new logs waits after ``now`` while POSTs are ``in_flight``
    (0 or less: it goes now), the last one cut at ``last_cut``; the caller lets one that
    fills a POST at the caps go at once.

    Each POST holds a sender for a round trip of the API however few logs it
    carries. Taken as fast as they came due, POSTs of a few logs each held every
    sender at once (at 2,000 logs/s to an API answering in 4 s, 32 POSTs of 186 logs
    on average), the logs behind them waited a whole round trip, counted against
    ``max_queue_size`` with those in flight: 1,310 of 20,000 dropped. So the POSTs
    are spread over the round trip (``post_s``, the average): one ``post_s /
    max_senders`` after the last one cut, each carrying its share of the traffic; and
    while the oldest POST in flight had waited longer than ``post_s`` when the last one
    was cut (the API turned slower than its answers so far said, or none answered yet),
    one as long after it as that excess: the POSTs in flight at most double in count per
    round trip of the API as it now is, rather than every sender taking a POST of a few
    logs within its first second."""
    # Only the POSTs begun after the latest one delivered (begun at ``answered_began``)
    # say the API turned slower: one begun before it and still unanswered was lost (a
    # dead connection, cut at its bound, up to 30 s), and held every log behind it in
    # POSTs doubling apart (review74: 14 s late at buffer_length, the API answering in
    # 5 ms). A batch being encoded (sent_at 0.0) has begun no POST yet: not counted (read
    # as begun at the clock's zero, it held the next POST for the clock's reading).
    if answered_began < 0.0:
        answered_began = 0.0
    oldest = now
    for batch in in_flight:
        sent_at = batch.sent_at
        if answered_began < sent_at < oldest:
            oldest = sent_at
    spacing = last_cut - oldest - post_s
    if spacing < post_s / max_senders:
        spacing = post_s / max_senders
    return last_cut + spacing - now


def probe_wait(now: float, probe_after: float, overlaps: int,
               in_flight: Iterable[Batch]) -> tuple[bool, Optional[float]]:
    """While the API is taken for down, with POSTs ``in_flight``: (True, and seconds until
    that may change, None: until one settles) if a probe waits for an answer yet,
    (False, None) if every POST in flight has waited ``probe_after`` (``timeout``)
    without one.

    One probe at a time, but not one held on a dead connection: the bound of an API
    that takes POSTs and never answers grows to 30 s as for a slower one (the two
    look alike until an answer comes), and the probe in flight when it came back
    waited out up to 30 s before the next one went (review69). The next probe goes
    once the one in flight has waited ``timeout``; the one in flight is still waited
    for, whole, should the API be that slow.

    That wait doubles with each probe let go so while none was answered
    (``overlaps``), up to ``PROBE_OVERLAP_CAP``: with ``timeout`` alone, a black-holed
    API saw 13.6 POSTs a minute from each process (1.8 before delivery19), up to 10
    held open at once (delivery20)."""
    youngest = 0.0
    for batch in in_flight:
        if not batch.sent_at:
            return True, None  # being encoded
        if batch.sent_at > youngest:
            youngest = batch.sent_at
    after = probe_after
    if overlaps:
        after = max(after, min(after * 2.0 ** min(overlaps, 32), PROBE_OVERLAP_CAP))
    left = youngest + after - now
    return (True, left) if left > 0 else (False, None)
