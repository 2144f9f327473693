"""The queue's door: a log accepted (counted against the bounds) or refused.

Called by :meth:`Batcher.put <readme_metrics.delivery.batcher_put.BatchPutting.put>`
with the queue's lock held, in the request thread: a few attribute updates, no I/O, and
each step whole or not at all wherever a signal handler's raise lands in it (CPython
3.9 runs one after most instructions): its mark (``accepted``, ``refused``) set with it,
which the caller reads to know whether it was done.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections import deque

    from readme_metrics.delivery.last_parked import LastParked

__all__ = ["HEADER_ROOM", "QueueDoor"]

#: The most bytes a log put while the queue says it refuses is counted above its own
#: size (:meth:`QueueDoor.put_locked`): about what x-documentation-url adds to a log
#: (its name and a URL), which that call's log lacks.
HEADER_ROOM = 512


class QueueDoor:
    """:class:`~readme_metrics.delivery.queue.LogQueue`'s door, a base of it."""

    items: deque[Any]
    first_at: float
    accepted: int
    resolved: int
    refused: int
    queued_bytes: int
    last_nbytes: int
    max_size: int
    max_bytes: int
    batch_size: int
    idle: int
    wake: LastParked
    counts: dict[str, int]

    refusing: bool

    def put_locked(self, item: Any, nbytes: int) -> bool:
        """Accept ``item`` if the bounds allow; False if full. Caller holds the lock.

        ``max_size`` counts every log accepted and not settled, those in POSTs in flight
        included, so ``stats()["queued"]`` never exceeds it (SPEC 7). Against a slow API
        the traffic times its answer time must fit in it (2,000 logs/s to an API
        answering in 8 s: about 16,000 to 20,000, docs/DELIVERY.md "Threads").
        A log larger than ``max_bytes`` is taken when nothing else is held: else none
        would ever be sent (``README_MAX_QUEUE_BYTES=5`` dropped every log, blackbox7).
        """
        need = nbytes
        if self.refusing and self.last_nbytes > nbytes:
            # Its request was told the queue refuses (no x-documentation-url), so its
            # log lacks the header's bytes: counted as if it had them (up to
            # HEADER_ROOM), else it fit where one with the header would not, and a
            # call without the header was delivered (delivery87).
            need = min(self.last_nbytes, nbytes + HEADER_ROOM)
        if (self.accepted - self.resolved >= self.max_size
                or (self.queued_bytes + need > self.max_bytes and self.queued_bytes)):
            # Refusing for the next call only if one like the last log accepted would
            # be refused too: one huge log refused says nothing of the small ones
            # (before delivery87 the next small call lost its header, its log taken).
            self.refusing = (self.accepted - self.resolved >= self.max_size
                             or self.queued_bytes + min(need, self.last_nbytes)
                             > self.max_bytes)
            return False
        items = self.items
        if not items:
            self.first_at = time.monotonic()  # (harmless if a raise cuts what follows)
        accepted, queued = self.accepted, self.queued_bytes
        try:
            # The append, then the counts from what they were: a signal handler's raise
            # (run at a call or a loop's jump, on CPython 3.9 after most instructions)
            # landing anywhere in it leaves all of it or none (Batcher.put reads
            # ``accepted`` to know which). Before delivery51 one between the count and
            # the append left ``accepted`` a log high, the log lost (review134).
            items.append(item)
            self.accepted = accepted + 1
            self.queued_bytes = queued + nbytes
            self.last_nbytes = nbytes
        except BaseException:
            if items and items[-1] is item:  # appended: the counts with it
                self.accepted = accepted + 1
                self.queued_bytes = queued + nbytes
                self.last_nbytes = nbytes
            raise
        # The next log would find the queue at its bound of logs (blackbox24) or, one
        # like this one, past its bytes (delivery87: before, only the logs counted,
        # and the call the bytes refused next still got x-documentation-url; review155
        # found it too).
        # (refusing_locked() written out: a call fewer a request, cpu27.)
        self.refusing = (self.accepted - self.resolved >= self.max_size
                         or self.queued_bytes + nbytes > self.max_bytes)
        # One wake a batch's worth, not one a log: the sender woken counts itself out of
        # ``idle`` only once it runs, and one that finds the next POST not due yet
        # (pacing.post_wait) parks again with its own timeout. Woken at each log past
        # buffer_length, under gunicorn a sender was woken for nothing about once a
        # request (cpu19). A sender back from its POST looks at the queue itself. (Full:
        # ``refusing`` just set, full_locked()'s test after a put, not made again.)
        if self.idle and (not len(items) % self.batch_size or self.refusing):
            self.wake.notify()
        return True

    def refusing_locked(self) -> bool:
        """Whether one more log the size of the last one accepted would be refused now
        (the queue's ``refusing``, read by the request path for x-documentation-url)."""
        queued = self.queued_bytes
        return (self.accepted - self.resolved >= self.max_size
                or (queued > 0 and queued + self.last_nbytes > self.max_bytes))

    def full_locked(self) -> bool:
        """True when the queue would refuse one more log like the last one accepted.

        Logs waiting in a full queue are due (:meth:`due_locked`) however few: bounds
        that hold fewer than ``buffer_length`` logs would otherwise never make a batch
        (``flush_interval=0``, or inline), and every later log would be dropped
        against a Metrics API that answers at once (blackbox5)."""
        return (self.accepted - self.resolved >= self.max_size
                or self.queued_bytes + self.last_nbytes > self.max_bytes)

    def refuse_locked(self, reason: str) -> int:
        """Count a log dropped before it was accepted; returns that reason's total."""
        # Whole or not at all, wherever a raise lands (see put_locked): ``refused`` is
        # the step's mark (Batcher.put reads it), the counts set from what they were.
        # Before delivery51 one landing after the count of the drop, before ``refused``,
        # had Batcher.put count it again (review134).
        counts = self.counts
        key = "dropped_" + reason
        dropped, total, refused = counts["dropped"] + 1, counts[key] + 1, self.refused
        try:
            self.refused = refused + 1
            counts["dropped"] = dropped
            counts[key] = total
        except BaseException:
            if self.refused != refused:
                counts["dropped"] = dropped
                counts[key] = total
            raise
        return total
