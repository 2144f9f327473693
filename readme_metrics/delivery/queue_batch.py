"""A batch: logs taken off the queue together, and what its attempts to send it know.

:class:`~readme_metrics.delivery.queue.LogQueue` makes them (``cut_locked``,
``split_locked``) and settles them; the senders, the attempt and the API's health read
and set their fields. Kept (encoded) while they are retried.
"""

from __future__ import annotations

from typing import Any, Optional

from readme_metrics.delivery import post_progress
from readme_metrics.delivery.encode import Body

__all__ = ["Batch"]


class Batch:
    """Logs taken off the queue together; kept (encoded) while they are retried."""

    __slots__ = ("items", "first", "last", "count", "nbytes", "body", "attempts",
                 "spent", "spent_down", "not_before", "released", "sent_at", "timeout",
                 "written", "poster", "cut_short", "given_up")

    def __init__(self, items: list[Any], first: int, nbytes: int) -> None:
        self.items: Optional[list[Any]] = items
        self.first = first  # sequence number of items[0] (1-based, per process)
        self.last = first + len(items) - 1
        self.count = len(items)  # logs still in this batch (build errors remove some)
        self.nbytes = nbytes
        self.body: Optional[Body] = None  # encoded (the first attempt), kept for retries
        self.attempts = 0
        #: Failed attempts that count against max_attempts (ApiHealth.exhausted).
        self.spent = 0
        #: Those made while the API was taken for down (ApiHealth.exhausted's max_down).
        self.spent_down = 0
        self.not_before = 0.0
        #: The end of its own backoff, when a probe's success released it before then
        #: (ApiHealth.answered_locked; 0.0: not released): a failure before it is a free
        #: try, which spends none of its budget and keeps that backoff.
        self.released = 0.0
        self.sent_at = 0.0  # when its current POST began (0: being encoded)
        #: How far its current POST's request went (:mod:`.post_progress`): 0 nothing
        #: written (connecting), WRITING, WRITTEN in full (the API may have it).
        self.written = 0
        #: The thread that posts it (``threading.get_ident()``; 0: none yet).
        self.poster = 0
        #: One of its POSTs went in full and no answer came (timed out, cut; inline: a
        #: signal's raise once its request began to go): the API may have its logs,
        #: whatever its later attempts come to (post_progress.may_have).
        self.cut_short = False
        #: Given up by a close while its sender was in its POST: (the reason its logs
        #: were counted under, how many), until that sender is back to say what came
        #: of it (BatchClosing.ended_late); None otherwise.
        self.given_up: Optional[tuple[str, int]] = None
        #: The bound of its next attempt after one timed out (policy.next_timeout; 0.0:
        #: none did, the Delivery's own bound applies).
        self.timeout = 0.0

    def begin_post(self, now: float) -> None:
        """Its POST begins in this thread at ``now`` (the queue's lock held): nothing of
        it written yet, and this thread's POST carries it (:mod:`.post_progress`)."""
        self.sent_at = now
        self.written = 0
        self.poster = post_progress.carrying(self)
