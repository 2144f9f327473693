"""The bounded queue of logs waiting for delivery: accounting, stats, flush waiters.

One lock guards everything here. The request thread calls :meth:`LogQueue.put` (a few
attribute updates, no I/O); senders take batches with :meth:`LogQueue.take` and report
each one back exactly once (:meth:`settle`, :meth:`retry_later`, :meth:`pause`).

Every log accepted gets a sequence number. It is *queued* (counted against
``max_queue_size`` and ``max_queue_bytes``) from the moment it is accepted until it is
settled, whether it is waiting, in a POST in flight or waiting for a retry, so memory is
bounded by the options whatever the Metrics API does. Batches may settle out of order
(several POSTs in flight), so a flush waits for the lowest unsettled sequence number to
pass its target, not for a count.

``captured == sent + dropped + queued + skipped`` holds in every :meth:`stats` snapshot.

What a flush waits for is a base of the queue:
:class:`~readme_metrics.delivery.queue_flush.FlushWaiting`; so is its door, a log
accepted or refused: :class:`~readme_metrics.delivery.queue_door.QueueDoor`; and its
settling, logs counted sent or dropped:
:class:`~readme_metrics.delivery.queue_settle.QueueSettling`. A batch taken is a
:class:`~readme_metrics.delivery.queue_batch.Batch` (importable from here).
"""

from __future__ import annotations

import threading
from collections import deque
from itertools import islice, repeat
from operator import attrgetter
from typing import Any, Optional

from readme_metrics.delivery.encode import Body
from readme_metrics.delivery.held import HeldBytes
from readme_metrics.delivery.last_parked import LastParked
from readme_metrics.delivery.limits import MAX_POST_BYTES, MAX_POST_LOGS, RAISE_POST_BYTES_AFTER
from readme_metrics.delivery.outcome import DROP_REASONS
from readme_metrics.delivery.policy import post_size
from readme_metrics.delivery.queue_batch import Batch
from readme_metrics.delivery.queue_door import QueueDoor
from readme_metrics.delivery.queue_flush import FlushWaiter as _FlushWaiter
from readme_metrics.delivery.queue_flush import FlushWaiting
from readme_metrics.delivery.queue_settle import QueueSettling

_NBYTES = attrgetter("nbytes")
_POP_LEFT = deque.popleft

#: The counters of :meth:`LogQueue.stats` besides ``queued`` and ``queued_bytes``.
COUNTERS = ("captured", "skipped", "sent", "dropped", "failed_batches", "retries", "batches",
            *("dropped_" + reason for reason in DROP_REASONS))


def zero_stats() -> dict[str, int]:
    """What :meth:`LogQueue.stats` gives before any log: every counter at 0 (also the
    stats of a middleware whose metrics are turned off)."""
    return {**dict.fromkeys(COUNTERS, 0), "queued": 0, "queued_bytes": 0}


