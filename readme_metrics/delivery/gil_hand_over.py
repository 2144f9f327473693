"""A sender's building given up to the request threads a millisecond at a time.

Building and encoding logs is Python and C that never releases the GIL, and CPython
takes the GIL back from such a thread only when another has waited the switch interval
(``sys.getswitchinterval()``, 5 ms) for it. A request thread that wants the GIL while a
sender builds therefore waits up to 5 ms, and one wait behind each busy sender in turn:
in bench.py's in-process loop two requests in 1,000 took 10 ms or more and held 53 us
of the small GET's 70 us mean excess over its p50 (docs/PERFORMANCE.md, cpu32). Under a
server the same wait is what a request coming back from its socket meets.

So a sender that has built for :data:`HAND_OVER_S` since its batch began lets a waiting
thread have the GIL, then again after each :data:`HAND_OVER_AGAIN_S` it builds
(``time.sleep(0)`` releases it and takes it back; when nobody waits it costs about a
microsecond). Only while the queue has room: past half of
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

After a hand-over during which logs were queued (a request thread ran), the sender's
next turn is a quarter millisecond (cpu45): a thread that runs Python without blocking
(bench.py's in-process loop, an app's CPU-bound request) takes the GIL back only by
force, a switch interval later, each time waiting for the sender's whole turn. At a
millisecond a turn the senders ran 4.75 us a request during bench.py's in-process loop
(GIL time the request thread waits for), at a quarter about 3 (docs/PERFORMANCE.md,
cpu45). A backlog built while nothing is queued (a flush's, an idle app's) keeps the
millisecond: the quarter there too cost more CPU a request in every interleaved pair, the
senders handing the GIL to each other for nothing. A batch of buffer_length small logs (a
quarter to half a millisecond) still builds without a hand-over.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from readme_metrics.delivery.batcher import Batcher

#: Seconds of building after which a sender lets a waiting thread have the GIL: a fifth
#: of the default switch interval, one hand-over per about 40 small logs.
HAND_OVER_S = 0.001
#: Seconds of building between two hand-overs while requests come in (logs were queued
#: during the last one): a quarter millisecond a turn, about 10 small logs.
HAND_OVER_AGAIN_S = 0.00025


class GilHandOver:
    """Called by a sender before each log it builds but a batch's first
    (``Sender.encode_upto``'s ``pause``), after :meth:`begin`; the sender threads share
    one (they encode one at a time: ``Attempt.encoding``)."""

    __slots__ = ("_batcher", "_queue", "_since", "_turn", "_seen", "handed")

    def __init__(self, batcher: Batcher) -> None:
        self._batcher = batcher
        self._queue = batcher.queue
        self._since = time.monotonic()
        self._turn = HAND_OVER_S  # the building allowed before the next hand-over
        self._seen = 0  # the queue's ``accepted`` at the last hand-over
        #: How many times the GIL was let go (counted for the tests and benchmarks).
        self.handed = 0

    def begin(self) -> None:
        """A batch's building begins (the sender holds the encoding turn): the millisecond
        counts from now."""
        self._since = time.monotonic()
        self._turn = HAND_OVER_S

    def __call__(self) -> None:
        now = time.monotonic()
        if now - self._since < self._turn:
            return
        queue = self._queue
        # Read without the queue's lock: a stale count moves one hand-over, no more.
        if (2 * (queue.accepted - queue.resolved) < queue.max_size
                and 2 * queue.queued_bytes < queue.max_bytes
                and not self._batcher.closed):
            time.sleep(0)
            self.handed += 1
            # Short turns only while requests come in: logs were queued since the last
            # hand-over. A flush's or an idle app's backlog keeps the millisecond (the
            # senders hand the GIL to each other there, for nothing).
            accepted = queue.accepted
            self._turn = HAND_OVER_AGAIN_S if accepted != self._seen else HAND_OVER_S
            self._seen = accepted
            now = time.monotonic()
        self._since = now
