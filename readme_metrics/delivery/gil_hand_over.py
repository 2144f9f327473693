"""A sender's building given up to the request threads a millisecond at a time.

Building and encoding logs is Python and C that never releases the GIL, and CPython
takes the GIL back from such a thread only when another has waited the switch interval
(``sys.getswitchinterval()``, 5 ms) for it. A request thread that wants the GIL while a
sender builds therefore waits up to 5 ms, and one wait behind each busy sender in turn:
in bench.py's in-process loop two requests in 1,000 took 10 ms or more and held 53 us
of the small GET's 70 us mean excess over its p50 (docs/PERFORMANCE.md, cpu32). Under a
server the same wait is what a request coming back from its socket meets.

So a sender that has built for :data:`HAND_OVER_S` since it last let go lets a waiting
thread have the GIL (``time.sleep(0)`` releases it and takes it back; when nobody waits
it costs about a microsecond). Only while the queue has room: past half of
``max_queue_size`` or ``max_queue_bytes`` the senders keep the GIL for their full
slices, as the logs would otherwise be dropped for the request path's sake (SPEC 7
counts a dropped log; a slower request path it does not), and not once a close has begun
(its deadline is the senders'). The app's process settings (switch interval, GC) are
left alone.

The millisecond counts from the batch's start (:meth:`GilHandOver.begin`), and the
first check is before a batch's second log: a sender that has just been woken has built
nothing. Counted from the last check of the batch before, it included the sender's park
and its POST's round trip, and the first log of nearly every batch let the GIL go at once
(cpu35: 0.5 to 0.9 hand-overs a batch of 10 small logs under a gunicorn sync worker,
each a GIL round trip between the sender just woken and the serving thread mid-request).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from readme_metrics.delivery.batcher import Batcher

#: Seconds of building after which a sender lets a waiting thread have the GIL: a fifth
#: of the default switch interval, one hand-over per about 40 small logs.
HAND_OVER_S = 0.001


class GilHandOver:
    """Called by a sender before each log it builds but a batch's first
    (``Sender.encode_upto``'s ``pause``), after :meth:`begin`; the sender threads share
    one (they encode one at a time: ``Attempt.encoding``)."""

    __slots__ = ("_batcher", "_queue", "_since", "handed")

    def __init__(self, batcher: Batcher) -> None:
        self._batcher = batcher
        self._queue = batcher.queue
        self._since = time.monotonic()
        #: How many times the GIL was let go (counted for the tests and benchmarks).
        self.handed = 0

    def begin(self) -> None:
        """A batch's building begins (the sender holds the encoding turn): the millisecond
        counts from now."""
        self._since = time.monotonic()

    def __call__(self) -> None:
        now = time.monotonic()
        if now - self._since < HAND_OVER_S:
            return
        queue = self._queue
        # Read without the queue's lock: a stale count moves one hand-over, no more.
        if (2 * (queue.accepted - queue.resolved) < queue.max_size
                and 2 * queue.queued_bytes < queue.max_bytes
                and not self._batcher.closed):
            time.sleep(0)
            self.handed += 1
            now = time.monotonic()
        self._since = now
