"""The queue's settling: a batch's logs counted sent or dropped, each once, and the
flushes waiting for them told. A base of :class:`~readme_metrics.delivery.queue.LogQueue`
(its state is the queue's).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from collections import deque

    from readme_metrics.delivery.queue_batch import Batch
    from readme_metrics.delivery.queue_flush import FlushWaiter

__all__ = ["QueueSettling"]


class QueueSettling:
    """:class:`~readme_metrics.delivery.queue.LogQueue`'s settling, a base of it."""

    items: deque[Any]
    taken: int
    resolved: int
    queued_bytes: int
    in_flight: set[Batch]
    retries: list[Batch]
    waiters: list[FlushWaiter]
    done: threading.Condition
    counts: dict[str, int]
    dropped_unanswered: int
    refusing: bool
    max_post_bytes: int
    post_bytes_cap: int

    if TYPE_CHECKING:  # (HeldBytes's; LogQueue's own; QueueDoor's)
        def unheld_locked(self, batch: Batch) -> None: ...

        def refusing_locked(self) -> bool: ...

        def _delivered_under_413_locked(self) -> None: ...

    def settle_locked(self, batch: Batch, reason: Optional[str]) -> None:
        """The batch is done: delivered (``reason`` None) or dropped for ``reason``."""
        resolved = self.resolved
        try:
            self.in_flight.discard(batch)
            self.unheld_locked(batch)
            if batch.count:
                self.resolve_locked(batch.first, batch.last, batch.count, batch.nbytes,
                                    reason)
                self.counts["batches" if reason is None else "failed_batches"] += 1
                if reason is None and self.max_post_bytes < self.post_bytes_cap:
                    self._delivered_under_413_locked()
            elif batch.nbytes:
                self.queued_bytes -= batch.nbytes
        except BaseException:
            # A signal handler's raise (the main thread's inline send, delivery49) out
            # of flight before its logs were counted: counted now. Before, they stayed
            # "queued" for good (a flush waiting for them False), sent as they were.
            if batch.count and self.resolved == resolved:
                self.resolve_locked(batch.first, batch.last, batch.count, batch.nbytes,
                                    reason)
                batch.count = batch.nbytes = 0
            raise
        batch.count = 0
        batch.nbytes = 0
        batch.body = None
        batch.items = None

    def recount_locked(self, count: int, was: str, reason: Optional[str]) -> None:
        """``count`` logs of a batch settled as dropped for ``was`` are counted for
        ``reason`` instead (None: sent), each once (BatchClosing.ended_late)."""
        counts = self.counts
        counts["dropped_" + was] -= count
        if reason is None:
            counts["dropped"] -= count
            counts["sent"] += count
            counts["failed_batches"] -= 1
            counts["batches"] += 1
        else:
            counts["dropped_" + reason] += count

    def drop_one_locked(self, batch: Batch, reason: str) -> None:
        """One log of ``batch`` is dropped alone (it could not be built). Not of a batch
        settled already: a close gave it up as its sender encoded it
        (``Batcher.end_close``), which counted all its logs (review108: the log counted
        twice, ``dropped_shutdown`` then going down by one)."""
        if batch.count <= 0:
            return
        share = batch.nbytes // max(batch.count, 1)
        batch.count -= 1
        batch.nbytes -= share
        self.resolve_locked(batch.first, batch.last, 1, share, reason)

    def resolve_locked(self, first: int, last: int, count: int, nbytes: int,
                       reason: Optional[str]) -> None:
        """Mark ``count`` logs of sequence range [first, last] as sent or dropped.

        The flush waiters are told whatever raise lands in the telling (a signal
        handler's at the walk's jump or in the wake, in the main thread's inline send):
        told again, then it goes on. Before delivery53 a flush not reached yet answered
        True for a dropped log, and the flushes waited to their deadlines unwoken."""
        # The counts from what they were, ``resolved`` first (the mark settle_locked
        # reads), whole wherever a raise lands (as put_locked). Before delivery53 one at
        # count_drop_locked's entry left the drop uncounted, ``resolved`` counted.
        counts = self.counts
        resolved, unanswered = self.resolved, self.dropped_unanswered
        key = "sent" if reason is None else "dropped_" + reason
        if reason is not None and last > unanswered:
            unanswered = last
        stored = (resolved + count, self.queued_bytes - nbytes, key, counts[key] + count,
                  counts["dropped"] + (reason is not None) * count, unanswered)
        try:
            self._store_resolved_locked(stored, first, last, reason)
        except BaseException:
            if self.resolved != resolved:  # begun: the rest with it (a second goes on)
                self._store_resolved_locked(stored, first, last, reason)
            raise

    def _store_resolved_locked(self, stored: tuple[int, int, str, int, int, int],
                               first: int, last: int, reason: Optional[str]) -> None:
        """Store what :meth:`resolve_locked` computed, ``resolved`` first, and tell the
        flush waiters: values from before, so storing them again (a raise landed in the
        first store) comes to the same."""
        self.resolved, self.queued_bytes, key, total, dropped, unanswered = stored
        # Room again, unless one more log like the last one still would not fit
        # (delivery87: before, False whatever the bytes held).
        self.refusing = self.refusing_locked()
        counts = self.counts
        counts[key] = total
        counts["dropped"] = dropped
        self.dropped_unanswered = unanswered
        if self.waiters:
            self._tell_waiters_locked(first, last, reason)

    def _tell_waiters_locked(self, first: int, last: int, reason: Optional[str]) -> None:
        """A drop clears ``ok`` of the flushes it concerns; each is woken (again too)."""
        if reason is not None:
            for waiter in self.waiters:
                if first <= waiter.target and last > waiter.base:
                    waiter.ok = False
        self.done.notify_all()

    def drop_waiting_locked(self, reason: str) -> int:
        """Drop everything waiting or waiting for a retry; returns how many logs. A
        batch waiting for a retry after a POST of it went in full unanswered
        (``cut_short``) is ``unknown``: the API may have it (delivery85: a 401's pause
        counted it ``dropped_auth``; a close takes those out first, for its line)."""
        dropped = 0
        items = self.items
        if items:
            first = self.taken + 1
            count = len(items)
            nbytes = sum(item.nbytes for item in items)
            items.clear()
            self.taken += count
            self.resolve_locked(first, self.taken, count, nbytes, reason)
            dropped += count
        while self.retries:
            batch = self.retries.pop()
            dropped += batch.count
            self.settle_locked(batch, "unknown" if batch.cut_short else reason)
        return dropped