class LogQueue(QueueDoor, FlushWaiting, HeldBytes, QueueSettling):
    """Bounded accounting of the logs of one Delivery in one process."""

    def __init__(self, *, batch_size: int, interval: float, max_size: int, max_bytes: int,
                 max_post_logs: int = MAX_POST_LOGS,
                 max_post_bytes: int = MAX_POST_BYTES) -> None:
        self.batch_size = batch_size
        self.interval = interval
        self.max_size = max_size
        self.max_bytes = max_bytes
        self.max_post_logs = max_post_logs
        self.max_post_bytes = max_post_bytes
        #: The cap ``max_post_bytes`` goes back to after a 413 lowered it
        #: (:meth:`split_locked`), doubling every ``RAISE_POST_BYTES_AFTER`` POSTs
        #: delivered meanwhile (counted in ``delivered_since_413``).
        self.post_bytes_cap = max_post_bytes
        self.delivered_since_413 = 0
        #: An RLock for its owner: ``Batcher.put``'s handler releases it only if its
        #: thread still holds it after a raise (delivery56).
        self.lock = threading.RLock()
        #: Senders wait here; a batch wakes the one parked last (warm: .last_parked).
        self.wake = LastParked(self.lock)
        #: flush() callers wait here (a LastParked for its wake, whole wherever a raise
        #: lands in it: resolve_locked).
        self.done = LastParked(self.lock)
        self.items: deque[Any] = deque()
        self.first_at = 0.0  # arrival of the oldest waiting log (flush_interval timer)
        #: The last log a cut past one POST's caps left waiting: due with the batch it
        #: was cut from (:meth:`cut_locked`).
        self.cut_rest = 0
        self.accepted = 0  # sequence number of the last accepted log
        self.taken = 0  # logs taken off ``items`` so far
        self.resolved = 0  # logs settled (sent or dropped) after being accepted
        #: The bytes held: logs waiting by their captured bytes, batches once encoded by
        #: their JSON (:class:`~readme_metrics.delivery.held.HeldBytes`).
        self.queued_bytes = 0
        self.encoded_bytes = 0
        #: The size of the last log accepted: when one more like it would not fit in
        #: ``max_bytes``, the queue is full (:meth:`full_locked`).
        self.last_nbytes = 0
        self.in_flight: set[Batch] = set()
        self.retries: list[Batch] = []  # oldest first
        self.flush_target = 0
        self.waiters: list[_FlushWaiter] = []
        #: The highest sequence number of a range of logs dropped that no flush has
        #: answered for yet (0: none; a build error's is its batch's last: one log of the
        #: batch): a flush answers for every log since the last answer, not only those
        #: waiting when it is called (inline, a full batch is sent by the request that
        #: fills it), and each drop once.
        self.dropped_unanswered = 0
        #: Logs refused at the door (queue full, auth pause, closed) get no sequence
        #: number: how many so far, and how many of them a flush has answered for.
        self.refused = 0
        self.refused_answered = 0
        #: A log put now would be refused for the bounds (or the last one was, until a
        #: log settles): read without the lock by the request path, which then adds no
        #: x-documentation-url (SPEC 5: a log that is dropped gets no header).
        self.refusing = False
        self.idle = 0  # senders inside ``wake.wait`` (each counts itself in and out)
        self.counts: dict[str, int] = dict.fromkeys(COUNTERS, 0)

    # -- request thread -------------------------------------------------------------

    def count_drop_locked(self, reason: str, count: int = 1) -> int:
        """Count ``count`` logs dropped for ``reason``; returns that reason's total."""
        counts = self.counts
        counts["dropped"] += count
        key = "dropped_" + reason
        counts[key] += count
        return counts[key]

    def skip(self) -> None:
        """Count an exchange that was seen but, by configuration, not logged."""
        with self.lock:
            self.counts["captured"] += 1
            self.counts["skipped"] += 1

    def stats(self) -> dict[str, int]:
        """A consistent snapshot of the counters, with ``queued`` and ``queued_bytes``."""
        with self.lock:
            snapshot = dict(self.counts)
            snapshot["queued"] = self.accepted - self.resolved
            snapshot["queued_bytes"] = self.queued_bytes
        return snapshot

    # -- taking batches ---------------------------------------------------------------

    def due_locked(self, now: float, force: bool) -> tuple[bool, Optional[float]]:
        """Whether the waiting logs should go now; else seconds until they are due."""
        waiting = len(self.items)
        if not waiting:
            return False, None
        if (force or waiting >= self.batch_size or self.taken < self.flush_target
                or self.taken < self.cut_rest or self.full_locked()):
            return True, None
        if self.interval > 0:
            left = self.first_at + self.interval - now
            return (True, None) if left <= 0 else (False, left)
        return False, None

    def timer_left_locked(self, now: float) -> float:
        """Seconds until the oldest waiting log has waited ``interval`` (<= 0: it has);
        ``interval`` when nothing waits. The timer alone: not buffer_length or a flush.
        """
        return self.first_at + self.interval - now if self.items else self.interval

    def fills_post_locked(self) -> bool:
        """True if the logs waiting fill a POST at the caps (``max_post_logs`` logs or
        ``max_post_bytes`` captured bytes)."""
        items = self.items
        if len(items) >= self.max_post_logs:
            return True
        return sum(map(_NBYTES, items)) >= self.max_post_bytes

    def cut_locked(self) -> Batch:
        """Take the next POST's worth of waiting logs (see policy.post_size)."""
        items = self.items
        # (No POST takes more than max_post_logs: a backlog's other sizes are not read.)
        sizes = list(map(_NBYTES, islice(items, self.max_post_logs)))
        nbytes = sum(sizes)
        first = self.taken + 1
        taken: list[Any] = []
        batch: Optional[Batch] = None
        try:
            if len(items) <= self.max_post_logs and nbytes <= self.max_post_bytes:
                # Everything waiting fits (the usual batch): no Python step per log.
                taken = list(items)
                items.clear()
            else:
                count = post_size(sizes, self.max_post_logs, self.max_post_bytes)
                taken = list(islice(items, count))
                deque(map(_POP_LEFT, repeat(items, count)), 0)  # (one C call)
                nbytes = sum(sizes[:count])
            # What is left (only after a capped cut) arrived after first_at: keeping
            # first_at sends it early rather than late. It was due with the batch cut
            # (all of it waiting at once): due still, however few (inline mode, which
            # has no timer, left it for the next request, delivery52).
            batch = Batch(taken, first, nbytes)
            self.taken = first - 1 + len(taken)
            self.cut_rest = max(self.cut_rest, self.taken + len(items))
            self.in_flight.add(batch)
        except BaseException:
            # A signal handler's raise (the main thread's inline send, delivery49): the
            # logs taken out go back, unless their batch is in flight (its sender puts
            # it back). Before, they were lost unsaid (queued counted them still).
            if batch is None or batch not in self.in_flight:
                self.taken = first - 1
                if taken and (not items or items[0] is not taken[0]):  # (all or none)
                    items.extendleft(reversed(taken))
            raise
        return batch

    def take_retry_locked(self, now: float) -> tuple[Optional[Batch], Optional[float]]:
        """The oldest batch waiting for a retry whose time has come, else the wait until
        the first one's comes (None: none waits). Not only the oldest: each failed batch
        waits its own backoff, and a younger one's may end first."""
        retries = self.retries
        soonest: Optional[float] = None
        encode = None
        for index, batch in enumerate(retries):
            if batch.body is None:  # logs split off a batch (held.py), not encoded yet
                if encode is None:
                    encode = self.may_encode_locked()
                if not encode:
                    continue
            if batch.not_before <= now:
                del retries[index]
                batch.sent_at = 0.0  # (its last POST's until this one begins)
                self.in_flight.add(batch)
                return batch, None
            if soonest is None or batch.not_before < soonest:
                soonest = batch.not_before
        return None, None if soonest is None else soonest - now

    def requeue_locked(self, batch: Batch) -> None:
        """A batch goes back to wait for its next attempt, in sequence order."""
        self.in_flight.discard(batch)
        retries = self.retries
        index = len(retries)
        while index and retries[index - 1].first > batch.first:
            index -= 1
        retries.insert(index, batch)

    def split_locked(self, batch: Batch, parts: list[tuple[Body, int]]) -> None:
        """``batch`` goes again as ``parts`` (its logs in order: each an encoded array and
        how many logs it holds), first in line; the Metrics API found it too large (413).

        From now on no POST takes more bytes than the larger part (one log above
        that still goes alone): a backlog is not cut into POSTs that would be refused
        first. Each ``RAISE_POST_BYTES_AFTER`` POSTs delivered then double it again, up
        to its cap (:meth:`settle_locked`). Bytes only, not logs: one huge log among
        small ones, split down to itself, leaves POSTs of small logs as large as before."""
        self.in_flight.discard(batch)
        self.unheld_locked(batch)
        encoded = sum(len(body) for body, _ in parts) or 1
        shares = [batch.nbytes * len(body) // encoded for body, _ in parts]
        shares[-1] = batch.nbytes - sum(shares[:-1])
        self.max_post_bytes = max(1, min(self.max_post_bytes, max(shares)))
        self.delivered_since_413 = 0
        first = batch.first
        for index, ((body, count), share) in enumerate(zip(parts, shares)):
            part = Batch([], first, share)
            part.items, part.body, part.count = None, body, count
            part.last = batch.last if index == len(parts) - 1 else first + count - 1
            self.encoded_bytes += share
            first = part.last + 1
            self.requeue_locked(part)
        batch.count = batch.nbytes = 0
        batch.body = batch.items = None

    def _delivered_under_413_locked(self) -> None:
        """A POST was delivered while a 413 keeps them smaller than the cap: every
        ``RAISE_POST_BYTES_AFTER`` of them double the bytes a POST may carry again."""
        self.delivered_since_413 += 1
        if self.delivered_since_413 >= RAISE_POST_BYTES_AFTER:
            self.delivered_since_413 = 0
            self.max_post_bytes = min(self.post_bytes_cap, 2 * self.max_post_bytes)
