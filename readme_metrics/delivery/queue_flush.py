"""What a flush waits for in the log queue: every log accepted before it settled (the
lowest unsettled sequence number past its target), and which drops it answers for.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    import threading
    from collections import deque

    from readme_metrics.delivery.queue import Batch

__all__ = ["FlushWaiter", "FlushWaiting"]


class FlushWaiter:
    """One flush() call: waits for sequence numbers (base, target] to be settled;
    ``refused`` is how many logs the queue had refused when it was called."""

    __slots__ = ("base", "target", "ok", "refused")

    def __init__(self, base: int, target: int) -> None:
        self.base = base
        self.target = target
        self.ok = True
        self.refused = 0


class FlushWaiting:
    """:class:`~readme_metrics.delivery.queue.LogQueue`'s flush waiters, a base of it:
    every method is called with the queue's lock held."""

    items: deque[Any]
    accepted: int
    taken: int
    resolved: int
    in_flight: set[Batch]
    retries: list[Batch]
    flush_target: int
    waiters: list[FlushWaiter]
    dropped_unanswered: int
    refused: int
    refused_answered: int
    done: threading.Condition

    def lowest_unsettled_locked(self) -> int:
        """Sequence number of the oldest log not yet settled (accepted + 1 if none)."""
        low = self.taken + 1 if self.items else self.accepted + 1
        for batch in self.in_flight:
            if batch.count and batch.first < low:
                low = batch.first
        for batch in self.retries:
            if batch.first < low:
                low = batch.first
        return low

    def add_waiter_locked(self) -> Optional[FlushWaiter]:
        """Register a flush of everything accepted so far; None if all is settled
        (:meth:`dropped_unanswered_locked` says whether that went well)."""
        target = self.accepted
        if self.lowest_unsettled_locked() > target:
            return None
        waiter = FlushWaiter(self.resolved, target)
        # base: what settles from now on is watched by the waiter (a drop clears ``ok``);
        # what settled before is known now. Sequence numbers below the lowest unsettled
        # one are all settled.
        waiter.base = self.lowest_unsettled_locked() - 1
        waiter.ok = not self.dropped_unanswered_locked()
        waiter.refused = self.refused
        self.waiters.append(waiter)
        self.flush_target = max(self.flush_target, target)
        return waiter

    def dropped_unanswered_locked(self) -> bool:
        """True when a log was dropped that no flush has answered for yet."""
        return bool(self.dropped_unanswered) or self.refused > self.refused_answered

    def answered_locked(self, target: int, refused: int) -> None:
        """A flush answered for the logs up to ``target``, for the drops among them so
        far (one dropped by now was known when it began, or cleared its ``ok`` since; a
        log it gave up on that is dropped later is the next flush's to answer for), and
        for the first ``refused`` logs refused at the door (settled at once).

        By the drops, not by the oldest log unsettled: a newer log dropped while an older
        one was on its way (two senders, a flush that ran out of time) was answered for
        by every flush until that one settled, and by the first one after."""
        if self.dropped_unanswered <= target:
            self.dropped_unanswered = 0
        if refused > self.refused_answered:
            self.refused_answered = refused

    def settled_locked(self, waiter: FlushWaiter) -> bool:
        """True when every log the flush asked for is settled."""
        return self.lowest_unsettled_locked() > waiter.target

    def wait_locked(self, waiter: FlushWaiter, deadline: float) -> bool:
        """Wait (lock held) until the flush's logs are settled or ``deadline``."""
        while not self.settled_locked(waiter):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.done.wait(left)
        return True
