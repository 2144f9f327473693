"""A batch: logs taken off the queue together, and what its attempts to send it know.

:class:`~readme_metrics.delivery.queue.LogQueue` makes them (``cut_locked``,
``split_locked``) and settles them; the senders, the attempt and the API's health read
and set their fields. Kept (encoded) while they are retried.
"""

from __future__ import annotations

from typing import Any, Optional

from readme_metrics.delivery.encode import Body

__all__ = ["Batch"]


class Batch:
    """Logs taken off the queue together; kept (encoded) while they are retried."""

    __slots__ = ("items", "first", "last", "count", "nbytes", "body", "attempts",
                 "spent", "spent_down", "not_before", "released", "sent_at", "timeout")

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
        #: The bound of its next attempt after one timed out (policy.next_timeout; 0.0:
        #: none did, the Delivery's own bound applies).
        self.timeout = 0.0
